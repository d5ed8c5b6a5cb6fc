"""The public shape of the API: request and response bodies, documented in the OpenAPI schema."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class MonitorIn(BaseModel):
    """A URL to monitor."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "a", "url": "http://www.a.com"}]},
    )

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, description="printable characters")
    url: str = Field(
        min_length=1, max_length=MAX_URL_LENGTH, description="absolute http:// or https:// URL"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_name(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return validate_url(value)


class MonitorOut(BaseModel):
    id: int
    name: str
    url: str
    created_at: datetime
    state: Literal["pending", "active"] = Field(
        description="pending: accepted, probed from the next cycle on; active: probed every cycle"
    )

    @classmethod
    def of(cls, monitor: Monitor) -> MonitorOut:
        return cls(
            id=monitor.id,
            name=monitor.name,
            url=monitor.url,
            created_at=_utc(monitor.created_at),
            state="active" if monitor.state is MonitorState.ACTIVE else "pending",
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

    @classmethod
    def of(cls, check: Check) -> CheckOut:
        return cls(
            checked_at=_utc(check.checked_at),
            status=check.status,
            http_status=check.http_status,
            latency_ms=check.latency_ms,
            cause=check.cause,
        )


class StatusCounts(BaseModel):
    success: int
    fail: int

    @classmethod
    def of(cls, counts: Counts) -> StatusCounts:
        return cls(success=counts.success, fail=counts.fail)


class WindowCounts(BaseModel):
    hour: StatusCounts
    week: StatusCounts
    month: StatusCounts


class MonitorDetail(MonitorOut):
    checks: list[CheckOut] = Field(description="the newest checks first, at most 20")
    counts: WindowCounts = Field(description="checks in the past hour, 7 days and 30 days")


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
    id: int = Field(description="id of the monitor that already has this URL")


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(ErrorBody):
    errors: list[FieldError]
