"""A small typed client of the service's HTTP API, for the `stats`, `urls`, `channels`, `incidents`
and `maintenance` commands.

It speaks only HTTP, so it works against any deployment the API is reachable at. Every answer the
API gives as an error becomes an `ApiError` (status code, the API's `detail`, and the field errors
of a 422); a transport failure (refused, timed out, TLS) becomes an `ApiUnreachable` naming the
URL. The key, when given, is sent as `Authorization: Bearer <key>` and never appears in a message.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from .check_spec import DEFAULT_CHECK, Assertion, CheckSpec, RequestSpec

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0  # seconds for one answer
CONNECT_TIMEOUT = 5.0  # seconds to open a connection


@dataclass(frozen=True)
class FieldError:
    """One entry of a 422 answer's `errors`: where (e.g. ["body", "url"]), what, and its type."""

    loc: tuple[str | int, ...]
    msg: str
    type: str


class ApiError(Exception):
    """The API answered with an error status. `detail` is the API's own sentence."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: tuple[FieldError, ...] = (),
        existing_id: int | None = None,
    ) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.errors = errors
        self.existing_id = existing_id  # 409 on add: the monitor (or channel) that has it already
        self.monitors_naming: int | None = None  # 409 on deleting a channel: monitors naming it

    @property
    def key_refused(self) -> bool:
        """401 (a key is needed) or 403 (the key sent is not valid)."""
        return self.status in (401, 403)


class ApiUnreachable(Exception):
    """No answer from the API: connection refused, DNS, TLS, or a timeout."""

    def __init__(self, base_url: str, reason: str) -> None:
        super().__init__(f"cannot reach the API at {base_url}: {reason}")
        self.base_url = base_url
        self.reason = reason


@dataclass(frozen=True)
class Summary:
    """Successful and failed checks in the past 30 days."""

    success: int
    fail: int

    @property
    def ratio(self) -> float | None:
        """The share of successful checks (0 to 1); None when there were no checks."""
        total = self.success + self.fail
        return self.success / total if total else None


@dataclass(frozen=True)
class TopItem:
    name: str
    url: str
    count: int


@dataclass(frozen=True)
class MonitorHealth:
    """A monitor's health: "up", "down", or "unknown" until its checks reach a threshold."""

    state: str = "unknown"
    since: str | None = None  # ISO 8601, UTC; None while never checked
    failures: int = 0  # the current run of failed checks
    successes: int = 0
    incident_id: int | None = None  # the open incident while down


@dataclass(frozen=True)
class Monitor:
    id: int
    name: str
    url: str
    created_at: str  # ISO 8601, UTC, as the API gives it
    state: str  # "pending" or "active"
    # The check as the API shows it: secret header values are check_spec.REDACTED.
    check: CheckSpec = DEFAULT_CHECK
    owner: str | None = None
    health: MonitorHealth = field(default_factory=MonitorHealth)
    failure_threshold: int | None = None  # the monitor's own; None: the default
    success_threshold: int | None = None
    thresholds: tuple[int, int] | None = None  # (failure, success) in effect
    channels: tuple[str, ...] = ()  # names of the channels it names; (): the defaults
    interval: int | None = None  # seconds between two checks in effect (None: not told)
    interval_is_default: bool = True  # it follows the server's CYCLE_INTERVAL
    regions: tuple[str, ...] = ()  # the regions it is probed from, in effect
    regions_are_default: bool = True  # it names none: probed from every region

    @property
    def own_interval(self) -> int | None:
        """Its own interval; None: the default."""
        return None if self.interval_is_default else self.interval

    @property
    def own_regions(self) -> tuple[str, ...] | None:
        """Its own regions; None: every region."""
        return None if self.regions_are_default else self.regions


@dataclass(frozen=True)
class CheckResult:
    """One check of a monitor, as GET /urls/{id} and the history give it."""

    checked_at: str  # ISO 8601, UTC
    status: str  # "success" or "fail"
    http_status: int | None
    latency_ms: int
    cause: str | None
    detail: str | None  # why it failed, one sentence; None for a success
    degraded: bool
    tls_expires_at: str | None  # ISO 8601, UTC; https answers only
    region: str = "local"  # where it was made from


@dataclass(frozen=True)
class WindowCount:
    success: int
    fail: int
    degraded: int  # of the successes


