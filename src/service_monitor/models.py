"""The shared vocabulary of the service (monitors, checks, windows) and the rules for valid input; no I/O."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from yarl import URL

from .check_spec import DEFAULT_CHECK, CheckSpec

MAX_URL_LENGTH = 2048  # characters, as the API documents
MAX_NAME_LENGTH = 100  # characters
MAX_DETAIL_LENGTH = 500  # characters of a check's failure detail the store keeps


# The region of a process that sets none (config.py REGION), and of every check stored before regions.
DEFAULT_REGION = "local"


class Status(enum.StrEnum):
    """Outcome of one probe: success means every assertion of the monitor's check held (with none,
    the final response had a status below 400). A degraded check is a success (Check.degraded)."""

    SUCCESS = "success"
    FAIL = "fail"


class Cause(enum.StrEnum):
    """Why a probe failed; every failed check carries exactly one."""

    TIMEOUT = "timeout"
    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    HTTP_STATUS = "http_status"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    INVALID_RESPONSE = "invalid_response"
    BLOCKED = "blocked"  # refused by the SSRF guard (an internal address): no request was sent
    ASSERTION = "assertion"  # answered, but one of the monitor's assertions did not hold


class Span(enum.StrEnum):
    """The sliding windows the statistics are computed over, ending now."""

    HOUR = "hour"
    WEEK = "week"
    MONTH = "month"

    @property
    def seconds(self) -> int:
        return _SPAN_SECONDS[self]


_SPAN_SECONDS = {Span.HOUR: 3600, Span.WEEK: 7 * 86400, Span.MONTH: 30 * 86400}


class MonitorState(enum.IntEnum):
    """Lifecycle of a monitor, stored as a small integer.

    PENDING: accepted by the API and queued; the next cycle makes it ACTIVE.
    DELETED: no longer probed; its checks stay until retention removes them.
    """

    PENDING = 0
    ACTIVE = 1
    DELETED = 2


@dataclass(frozen=True, slots=True)
class Monitor:
    id: int
    name: str
    url: str
    created_at: float  # seconds since the epoch, UTC
    state: MonitorState
    check: CheckSpec = DEFAULT_CHECK  # the request sent and the assertions its answer must pass
    owner: str | None = None  # the label `service-monitor apply` syncs by; None: not file-managed
    interval: int | None = None  # seconds between two checks; None: CYCLE_INTERVAL
    regions: tuple[str, ...] | None = None  # where it is probed from (sorted); None: all REGIONS


@dataclass(frozen=True, slots=True)
class Target:
    """What the prober needs of a monitor: nothing more, so a cycle over 100,000 stays small."""

    monitor_id: int
    url: str
    check: CheckSpec = DEFAULT_CHECK  # monitors with the same spec share one object


@dataclass(frozen=True, slots=True)
class Check:
    """The result of probing one monitor once; failures are results too, with their cause."""

    monitor_id: int
    checked_at: float  # seconds since the epoch, UTC, when the probe started
    status: Status
    http_status: int | None
    latency_ms: int
    cause: Cause | None = None
    # Why it failed, in one sentence naming the condition and what was seen ("status 503 is not
    # one of 200-299", "connect: connection refused"); every failure has one, a success none.
    detail: str | None = None
    degraded: bool = False  # a success slower than the monitor's degraded_after_ms
    # When the server's TLS certificate expires, seconds since the epoch, UTC: recorded on every
    # https answer whether or not an assertion asks; None for http or when no handshake was made.
    tls_expires_at: float | None = None
    region: str = DEFAULT_REGION  # where it was probed from (the worker's REGION)
    # The due time the planner scheduled it for, ms since the epoch: with the monitor and the
    # region, the key that makes a redelivered shard store nothing twice. None: the whole-list
    # cycle, which probes every monitor whenever it runs.
    due_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class TopEntry:
    name: str
    url: str
    count: int


@dataclass(frozen=True, slots=True)
class Counts:
    success: int
    fail: int
    degraded: int = 0  # of the successes, those flagged degraded (only a monitor's counts fill it)


@dataclass(frozen=True, slots=True)
class RegionChecks:
    """A monitor's checks from one region over a stretch of time: the newest, and their counts."""

    region: str
    last: Check
    counts: Counts


