"""The public shape of the API: request and response bodies, documented in the OpenAPI schema."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..alerting.maintenance import check_cron, check_timezone
from ..alerts import (
    MAX_THRESHOLD,
    Channel,
    ChannelType,
    Delivery,
    Incident,
    MaintenanceWindow,
    MonitorHealth,
    Notification,
    NotificationKind,
)
from ..check_spec import (
    MAX_ASSERTIONS,
    MAX_LATENCY_MS,
    MAX_OWNER_LENGTH,
    REDACTED,
    Assertion,
    CheckSpec,
    RequestSpec,
    validate_owner,
)
from ..due import MAX_INTERVAL_S, MIN_INTERVAL_S, PlanSlot, SlotState
from ..models import (
    MAX_NAME_LENGTH,
    MAX_URL_LENGTH,
    Bucket,
    Cause,
    Check,
    Counts,
    CycleOutcome,
    CycleRecord,
    Monitor,
    MonitorState,
    Status,
    validate_name,
    validate_url,
)


def as_response(model: BaseModel) -> Response:
    """The model as a JSON answer, serialised once: FastAPI would validate a returned model again
    against the route's response_model, compiling every monitor's regexes and JSON paths a
    second time (a page of 1000 monitors)."""
    return Response(model.model_dump_json(), media_type="application/json")


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


_REQUEST_DOC = (
    "the request each check sends (default: GET, no headers, TIMEOUT, redirects followed); header"
    f" values of Authorization, Cookie, Proxy-Authorization and of `secret_headers` are returned"
    f" as {REDACTED!r}, and {REDACTED!r} sent back in a PATCH keeps the stored value"
)
_ASSERTIONS_DOC = (
    "conditions the answer must all meet, each discriminated by `type`: status, body, json,"
    " header, latency, tls; none: success is a final status below 400"
)
_DEGRADED_DOC = (
    "a passing answer slower than this many milliseconds is a success flagged `degraded`; below"
    " the latency assertion's limit and the timeout; null: never degraded"
)
_OWNER_DOC = (
    "a label for the monitors one file manages (`service-monitor apply`); null: none. Not"
    " unique: GET /urls?owner= lists a label's monitors"
)
FULL_EXAMPLE: dict[str, Any] = {
    "name": "api",
    "url": "https://api.example.com/health",
    "request": {"method": "GET", "headers": {"Authorization": "Bearer x"}, "timeout_s": 5},
    "assertions": [
        {"type": "status", "codes": ["2xx"]},
        {"type": "json", "path": "$.status", "op": "equals", "value": "ok"},
    ],
    "degraded_after_ms": 800,
}


class _MonitorFieldRules(BaseModel):
    """The rules of the fields a POST and a PATCH share, written once (a PATCH's fields left out
    are never validated: pydantic does not validate defaults)."""

    @field_validator("name", check_fields=False)
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_name(value)

    @field_validator("url", check_fields=False)
    @classmethod
    def _url(cls, value: str) -> str:
        return validate_url(value)

    @field_validator("owner", check_fields=False)
    @classmethod
    def _owner(cls, value: str | None) -> str | None:
        return validate_owner(value)

    @field_validator("regions", check_fields=False)
    @classmethod
    def _regions(cls, value: list[str] | None) -> list[str] | None:
        # Whether each is one of this deployment's REGIONS is the route's to say (it has them).
        if value is not None and not value:
            raise ValueError("must name at least one region; null: every region")
        return value


_FAILURE_DOC = (
    f"consecutive failed checks that make the monitor down, 1 to {MAX_THRESHOLD}; null: the"
    " default (FAILURE_THRESHOLD)"
)
_SUCCESS_DOC = (
    f"consecutive successful checks that make it up again, 1 to {MAX_THRESHOLD}; null: the"
    " default (SUCCESS_THRESHOLD)"
)
_CHANNELS_DOC = (
    "the channels told of its incidents, by name or id; empty: the default channels"
    " (is_default); an unknown one is refused naming it"
)
MAX_MONITOR_CHANNELS = 50
_INTERVAL_DOC = (
    f"seconds between two checks, {MIN_INTERVAL_S} to {MAX_INTERVAL_S}; null: the default"
    " (CYCLE_INTERVAL)"
)
_REGIONS_DOC = (
    "the regions it is probed from, each one of this deployment's REGIONS (GET /regions); null:"
    " every region; an unknown one is refused naming it"
)
MAX_MONITOR_REGIONS = 50
RegionName = Annotated[str, Field(min_length=1, max_length=32)]
ChannelRef = (
    Annotated[int, Field(ge=1, le=2**31 - 1)]
    | Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
)


class MonitorIn(_MonitorFieldRules):
    """A URL to monitor, and optionally how to check it (the bare {name, url} is the default
    check: one GET, success below 400)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "a", "url": "http://www.a.com"}, FULL_EXAMPLE]},
    )

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, description="printable characters")
    url: str = Field(
        min_length=1, max_length=MAX_URL_LENGTH, description="absolute http:// or https:// URL"
    )
    request: RequestSpec = Field(default_factory=RequestSpec, description=_REQUEST_DOC)
    assertions: list[Assertion] = Field(
        default_factory=list, max_length=MAX_ASSERTIONS, description=_ASSERTIONS_DOC
    )
    degraded_after_ms: int | None = Field(None, ge=1, le=MAX_LATENCY_MS, description=_DEGRADED_DOC)
    owner: str | None = Field(
        None, min_length=1, max_length=MAX_OWNER_LENGTH, description=_OWNER_DOC
    )
    failure_threshold: int | None = Field(None, ge=1, le=MAX_THRESHOLD, description=_FAILURE_DOC)
    success_threshold: int | None = Field(None, ge=1, le=MAX_THRESHOLD, description=_SUCCESS_DOC)
    channels: list[ChannelRef] = Field(
        default_factory=list, max_length=MAX_MONITOR_CHANNELS, description=_CHANNELS_DOC
    )
    interval: int | None = Field(
        None, ge=MIN_INTERVAL_S, le=MAX_INTERVAL_S, description=_INTERVAL_DOC
    )
    regions: list[RegionName] | None = Field(
        None, max_length=MAX_MONITOR_REGIONS, description=_REGIONS_DOC
    )