@dataclass(frozen=True)
class MonitorDetail:
    """GET /urls/{id}: the monitor, its newest checks first, its counts by window ("hour",
    "week", "month") and the days left on its TLS certificate."""

    monitor: Monitor
    checks: list[CheckResult]
    counts: dict[str, WindowCount]
    tls_days_left: int | None
    regions_status: list[RegionStatus] = field(default_factory=list)


@dataclass(frozen=True)
class RegionStatus:
    """GET /urls/{id}'s `regions_status`: a region's newest check (of the past 2 days) and its
    counts of the past day; `scheduled` is false for a region it is no longer probed from."""

    region: str
    scheduled: bool
    last_check: CheckResult | None
    day: WindowCount


@dataclass(frozen=True)
class Regions:
    """GET /regions: the regions a monitor may name, and the intervals it may have."""

    regions: tuple[str, ...]
    default_interval: int
    min_interval: int
    max_interval: int


@dataclass(frozen=True)
class Change:
    """PATCH /urls/{id}: the monitor as it is (or, for a dry run, would be), and the fields whose
    value differs from the stored one; empty: nothing changed."""

    monitor: Monitor
    changed: list[str]


class Unset(enum.Enum):
    """A PATCH field left out (kept as it is), where None means "clear it"."""

    UNSET = "unset"


UNSET = Unset.UNSET


@dataclass(frozen=True)
class MonitorPage:
    items: list[Monitor] = field(default_factory=list)
    total: int = 0
    limit: int = 0
    offset: int = 0


@dataclass(frozen=True)
class Channel:
    """A channel as the API shows it: never its target, only `target_hint`."""

    id: int
    name: str
    type: str  # "apprise" or "webhook"
    target_hint: str
    is_default: bool
    send_resolved: bool
    resend_every: int | None  # seconds between reminders; None: none
    created_at: str
    monitors: int  # how many monitors name it


@dataclass(frozen=True)
class ChannelChange:
    """POST /channels and PATCH /channels/{id}: the channel, the webhook secret when one was just
    made (shown this once), and for a PATCH the fields that changed."""

    channel: Channel
    secret: str | None = None
    changed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ChannelTest:
    ok: bool
    detail: str


@dataclass(frozen=True)
class Incident:
    id: int
    monitor_id: int
    monitor_name: str | None  # None once the monitor is deleted
    url: str | None
    state: str  # "open" or "resolved"
    started_at: str
    opened_at: str
    resolved_at: str | None
    duration_s: int
    cause: str | None
    detail: str | None
    resolution: str | None


@dataclass(frozen=True)
class IncidentNotification:
    id: int
    kind: str  # down, resolved, reminder, storm, digest
    channel_id: int
    channel: str | None  # None once the channel is deleted
    channel_type: str | None
    state: str  # pending, held, sent, failed, merged, dropped
    attempts: int
    last_error: str | None
    created_at: str
    next_attempt_at: str
    sent_at: str | None


@dataclass(frozen=True)
class IncidentDetail:
    incident: Incident
    notifications: list[IncidentNotification]


@dataclass(frozen=True)
class IncidentPage:
    items: list[Incident] = field(default_factory=list)
    total: int = 0
    limit: int = 0
    offset: int = 0


@dataclass(frozen=True)
class MaintenanceWindow:
    id: int
    monitor_id: int | None  # None: every monitor
    starts_at: str | None  # one-off windows
    cron: str | None  # recurring ones
    timezone: str
    duration: int  # seconds
    note: str
    created_at: str
    active: bool
    ends_at: str | None
    next_start: str | None


def valid_key(key: str) -> bool:
    """A key an HTTP header can carry: printable ASCII, no spaces."""
    return bool(key) and key.isascii() and key.isprintable() and not any(c.isspace() for c in key)


def _reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        kind = type(exc).__name__  # ConnectTimeout, ReadTimeout, ...
        return f"no answer in time ({kind})"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]