@dataclass(frozen=True, slots=True)
class Bucket:
    """One monitor's checks in one stretch of time (an hour, a day): what a status strip or a
    latency chart draws."""

    success: int = 0
    fail: int = 0
    success_latency_ms: int = 0  # summed over the successes: the mean is this / success

    @property
    def mean_latency_ms(self) -> float | None:
        return self.success_latency_ms / self.success if self.success else None

    def __add__(self, other: Bucket) -> Bucket:
        return Bucket(
            self.success + other.success,
            self.fail + other.fail,
            self.success_latency_ms + other.success_latency_ms,
        )


class CycleOutcome(enum.StrEnum):
    """How one cycle ended, as recorded by whichever compute process ran (or skipped) it."""

    DONE = "done"  # every URL probed and stored within the interval
    OVERRAN = "overran"  # finished, but took longer than the interval
    SKIPPED = "skipped"  # not run: another cycle was still running
    FAILED = "failed"  # stopped by an error (database/cache unreachable)
    STOPPED = "stopped"  # asked to stop (SIGTERM) before every URL was probed


@dataclass(frozen=True, slots=True)
class CycleRecord:
    """One cycle as the store keeps it, so metrics and /status see every process's cycles."""

    started_at: float  # seconds since the epoch, UTC
    finished_at: float  # seconds since the epoch, UTC; equal to started_at for a skip
    outcome: CycleOutcome
    probed: int = 0  # URLs probed
    success: int = 0  # checks with status success
    fail: int = 0  # checks with status fail
    stored: int = 0  # checks written to the store


@dataclass(frozen=True, slots=True)
class CycleTotals:
    by_outcome: dict[CycleOutcome, int]  # every outcome present, 0 when none
    last: CycleRecord | None  # the newest record (latest finished_at) of any outcome
    last_success_at: float | None  # finished_at of the newest DONE or OVERRAN record


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What one retention pass removed, and how long its longest single batch held the store."""

    checks: int = 0  # raw checks older than the longest window (and its margin)
    rollups: int = 0  # rollup rows past their retention
    cycles: int = 0  # cycle records past the rollup retention
    incidents: int = 0  # resolved incidents past the rollup retention
    notifications: int = 0  # finished notifications (sent, failed, merged, dropped) past it too
    batches: int = 0  # delete statements run, each in its own short transaction
    longest_batch_s: float = 0.0  # seconds the slowest batch took (its locks last that long)


def validate_name(name: str) -> str:
    """Return `name` unchanged if it is 1..100 printable characters, else raise ValueError saying why."""
    if not name or not name.strip():
        raise ValueError("must not be empty or only spaces")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"must be at most {MAX_NAME_LENGTH} characters, got {len(name)}")
    if not name.isprintable():
        raise ValueError("must contain only printable characters (no control characters)")
    return name


def validate_url(url: str) -> str:
    """Return `url` unchanged if it is an absolute http(s) URL we can probe, else raise ValueError."""
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_URL_LENGTH} characters, got {len(url)}")
    if not url.isprintable() or any(c.isspace() for c in url):
        raise ValueError("must not contain spaces or control characters")
    try:
        parsed = URL(url)
        host = parsed.host
        parsed.port  # noqa: B018  (raises on a port out of range)
    except ValueError as exc:
        raise ValueError(f"is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        shown = parsed.scheme or "none"
        raise ValueError(f"must be an absolute http:// or https:// URL, got scheme {shown!r}")
    if not host:
        raise ValueError("must include a host name, e.g. http://www.example.com")
    return url


def url_key(url: str) -> bytes:
    """The identity of a URL for duplicate detection: 32 bytes of SHA-256 over its normal form.

    `http://WWW.A.com:80` and `http://www.a.com/` are the same monitor. The URL itself is stored as
    given; a hash keeps the unique index small (a 2048-character column cannot be indexed in MySQL).
    """
    parsed = URL(url)
    if parsed.is_default_port():
        parsed = parsed.with_port(None)
    # yarl lowercases the scheme and host; the fragment is left out: it is never sent to the server
    query = f"?{parsed.raw_query_string}" if parsed.raw_query_string else ""
    normal = f"{parsed.scheme}://{parsed.raw_authority}{parsed.raw_path or '/'}{query}"
    return hashlib.sha256(normal.encode()).digest()