# Fields a PATCH may change, in the order `changed` lists them.
ChangedField = Literal[
    "name",
    "url",
    "request",
    "assertions",
    "degraded_after_ms",
    "owner",
    "failure_threshold",
    "success_threshold",
    "channels",
    "interval",
    "regions",
]
PATCH_FIELDS: tuple[str, ...] = get_args(ChangedField)


class MonitorPatch(_MonitorFieldRules):
    """The fields to change; those left out keep their value. `request` and `assertions` are
    replaced whole. null clears `degraded_after_ms` and `owner`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "api (EU)"},
                {"assertions": [{"type": "status", "codes": [200, 204]}]},
                {"request": {"method": "GET", "headers": {"Authorization": REDACTED}}},
            ]
        },
    )
    # Typed without None but defaulting to it: a default is not validated, so a field left out is
    # None (the route reads model_fields_set), while an explicit null is refused by its type.
    name: str = Field(  # type: ignore[assignment]
        None, min_length=1, max_length=MAX_NAME_LENGTH, description="printable characters"
    )
    url: str = Field(  # type: ignore[assignment]
        None, min_length=1, max_length=MAX_URL_LENGTH, description="absolute http(s) URL"
    )
    request: RequestSpec = Field(None, description=_REQUEST_DOC)  # type: ignore[assignment]
    assertions: list[Assertion] = Field(
        None,  # type: ignore[arg-type]
        max_length=MAX_ASSERTIONS,
        description=_ASSERTIONS_DOC,
    )
    degraded_after_ms: int | None = Field(None, ge=1, le=MAX_LATENCY_MS, description=_DEGRADED_DOC)
    owner: str | None = Field(
        None, min_length=1, max_length=MAX_OWNER_LENGTH, description=_OWNER_DOC
    )
    failure_threshold: int | None = Field(None, ge=1, le=MAX_THRESHOLD, description=_FAILURE_DOC)
    success_threshold: int | None = Field(None, ge=1, le=MAX_THRESHOLD, description=_SUCCESS_DOC)
    channels: list[ChannelRef] = Field(
        None,  # type: ignore[arg-type]
        max_length=MAX_MONITOR_CHANNELS,
        description=_CHANNELS_DOC,
    )
    interval: int | None = Field(
        None, ge=MIN_INTERVAL_S, le=MAX_INTERVAL_S, description=_INTERVAL_DOC
    )
    regions: list[RegionName] | None = Field(
        None, max_length=MAX_MONITOR_REGIONS, description=_REGIONS_DOC
    )


class HealthOut(BaseModel):
    """A monitor's health: up or down once its checks reach a threshold, unknown before."""

    state: Literal["up", "down", "unknown"]
    since: datetime | None = Field(description="when it last changed; null while never checked")
    failures: int = Field(description="the current run of failed checks")
    successes: int = Field(description="the current run of successful checks")
    incident_id: int | None = Field(description="the open incident while down; else null")

    @classmethod
    def of(cls, health: MonitorHealth) -> HealthOut:
        return cls(
            state=health.health.value,
            since=None if health.since is None else _utc(health.since),
            failures=health.failures,
            successes=health.successes,
            incident_id=health.incident_id,
        )