def _error(response: httpx.Response) -> ApiError:
    """The API's error answer as an ApiError; a body that is not the API's JSON (a proxy's HTML
    page, say) keeps the status and the first line of its text."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("detail"), str):
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        return ApiError(response.status_code, text or response.reason_phrase or "error")
    errors = tuple(
        FieldError(tuple(e.get("loc", ())), str(e.get("msg", "")), str(e.get("type", "")))
        for e in body.get("errors") or ()
        if isinstance(e, dict)
    )
    existing = body.get("id")
    error = ApiError(
        response.status_code,
        body["detail"],
        errors,
        existing if isinstance(existing, int) and not isinstance(existing, bool) else None,
    )
    naming = body.get("monitors")
    if isinstance(naming, int) and not isinstance(naming, bool):
        error.monitors_naming = naming
    return error


def _unexpected(response: httpx.Response, exc: Exception) -> ApiError:
    return ApiError(
        response.status_code,
        f"the API answered {response.request.method} {response.request.url.path} with an"
        f" unexpected body ({type(exc).__name__}: {exc})",
    )


def _monitor(item: dict[str, Any]) -> Monitor:
    # ValidationError (a ValueError) when the API answers a check this client cannot read.
    check = CheckSpec.model_validate(
        {
            "request": item.get("request") or {},
            "assertions": item.get("assertions") or [],
            "degraded_after_ms": item.get("degraded_after_ms"),
        }
    )
    owner = item.get("owner")
    health = item.get("health") or {}
    thresholds = item.get("thresholds")
    return Monitor(
        id=int(item["id"]),
        name=str(item["name"]),
        url=str(item["url"]),
        created_at=str(item["created_at"]),
        state=str(item["state"]),
        check=DEFAULT_CHECK if check == DEFAULT_CHECK else check,
        owner=None if owner is None else str(owner),
        health=MonitorHealth(
            state=str(health.get("state", "unknown")),
            since=_text(health.get("since")),
            failures=int(health.get("failures") or 0),
            successes=int(health.get("successes") or 0),
            incident_id=_int(health.get("incident_id")),
        ),
        failure_threshold=_int(item.get("failure_threshold")),
        success_threshold=_int(item.get("success_threshold")),
        thresholds=(
            (int(thresholds["failure"]), int(thresholds["success"])) if thresholds else None
        ),
        channels=tuple(str(name) for name in item.get("channels") or ()),
        interval=_int(item.get("interval")),
        interval_is_default=bool(item.get("interval_is_default", True)),
        regions=tuple(str(region) for region in item.get("regions") or ()),
        regions_are_default=bool(item.get("regions_are_default", True)),
    )


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _channel(item: dict[str, Any]) -> Channel:
    return Channel(
        id=int(item["id"]),
        name=str(item["name"]),
        type=str(item["type"]),
        target_hint=str(item["target_hint"]),
        is_default=bool(item["is_default"]),
        send_resolved=bool(item["send_resolved"]),
        resend_every=_int(item.get("resend_every")),
        created_at=str(item["created_at"]),
        monitors=int(item.get("monitors") or 0),
    )


@dataclass(frozen=True)
class ShardStream:
    region: str
    length: int  # shards waiting or being worked on
    lag: int  # shards no worker has taken yet
    pending: int  # shards taken and not yet acknowledged


@dataclass(frozen=True)
class PlanSlot:
    slot: str  # ISO 8601, UTC: the minute it plans
    state: str  # planned, done or failed
    shards: int
    monitors: int
    planned_at: str
    deadline_at: str
    finished_at: str | None


@dataclass(frozen=True)
class Fleet:
    """GET /fleet: the shard streams (None without Redis) and the planner's slots."""

    region: str
    regions: list[str]
    streams: list[ShardStream] | None
    dead_letters: int | None
    slots: dict[str, int]
    recent_slots: list[PlanSlot]


def _fleet(body: dict[str, Any]) -> Fleet:
    streams = body.get("streams")
    return Fleet(
        region=str(body["region"]),
        regions=[str(r) for r in body["regions"]],
        streams=None
        if streams is None
        else [
            ShardStream(str(i["region"]), int(i["length"]), int(i["lag"]), int(i["pending"]))
            for i in streams
        ],
        dead_letters=None if body.get("dead_letters") is None else int(body["dead_letters"]),
        slots={str(k): int(v) for k, v in body["slots"].items()},
        recent_slots=[
            PlanSlot(
                slot=str(i["slot"]),
                state=str(i["state"]),
                shards=int(i["shards"]),
                monitors=int(i["monitors"]),
                planned_at=str(i["planned_at"]),
                deadline_at=str(i["deadline_at"]),
                finished_at=_text(i.get("finished_at")),
            )
            for i in body["recent_slots"]
        ],
    )


