"""The public shape of the API: request and response bodies, documented in the OpenAPI schema."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

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


# Fields a PATCH may change, in the order `changed` lists them.
PATCH_FIELDS = ("name", "url", "request", "assertions", "degraded_after_ms", "owner")
ChangedField = Literal["name", "url", "request", "assertions", "degraded_after_ms", "owner"]


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

    @classmethod
    def of(cls, monitor: Monitor) -> MonitorOut:
        return cls(**monitor_fields(monitor))


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


def monitor_fields(monitor: Monitor) -> dict[str, Any]:
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


class MonitorDetail(MonitorOut):
    checks: list[CheckOut] = Field(description="the newest checks first, at most 20")
    counts: WindowCounts = Field(description="checks in the past hour, 7 days and 30 days")
    tls_days_left: int | None = Field(
        description="whole days until the certificate of the newest https answer expires"
        " (negative: expired); null when no recent check saw one"
    )


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


class OverviewPage(BaseModel):
    items: list[OverviewItem]
    total: int = Field(description="monitors matching `q` (all monitored URLs without it)")
    limit: int
    offset: int
    q: str | None


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