class ThresholdsOut(BaseModel):
    failure: int = Field(description="consecutive failed checks that make the monitor down")
    success: int = Field(description="consecutive successful checks that make it up again")


@dataclass(frozen=True, slots=True)
class MonitorAlerting:
    """What alerting adds to a monitor's answer, read from the store for a page at once."""

    health: MonitorHealth
    failure_threshold: int | None  # the monitor's own; None: the default
    success_threshold: int | None
    effective: ThresholdsOut
    channels: list[str]  # names of the channels it names


@dataclass(frozen=True, slots=True)
class ScheduleDefaults:
    """What a monitor with no interval or regions of its own gets: CYCLE_INTERVAL and REGIONS."""

    interval: int
    regions: tuple[str, ...]


class MonitorOut(BaseModel):
    id: int
    name: str
    url: str
    created_at: datetime
    state: Literal["pending", "active"] = Field(
        description="pending: accepted, probed from the next cycle on; active: probed every cycle"
    )
    request: RequestSpec = Field(description=f"secret header values shown as {REDACTED!r}")
    assertions: list[Assertion]
    degraded_after_ms: int | None
    owner: str | None
    health: HealthOut
    failure_threshold: int | None = Field(description="the monitor's own; null: the default")
    success_threshold: int | None = Field(description="the monitor's own; null: the default")
    thresholds: ThresholdsOut = Field(description="the thresholds in effect (own or default)")
    channels: list[str] = Field(
        description="names of the channels told of its incidents; empty: the default channels"
    )
    interval: int = Field(
        description="seconds between two checks, in effect: its own, or the default"
        " (CYCLE_INTERVAL)"
    )
    interval_is_default: bool = Field(
        description="true: it has no interval of its own, it follows CYCLE_INTERVAL"
    )
    regions: list[str] = Field(
        description="the regions it is probed from, in effect: its own, or every one of REGIONS"
    )
    regions_are_default: bool = Field(
        description="true: it names no region of its own, it is probed from every region"
    )

    @classmethod
    def of(
        cls, monitor: Monitor, alerting: MonitorAlerting, defaults: ScheduleDefaults
    ) -> MonitorOut:
        return cls(**monitor_fields(monitor, alerting, defaults))


def public_request(spec: CheckSpec) -> RequestSpec:
    """The spec's request with every secret header value replaced by REDACTED."""
    request = spec.request
    if not request.headers:
        return request
    headers = {
        name: REDACTED if request.is_secret(name) else value
        for name, value in request.headers.items()
    }
    # model_copy: the spec was validated when stored; redacting keeps it valid
    return request.model_copy(update={"headers": headers})


def monitor_fields(
    monitor: Monitor, alerting: MonitorAlerting, defaults: ScheduleDefaults
) -> dict[str, Any]:
    """MonitorOut's fields of `monitor`, secrets redacted: what every read of a monitor shows."""
    return {
        "id": monitor.id,
        "name": monitor.name,
        "url": monitor.url,
        "created_at": _utc(monitor.created_at),
        "state": "active" if monitor.state is MonitorState.ACTIVE else "pending",
        "request": public_request(monitor.check),
        "assertions": list(monitor.check.assertions),
        "degraded_after_ms": monitor.check.degraded_after_ms,
        "owner": monitor.owner,
        "health": HealthOut.of(alerting.health),
        "failure_threshold": alerting.failure_threshold,
        "success_threshold": alerting.success_threshold,
        "thresholds": alerting.effective,
        "channels": alerting.channels,
        "interval": defaults.interval if monitor.interval is None else monitor.interval,
        "interval_is_default": monitor.interval is None,
        "regions": list(defaults.regions if monitor.regions is None else monitor.regions),
        "regions_are_default": monitor.regions is None,
    }