def _incident(item: dict[str, Any]) -> Incident:
    return Incident(
        id=int(item["id"]),
        monitor_id=int(item["monitor_id"]),
        monitor_name=_text(item.get("monitor_name")),
        url=_text(item.get("url")),
        state=str(item["state"]),
        started_at=str(item["started_at"]),
        opened_at=str(item["opened_at"]),
        resolved_at=_text(item.get("resolved_at")),
        duration_s=int(item["duration_s"]),
        cause=_text(item.get("cause")),
        detail=_text(item.get("detail")),
        resolution=_text(item.get("resolution")),
    )


def _notification(item: dict[str, Any]) -> IncidentNotification:
    return IncidentNotification(
        id=int(item["id"]),
        kind=str(item["kind"]),
        channel_id=int(item["channel_id"]),
        channel=_text(item.get("channel")),
        channel_type=_text(item.get("channel_type")),
        state=str(item["state"]),
        attempts=int(item["attempts"]),
        last_error=_text(item.get("last_error")),
        created_at=str(item["created_at"]),
        next_attempt_at=str(item["next_attempt_at"]),
        sent_at=_text(item.get("sent_at")),
    )


def _window(item: dict[str, Any]) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=int(item["id"]),
        monitor_id=_int(item.get("monitor_id")),
        starts_at=_text(item.get("starts_at")),
        cron=_text(item.get("cron")),
        timezone=str(item["timezone"]),
        duration=int(item["duration"]),
        note=str(item.get("note") or ""),
        created_at=str(item["created_at"]),
        active=bool(item["active"]),
        ends_at=_text(item.get("ends_at")),
        next_start=_text(item.get("next_start")),
    )


def _check_result(item: dict[str, Any]) -> CheckResult:
    http_status = item.get("http_status")
    return CheckResult(
        checked_at=str(item["checked_at"]),
        status=str(item["status"]),
        http_status=None if http_status is None else int(http_status),
        latency_ms=int(item["latency_ms"]),
        cause=item.get("cause"),
        detail=item.get("detail"),
        degraded=bool(item.get("degraded", False)),
        tls_expires_at=item.get("tls_expires_at"),
        region=str(item.get("region") or "local"),
    )


def _counts(item: dict[str, Any]) -> WindowCount:
    return WindowCount(int(item["success"]), int(item["fail"]), int(item.get("degraded", 0)))


def _region_status(item: dict[str, Any]) -> RegionStatus:
    last = item.get("last_check")
    return RegionStatus(
        region=str(item["region"]),
        scheduled=bool(item["scheduled"]),
        last_check=None if last is None else _check_result(last),
        day=_counts(item["day"]),
    )


def check_fields(check: CheckSpec) -> dict[str, Any]:
    """The check as the API's top-level monitor fields: request, assertions, degraded_after_ms."""
    data = check.model_dump(mode="json")
    return {
        "request": data["request"],
        "assertions": data["assertions"],
        "degraded_after_ms": data["degraded_after_ms"],
    }


class ApiClient:
    """`async with ApiClient(base_url, key) as api:` then `await api.summary()`, ...

    One connection pool per client; `max_connections` bounds the requests in flight (the import
    sends rows concurrently).
    """

    def __init__(
        self,
        base_url: str,
        key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_connections: int = 16,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json"}
        if key:
            if not valid_key(key):  # the message never shows the key
                raise ValueError("an API key must be printable ASCII without spaces")
            headers["Authorization"] = f"Bearer {key}"
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
        )

    def __repr__(self) -> str:  # never the key
        return f"ApiClient({self.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | int] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        try:
            # Never logged here: a body may hold secret header values.
            response = await self._http.request(method, path, params=params, json=json)
        except httpx.TransportError as exc:
            raise ApiUnreachable(self.base_url, _reason(exc)) from None
        if response.is_error:
            raise _error(response)
        return response

    async def summary(self, *, cache: bool = True) -> Summary:
        """GET /urls/summary: successful and failed checks in the past 30 days."""
        response = await self._request("GET", "/urls/summary", params=_cache(cache))
        try:
            counts = {item["status"]: int(item["count"]) for item in response.json()}
            return Summary(success=counts["success"], fail=counts["fail"])
        except (ValueError, KeyError, TypeError) as exc:
            raise _unexpected(response, exc) from None

    async def top(self, status: str, span: str, *, cache: bool = True) -> list[TopItem]:
        """GET /urls/top/{status}/{span}: the 10 URLs with the most checks of `status`
        ("success" or "fail") in the past `span` ("hour", "week" or "month")."""
        response = await self._request("GET", f"/urls/top/{status}/{span}", params=_cache(cache))
        try:
            return [
                TopItem(name=str(i["name"]), url=str(i["url"]), count=int(i["count"]))
                for i in response.json()
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise _unexpected(response, exc) from None

    async def list_urls(
        self, limit: int = 100, offset: int = 0, q: str | None = None, *, owner: str | None = None
    ) -> MonitorPage:
        """GET /urls: a page of monitors by id; `q` (sent only when given) keeps those whose name
        or URL contains it, `owner` those with this owner label."""
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if q is not None:
            params["q"] = q
        if owner is not None:
            params["owner"] = owner
        response = await self._request("GET", "/urls", params=params)
        try:
            body = response.json()
            return MonitorPage(
                items=[_monitor(item) for item in body["items"]],
                total=int(body["total"]),
                limit=int(body["limit"]),
                offset=int(body["offset"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise _unexpected(response, exc) from None

    async def add_url(
        self,
        name: str,
        url: str,
        *,
        check: CheckSpec | None = None,
        owner: str | None = None,
        failure_threshold: int | None = None,
        success_threshold: int | None = None,
        channels: Sequence[str | int] = (),
        interval: int | None = None,
        regions: Sequence[str] | None = None,
    ) -> Monitor:
        """POST /urls/: the new monitor, with `check` (default: one GET, success below 400),
        `owner`, its own thresholds (None: the defaults), the channels it names (by name or
        id; none: the default channels), its interval in seconds (None: CYCLE_INTERVAL) and its
        regions (None: every region). A URL already monitored with the same check raises
        ApiError 409 whose `existing_id` is that monitor's id; a refused field (an unknown
        channel or region), ApiError 422 naming it."""
        body: dict[str, Any] = {"name": name, "url": url}
        if check is not None and check != DEFAULT_CHECK:
            body |= check_fields(check)
        if owner is not None:
            body["owner"] = owner
        if failure_threshold is not None:
            body["failure_threshold"] = failure_threshold
        if success_threshold is not None:
            body["success_threshold"] = success_threshold
        if channels:
            body["channels"] = list(channels)
        if interval is not None:
            body["interval"] = interval
        if regions is not None:
            body["regions"] = list(regions)
        response = await self._request("POST", "/urls/", json=body)
        try:
            return _monitor(response.json())
        except (ValueError, KeyError, TypeError) as exc:
            raise _unexpected(response, exc) from None

    async def get_url(self, monitor_id: int) -> MonitorDetail:
        """GET /urls/{id}: the monitor (secrets redacted), its newest checks and counts
        (ApiError 404 when there is no such monitor)."""
        response = await self._request("GET", f"/urls/{monitor_id}")
        try:
            body = response.json()
            counts = {window: _counts(c) for window, c in body["counts"].items()}
            days = body.get("tls_days_left")
            return MonitorDetail(
                monitor=_monitor(body),
                checks=[_check_result(c) for c in body["checks"]],
                counts=counts,
                tls_days_left=None if days is None else int(days),
                regions_status=[_region_status(r) for r in body.get("regions_status") or ()],
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise _unexpected(response, exc) from None

    async def update_url(
        self,
        monitor_id: int,
        *,
        name: str | None = None,
        url: str | None = None,
        request: RequestSpec | None = None,
        assertions: Sequence[Assertion] | None = None,
        degraded_after_ms: int | Unset | None = UNSET,
        owner: str | Unset | None = UNSET,
        check: CheckSpec | None = None,
        failure_threshold: int | Unset | None = UNSET,
        success_threshold: int | Unset | None = UNSET,
        channels: Sequence[str | int] | None = None,
        interval: int | Unset | None = UNSET,
        regions: Sequence[str] | Unset | None = UNSET,
        dry_run: bool = False,
    ) -> Change:
        """PATCH /urls/{id}: change the fields given (None, or UNSET where None clears: left as
        they are). `check` sets request, assertions and degraded_after_ms at once. A secret
        header's value given as REDACTED keeps the stored one. A threshold set to None goes back
        to the default; `channels` replaces the channels named ([]: the defaults); `interval`
        and `regions` set to None go back to CYCLE_INTERVAL and every region. With `dry_run`,
        nothing is written: the answer says what would change."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if url is not None:
            body["url"] = url
        if check is not None:
            body |= check_fields(check)
        if request is not None:
            body["request"] = request.model_dump(mode="json")
        if assertions is not None:
            body["assertions"] = [a.model_dump(mode="json") for a in assertions]
        if not isinstance(degraded_after_ms, Unset):
            body["degraded_after_ms"] = degraded_after_ms
        if not isinstance(owner, Unset):
            body["owner"] = owner
        if not isinstance(failure_threshold, Unset):
            body["failure_threshold"] = failure_threshold
        if not isinstance(success_threshold, Unset):
            body["success_threshold"] = success_threshold
        if channels is not None:
            body["channels"] = list(channels)
        if not isinstance(interval, Unset):
            body["interval"] = interval
        if not isinstance(regions, Unset):
            body["regions"] = None if regions is None else list(regions)
        params: dict[str, str | int] = {"dry_run": "true"} if dry_run else {}
        response = await self._request("PATCH", f"/urls/{monitor_id}", params=params, json=body)
        try:
            answer = response.json()
            return Change(_monitor(answer), [str(f) for f in answer["changed"]])
        except (ValueError, KeyError, TypeError) as exc:
            raise _unexpected(response, exc) from None

    async def delete_url(self, monitor_id: int) -> None:
        """DELETE /urls/{id}: stop monitoring it (ApiError 404 when there is no such monitor)."""
        await self._request("DELETE", f"/urls/{monitor_id}")

    async def checks(
        self, monitor_id: int, *, region: str | None = None, limit: int = 20
    ) -> list[CheckResult]:
        """GET /urls/{id}/checks: its newest checks first, of every region or of `region` (an
        unknown region is an ApiError 422 naming the known ones)."""
        params: dict[str, str | int] = {"limit": limit}
        if region is not None:
            params["region"] = region
        return await self._json(
            "GET",
            f"/urls/{monitor_id}/checks",
            lambda body: [_check_result(c) for c in body["items"]],
            params=params,
        )

    async def regions(self) -> Regions:
        """GET /regions: the regions a monitor may name, and the intervals it may have."""

        def parse(body: Any) -> Regions:
            return Regions(
                regions=tuple(str(r) for r in body["regions"]),
                default_interval=int(body["default_interval"]),
                min_interval=int(body["min_interval"]),
                max_interval=int(body["max_interval"]),
            )

        return await self._json("GET", "/regions", parse)

    # --- alerting: channels, incidents, maintenance windows --------------------------------

    async def _json(self, method: str, path: str, parse: Callable[[Any], T], **kwargs: Any) -> T:
        """The answer's JSON read by `parse`; an answer it cannot read is an ApiError."""
        response = await self._request(method, path, **kwargs)
        try:
            return parse(response.json())
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise _unexpected(response, exc) from None

    async def list_channels(self) -> list[Channel]:
        """GET /channels: every channel by id (targets shown as their hint only)."""
        return await self._json(
            "GET", "/channels", lambda body: [_channel(i) for i in body["items"]]
        )

    async def get_channel(self, channel_id: int) -> Channel:
        return await self._json("GET", f"/channels/{channel_id}", _channel)

    async def add_channel(
        self,
        name: str,
        type: str,
        url: str,
        *,
        is_default: bool = False,
        send_resolved: bool = True,
        resend_every: int | None = None,
    ) -> ChannelChange:
        """POST /channels: the new channel and, for a webhook, its signing secret (shown only
        now). ApiError 409 when the name is taken (`existing_id`), 422 for a refused target."""
        body = {
            "name": name,
            "type": type,
            "url": url,
            "is_default": is_default,
            "send_resolved": send_resolved,
            "resend_every": resend_every,
        }
        return await self._json(
            "POST",
            "/channels",
            lambda answer: ChannelChange(_channel(answer), _text(answer.get("secret"))),
            json=body,
        )

    async def update_channel(
        self,
        channel_id: int,
        *,
        name: str | None = None,
        url: str | None = None,
        is_default: bool | None = None,
        send_resolved: bool | None = None,
        resend_every: int | Unset | None = UNSET,
        rotate_secret: bool = False,
    ) -> ChannelChange:
        """PATCH /channels/{id}: change what is given (resend_every=None: no reminders);
        `rotate_secret` makes a webhook's new secret, returned once."""
        body: dict[str, Any] = {}
        for key, value in (
            ("name", name),
            ("url", url),
            ("is_default", is_default),
            ("send_resolved", send_resolved),
        ):
            if value is not None:
                body[key] = value
        if not isinstance(resend_every, Unset):
            body["resend_every"] = resend_every
        if rotate_secret:
            body["rotate_secret"] = True

        def parse(answer: Any) -> ChannelChange:
            changed = [str(f) for f in answer["changed"]]
            return ChannelChange(_channel(answer), _text(answer.get("secret")), changed)

        return await self._json("PATCH", f"/channels/{channel_id}", parse, json=body)

    async def delete_channel(self, channel_id: int, *, force: bool = False) -> None:
        """DELETE /channels/{id}: ApiError 409 while monitors name it (`monitors_naming` says how
        many) unless `force`, which makes them stop naming it."""
        params: dict[str, str | int] = {"force": "true"} if force else {}
        await self._request("DELETE", f"/channels/{channel_id}", params=params)

    async def test_channel(self, channel_id: int) -> ChannelTest:
        """POST /channels/{id}/test: send a test message now; how it went."""
        return await self._json(
            "POST",
            f"/channels/{channel_id}/test",
            lambda body: ChannelTest(bool(body["ok"]), str(body["detail"])),
        )

    async def fleet(self, *, limit: int = 10) -> Fleet:
        """GET /fleet: each region's shard stream, the dead letters and the newest slots."""
        return await self._json("GET", "/fleet", _fleet, params={"limit": limit})

    async def incidents(
        self,
        *,
        state: str = "open",
        limit: int = 100,
        offset: int = 0,
        monitor_id: int | None = None,
    ) -> IncidentPage:
        """GET /incidents (or a monitor's, GET /urls/{id}/incidents): a page, newest first, of
        the open incidents (`state="open"`) or all of them (`"all"`)."""
        path = "/incidents" if monitor_id is None else f"/urls/{monitor_id}/incidents"
        params: dict[str, str | int] = {"state": state, "limit": limit, "offset": offset}

        def parse(body: Any) -> IncidentPage:
            return IncidentPage(
                items=[_incident(i) for i in body["items"]],
                total=int(body["total"]),
                limit=int(body["limit"]),
                offset=int(body["offset"]),
            )

        return await self._json("GET", path, parse, params=params)

    async def get_incident(self, incident_id: int) -> IncidentDetail:
        """GET /incidents/{id}: the incident and its notifications, oldest first."""

        def parse(body: Any) -> IncidentDetail:
            notes = [_notification(n) for n in body["notifications"]]
            return IncidentDetail(_incident(body), notes)

        return await self._json("GET", f"/incidents/{incident_id}", parse)

    async def list_windows(self, monitor_id: int | None = None) -> list[MaintenanceWindow]:
        """GET /maintenance: every window (with `monitor_id`: its own and those of all)."""
        params: dict[str, str | int] = {} if monitor_id is None else {"monitor_id": monitor_id}
        return await self._json(
            "GET",
            "/maintenance",
            lambda body: [_window(i) for i in body["items"]],
            params=params,
        )

    async def add_window(
        self,
        *,
        duration: int,
        starts_at: str | None = None,
        cron: str | None = None,
        timezone: str = "UTC",
        monitor_id: int | None = None,
        note: str = "",
    ) -> MaintenanceWindow:
        """POST /maintenance: a one-off window (`starts_at`, ISO 8601 with an offset) or a
        recurring one (`cron` in `timezone`), lasting `duration` seconds, for one monitor or
        all (None)."""
        body: dict[str, Any] = {"duration": duration, "timezone": timezone, "note": note}
        body["monitor_id"] = monitor_id
        if starts_at is not None:
            body["starts_at"] = starts_at
        if cron is not None:
            body["cron"] = cron
        return await self._json("POST", "/maintenance", _window, json=body)

    async def delete_window(self, window_id: int) -> None:
        await self._request("DELETE", f"/maintenance/{window_id}")


def _cache(cache: bool) -> dict[str, str | int]:
    return {} if cache else {"cache": "false"}