class MonitorChange(MonitorOut):
    """A PATCH's answer: the monitor as it is now (with dry_run: as it would be)."""

    changed: list[ChangedField] = Field(
        description="the fields whose value differs from the stored one (secret header values"
        " compared too); empty: nothing changed, nothing was written"
    )


class MonitorPage(BaseModel):
    items: list[MonitorOut]
    total: int = Field(description="monitored URLs in all")
    limit: int
    offset: int


class CheckOut(BaseModel):
    checked_at: datetime
    status: Status
    http_status: int | None = Field(description="status of the final response, if one came")
    latency_ms: int
    cause: Cause | None = Field(description="why it failed; null for a success")
    detail: str | None = Field(
        description="why it failed, one sentence naming the condition and what was seen"
        ' ("status 503 is not one of 2xx"); null for a success'
    )
    degraded: bool = Field(description="a success slower than the monitor's degraded_after_ms")
    tls_expires_at: datetime | None = Field(
        description="when the server's certificate expires (https answers); null otherwise"
    )
    region: str = Field(description="the region it was made from")

    @classmethod
    def of(cls, check: Check) -> CheckOut:
        return cls(
            checked_at=_utc(check.checked_at),
            status=check.status,
            http_status=check.http_status,
            latency_ms=check.latency_ms,
            cause=check.cause,
            detail=check.detail,
            degraded=check.degraded,
            tls_expires_at=None if check.tls_expires_at is None else _utc(check.tls_expires_at),
            region=check.region,
        )


def tls_days_left(checks: list[Check], now: float) -> int | None:
    """Whole days until the certificate seen by the newest of `checks` (newest first) that saw
    one expires; negative once expired; None when none saw a certificate."""
    for check in checks:
        if check.tls_expires_at is not None:
            return math.floor((check.tls_expires_at - now) / 86400)
    return None


class StatusCounts(BaseModel):
    success: int
    fail: int
    degraded: int = Field(description="of the successes, those flagged degraded")

    @classmethod
    def of(cls, counts: Counts) -> StatusCounts:
        return cls(success=counts.success, fail=counts.fail, degraded=counts.degraded)


class WindowCounts(BaseModel):
    hour: StatusCounts
    week: StatusCounts
    month: StatusCounts


class RegionStatus(BaseModel):
    """A monitor's checks from one region."""

    region: str
    scheduled: bool = Field(
        description="true: one of the regions it is probed from now; false: a region it was"
        " probed from before its regions changed"
    )
    last_check: CheckOut | None = Field(
        description="the region's newest check of the past 2 days; null when none"
    )
    day: StatusCounts = Field(description="the region's checks in the past 24 hours")
    health: Literal["up", "down", "unknown"] = Field(
        description="the region's own health, judged with the monitor's thresholds; the monitor"
        " is down when more than half of its regions are (one region: the monitor's health)"
    )


class MonitorDetail(MonitorOut):
    checks: list[CheckOut] = Field(
        description="the newest checks first (every region), at most 20; one region's:"
        " GET /urls/{id}/checks?region="
    )
    counts: WindowCounts = Field(description="checks in the past hour, 7 days and 30 days")
    tls_days_left: int | None = Field(
        description="whole days until the certificate of the newest https answer expires"
        " (negative: expired); null when no recent check saw one"
    )
    regions_status: list[RegionStatus] = Field(
        description="each region's newest check and past day: the regions it is probed from"
        " (in effect) first, then any other region that checked it in the past 2 days"
    )


class CheckPage(BaseModel):
    id: int = Field(description="the monitor's id")
    region: str | None = Field(description="the region asked for; null: every region")
    items: list[CheckOut] = Field(description="the newest checks first")


class RegionsOut(BaseModel):
    """What a monitor's `interval` and `regions` may be on this deployment."""

    regions: list[str] = Field(description="the known regions (REGIONS), sorted")
    default_interval: int = Field(
        description="seconds between two checks of a monitor with no interval of its own"
        " (CYCLE_INTERVAL)"
    )
    min_interval: int = Field(description="the shortest interval a monitor may have, seconds")
    max_interval: int = Field(description="the longest interval a monitor may have, seconds")


def _ratio(bucket: Bucket) -> float | None:
    checks = bucket.success + bucket.fail
    return round(bucket.success / checks, 6) if checks else None


class StripBucket(BaseModel):
    start: datetime = Field(description="the bucket's first instant (UTC)")
    success: int
    fail: int

    @classmethod
    def of(cls, start: float, bucket: Bucket) -> StripBucket:
        return cls(start=_utc(start), success=bucket.success, fail=bucket.fail)


class Uptime(BaseModel):
    """success / (success + fail); null when there was no check."""

    day: float | None = Field(description="over the strip's 24 hourly buckets (current hour last)")
    month: float | None = Field(description="over the past 30 days (720 hours, current one last)")

    @classmethod
    def of(cls, day: Bucket, month: Bucket) -> Uptime:
        return cls(day=_ratio(day), month=_ratio(month))


class OverviewItem(MonitorOut):
    last_check: CheckOut | None = Field(description="the newest check; null before the first")
    uptime: Uptime
    strip: list[StripBucket] = Field(description="24 hourly buckets, oldest first")
    tls_days_left: int | None = Field(
        description="whole days until the certificate the last check saw expires; null when it"
        " saw none"
    )


class HealthCounts(BaseModel):
    up: int
    down: int
    unknown: int


class OverviewPage(BaseModel):
    items: list[OverviewItem]
    total: int = Field(description="monitors matching `q` (all monitored URLs without it)")
    limit: int
    offset: int
    q: str | None
    health: HealthCounts = Field(description="every monitored URL by health (not only `q`'s)")
    incidents_open: int = Field(description="incidents open now, of every monitor")


class HistoryBucket(BaseModel):
    start: datetime
    success: int
    fail: int
    latency_ms: float | None = Field(description="mean latency of the successful checks")

    @classmethod
    def of(cls, start: float, bucket: Bucket) -> HistoryBucket:
        mean = bucket.mean_latency_ms
        return cls(
            start=_utc(start),
            success=bucket.success,
            fail=bucket.fail,
            latency_ms=round(mean, 1) if mean is not None else None,
        )


class History(BaseModel):
    id: int
    span: Literal["day", "week", "month"]
    bucket_seconds: int
    buckets: list[HistoryBucket] = Field(description="oldest first; the last holds now")
    failures: list[CheckOut] = Field(
        description="the span's newest failed checks first, at most 20"
    )
    region: str | None = Field(
        None, description="the region the buckets and failures are of; null: every region"
    )


class CycleOut(BaseModel):
    started_at: datetime
    finished_at: datetime
    outcome: CycleOutcome
    probed: int
    success: int
    fail: int

    @classmethod
    def of(cls, record: CycleRecord) -> CycleOut:
        return cls(
            started_at=_utc(record.started_at),
            finished_at=_utc(record.finished_at),
            outcome=record.outcome,
            probed=record.probed,
            success=record.success,
            fail=record.fail,
        )


class TopItem(BaseModel):
    name: str
    url: str
    count: int


class SummaryItem(BaseModel):
    status: Status
    count: int


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "down"]
    cache: Literal["ok", "down"]
    detail: str | None = Field(None, description="what is down, and why")


class ErrorBody(BaseModel):
    detail: str = Field(description="what was wrong, in one sentence")


class ConflictBody(ErrorBody):
    id: int = Field(description="id of the monitor that already has this URL and check")


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(ErrorBody):
    errors: list[FieldError]


# --- alerting (issue 16): channels, incidents, maintenance windows --------------------------------

MAX_TARGET_LENGTH = 4096  # an Apprise URL may carry several recipients and options
MIN_RESEND_S = 60
MAX_RESEND_S = 7 * 86400
MAX_NOTE_LENGTH = 500
MAX_CRON_LENGTH = 120
MAX_WINDOW_S = 366 * 86400
# A one-off window's start must be a time the store and the cron library both read.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)

_TYPE_DOC = (
    "apprise: any Apprise URL (slack://, mailto://, json://, ntfys://, ...); webhook: an http(s)"
    " URL that receives our signed JSON POST (X-Signature: sha256=<HMAC-SHA256 of the body>)"
)
_TARGET_DOC = (
    "the Apprise URL or webhook URL; it holds tokens: stored encrypted, never returned (see"
    " `target_hint`); an internal address is refused unless the SSRF guard allows it"
)
_RESEND_DOC = (
    f"seconds between reminders while an incident stays open, {MIN_RESEND_S} to {MAX_RESEND_S};"
    " null: no reminders"
)
CHANNEL_EXAMPLE: dict[str, Any] = {
    "name": "ops-slack",
    "type": "apprise",
    "url": "slack://T000/B000/XXXX",
    "is_default": True,
}


def _validate_target(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if not value.isprintable() or any(c.isspace() for c in value):
        raise ValueError("must be printable characters without spaces")
    return value


class _ChannelFieldRules(BaseModel):
    @field_validator("name", check_fields=False)
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_name(value)

    @field_validator("url", check_fields=False)
    @classmethod
    def _url(cls, value: str) -> str:
        return _validate_target(value)


class ChannelIn(_ChannelFieldRules):
    """A channel to tell of incidents: an Apprise URL, or a webhook of ours."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CHANNEL_EXAMPLE]})

    name: str = Field(
        min_length=1, max_length=MAX_NAME_LENGTH, description="unique; printable characters"
    )
    type: ChannelType = Field(description=_TYPE_DOC)
    url: str = Field(min_length=1, max_length=MAX_TARGET_LENGTH, description=_TARGET_DOC)
    is_default: bool = Field(False, description="told of monitors that name no channel")
    send_resolved: bool = Field(True, description="also tell when an incident is resolved")
    resend_every: int | None = Field(
        None, ge=MIN_RESEND_S, le=MAX_RESEND_S, description=_RESEND_DOC
    )


CHANNEL_PATCH_FIELDS = ("name", "url", "is_default", "send_resolved", "resend_every")
ChannelChangedField = Literal[
    "name", "url", "is_default", "send_resolved", "resend_every", "secret"
]


class ChannelPatch(_ChannelFieldRules):
    """The fields to change; those left out keep their value. A channel's type never changes."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"resend_every": 3600}, {"rotate_secret": True}]},
    )
    # As in MonitorPatch: left out is None (model_fields_set tells), an explicit null is refused.
    name: str = Field(  # type: ignore[assignment]
        None, min_length=1, max_length=MAX_NAME_LENGTH, description="printable characters"
    )
    url: str = Field(  # type: ignore[assignment]
        None, min_length=1, max_length=MAX_TARGET_LENGTH, description=_TARGET_DOC
    )
    is_default: bool = Field(None, description="told of monitors that name no channel")  # type: ignore[assignment]
    send_resolved: bool = Field(None, description="also tell when resolved")  # type: ignore[assignment]
    resend_every: int | None = Field(
        None, ge=MIN_RESEND_S, le=MAX_RESEND_S, description=_RESEND_DOC
    )
    rotate_secret: bool = Field(
        False,
        description="webhook channels: make a new signing secret, returned once in `secret`",
    )


class ChannelOut(BaseModel):
    id: int
    name: str
    type: ChannelType
    target_hint: str = Field(description="what may be shown of the target: never its tokens")
    is_default: bool = Field(description="told of monitors that name no channel")
    send_resolved: bool = Field(description="also told when an incident is resolved")
    resend_every: int | None = Field(description="seconds between reminders; null: none")
    created_at: datetime
    monitors: int = Field(description="how many monitors name it")

    @classmethod
    def of(cls, channel: Channel, monitors: int) -> ChannelOut:
        return cls(**channel_fields(channel, monitors))


def channel_fields(channel: Channel, monitors: int) -> dict[str, Any]:
    return {
        "id": channel.id,
        "name": channel.name,
        "type": channel.type,
        "target_hint": channel.target_hint,
        "is_default": channel.is_default,
        "send_resolved": channel.send_resolved,
        "resend_every": channel.resend_every,
        "created_at": _utc(channel.created_at),
        "monitors": monitors,
    }


_SECRET_DOC = (
    "webhook channels: the HMAC-SHA256 key the receiver checks X-Signature with, shown only"
    " here (on create and on rotate_secret); null otherwise"
)


class ChannelCreated(ChannelOut):
    secret: str | None = Field(description=_SECRET_DOC)


class ChannelChange(ChannelOut):
    secret: str | None = Field(description=_SECRET_DOC)
    changed: list[ChannelChangedField] = Field(
        description="the fields changed (url whenever one was sent: the stored one is never"
        " read back to compare); empty: nothing was written"
    )


class ChannelPage(BaseModel):
    items: list[ChannelOut]
    total: int


class ChannelTestOut(BaseModel):
    ok: bool = Field(description="true when the message was accepted by the channel")
    detail: str = Field(description="what happened, in one sentence")


class ChannelInUseBody(ErrorBody):
    monitors: int = Field(description="how many monitors name the channel")


class ChannelConflictBody(ErrorBody):
    id: int = Field(description="id of the channel that already has this name")


class IncidentOut(BaseModel):
    id: int
    monitor_id: int
    monitor_name: str | None = Field(description="null when the monitor was deleted")
    url: str | None = Field(description="null when the monitor was deleted")
    state: Literal["open", "resolved"]
    started_at: datetime = Field(description="when the first failure of the streak was made")
    opened_at: datetime = Field(description="when the failure threshold was reached")
    resolved_at: datetime | None
    duration_s: int = Field(description="seconds down: to resolved_at, or to now while open")
    cause: Cause | None = Field(description="the first failure's cause")
    detail: str | None = Field(description="the first failure's detail")
    resolution: str | None = Field(description='why it was resolved: "recovered", ...')

    @classmethod
    def of(cls, incident: Incident, monitor: Monitor | None, now: float) -> IncidentOut:
        return cls(**incident_fields(incident, monitor, now))


def incident_fields(incident: Incident, monitor: Monitor | None, now: float) -> dict[str, Any]:
    return {
        "id": incident.id,
        "monitor_id": incident.monitor_id,
        "monitor_name": None if monitor is None else monitor.name,
        "url": None if monitor is None else monitor.url,
        "state": "open" if incident.is_open else "resolved",
        "started_at": _utc(incident.started_at),
        "opened_at": _utc(incident.opened_at),
        "resolved_at": None if incident.resolved_at is None else _utc(incident.resolved_at),
        "duration_s": round(incident.duration(now)),
        "cause": incident.cause,
        "detail": incident.detail,
        "resolution": incident.resolution,
    }


class NotificationOut(BaseModel):
    id: int
    kind: NotificationKind
    channel_id: int
    channel: str | None = Field(description="the channel's name; null when it was deleted")
    channel_type: ChannelType | None = Field(description="null when the channel was deleted")
    state: Delivery = Field(
        description="pending, held (storm guard or maintenance), sent, failed, merged (into a"
        " digest), dropped"
    )
    attempts: int
    last_error: str | None = Field(description="why the last attempt failed, or why dropped")
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, notification: Notification, channel: Channel | None) -> NotificationOut:
        return cls(
            id=notification.id,
            kind=notification.kind,
            channel_id=notification.channel_id,
            channel=None if channel is None else channel.name,
            channel_type=None if channel is None else channel.type,
            state=notification.state,
            attempts=notification.attempts,
            last_error=notification.last_error,
            created_at=_utc(notification.created_at),
            next_attempt_at=_utc(notification.next_attempt_at),
            sent_at=None if notification.sent_at is None else _utc(notification.sent_at),
        )


class IncidentDetail(IncidentOut):
    notifications: list[NotificationOut] = Field(description="oldest first")


class IncidentPage(BaseModel):
    items: list[IncidentOut] = Field(description="newest first")
    total: int
    limit: int
    offset: int
    state: Literal["open", "all"]


class WindowIn(BaseModel):
    """A maintenance window: once (`starts_at`) or recurring (`cron` read in `timezone`), each
    occurrence lasting `duration` seconds; incidents are recorded but nobody is told."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"starts_at": "2030-05-10T02:00:00Z", "duration": 3600, "note": "db upgrade"},
                {
                    "monitor_id": 3,
                    "cron": "0 2 * * SUN",
                    "timezone": "Europe/Paris",
                    "duration": 7200,
                },
            ]
        },
    )

    monitor_id: int | None = Field(
        None, ge=1, le=2**31 - 1, description="the monitor; null: every monitor"
    )
    starts_at: AwareDatetime | None = Field(
        None, description="a one-off window's start (ISO 8601 with an offset or Z)"
    )
    timezone: str = Field(
        "UTC", min_length=1, max_length=64, description="IANA time zone the cron is read in"
    )
    cron: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_CRON_LENGTH,
        description='a recurring window\'s starts, 5 cron fields ("0 2 * * SUN")',
    )
    duration: int = Field(ge=60, le=MAX_WINDOW_S, description="seconds each occurrence lasts")
    note: str = Field("", max_length=MAX_NOTE_LENGTH, description="why, for whoever reads it")

    @field_validator("starts_at")
    @classmethod
    def _starts_at(cls, value: datetime | None) -> datetime | None:
        if value is not None and not _EARLIEST <= value < _LATEST:
            raise ValueError("must be between 1970 and 2200")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        check_timezone(value)
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None, info: ValidationInfo) -> str | None:
        timezone = info.data.get("timezone")
        if value is not None and timezone is not None:  # a bad time zone is said on its own
            check_cron(value, timezone)
        return value

    @field_validator("note")
    @classmethod
    def _note(cls, value: str) -> str:
        if not all(c.isprintable() or c in "\n\t" for c in value):
            raise ValueError("must be printable characters")
        return value

    @model_validator(mode="after")
    def _one_schedule(self) -> WindowIn:
        if (self.starts_at is None) == (self.cron is None):
            raise ValueError(
                "give exactly one of starts_at (a one-off window) and cron (a recurring one)"
            )
        return self


class WindowOut(BaseModel):
    id: int
    monitor_id: int | None = Field(description="null: every monitor")
    starts_at: datetime | None = Field(description="a one-off window's start; null if recurring")
    cron: str | None = Field(description="a recurring window's cron; null if one-off")
    timezone: str
    duration: int = Field(description="seconds each occurrence lasts")
    note: str
    created_at: datetime
    active: bool = Field(description="now inside an occurrence")
    ends_at: datetime | None = Field(description="while active: when this occurrence ends")
    next_start: datetime | None = Field(
        description="the next occurrence's start; null when none is left"
    )

    @classmethod
    def of(
        cls, window: MaintenanceWindow, ends_at: float | None, next_start: float | None
    ) -> WindowOut:
        """`ends_at`: the end of the occurrence under way (None: not active now)."""
        return cls(
            id=window.id,
            monitor_id=window.monitor_id,
            starts_at=None if window.starts_at is None else _utc(window.starts_at),
            cron=window.cron,
            timezone=window.timezone,
            duration=window.duration,
            note=window.note,
            created_at=_utc(window.created_at),
            active=ends_at is not None,
            ends_at=None if ends_at is None else _utc(ends_at),
            next_start=None if next_start is None else _utc(next_start),
        )


class WindowPage(BaseModel):
    items: list[WindowOut]
    total: int


class StreamOut(BaseModel):
    region: str
    length: int = Field(description="shards in the region's stream: waiting or being worked on")
    lag: int = Field(description="shards no worker has taken yet")
    pending: int = Field(description="shards taken and not yet acknowledged")


class PlanSlotOut(BaseModel):
    slot: datetime = Field(description="the slot's start; a slot is one minute")
    state: SlotState
    shards: int
    monitors: int
    planned_at: datetime
    deadline_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, slot: PlanSlot) -> PlanSlotOut:
        return cls(
            slot=_utc(slot.slot_ms / 1000),
            state=slot.state,
            shards=slot.shards,
            monitors=slot.monitors,
            planned_at=_utc(slot.planned_at / 1000),
            deadline_at=_utc(slot.deadline_at / 1000),
            finished_at=None if slot.finished_at is None else _utc(slot.finished_at / 1000),
        )


class FleetOut(BaseModel):
    region: str = Field(description="this API process's REGION")
    regions: list[str] = Field(description="every known region (REGIONS)")
    streams: list[StreamOut] | None = Field(
        description="each region's shard stream; null where there is no Redis (embedded)"
    )
    dead_letters: int | None = Field(description="shards given up after MAX_DELIVERIES")
    slots: dict[SlotState, int] = Field(description="the planner's slots by state")
    recent_slots: list[PlanSlotOut] = Field(description="the newest slots, newest first")
