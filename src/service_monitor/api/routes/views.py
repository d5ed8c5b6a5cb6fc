"""`/urls/overview` and `/urls/{id}/history`: the dashboard's reads, each sized to one screen.

A page of the overview costs the same at 100 and at 100,000 monitors: the monitors on it, their
newest check, and their hourly buckets from the rollups (storage/history.py). Only the search and
the total count look at every monitor's name and URL.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from ...alerts import Health
from ...models import Bucket, Status
from ..deps import ServicesDep
from ..errors import INVALID, NOT_FOUND, UNAVAILABLE
from ..monitor_alerting import alerting_of
from ..monitor_schedule import region_filter, schedule_defaults
from ..params import MonitorId, OffsetParam, RegionParam, SearchParam
from ..schemas import (
    CheckOut,
    HealthCounts,
    History,
    HistoryBucket,
    OverviewItem,
    OverviewPage,
    StripBucket,
    Uptime,
    as_response,
    monitor_fields,
    tls_days_left,
)

reads = APIRouter(tags=["dashboard"])

HOUR_S = 3600
DAY_S = 24 * HOUR_S
STRIP_HOURS = 24
MONTH_HOURS = 30 * 24
RECENT_FAILURES = 20
HistorySpan = Literal["day", "week", "month"]
# span -> (bucket length in seconds, buckets): the current hour or day is the last bucket.
SPANS: dict[str, tuple[int, int]] = {
    "day": (HOUR_S, 24),
    "week": (HOUR_S, 7 * 24),
    "month": (DAY_S, 30),
}


def bucket_bounds(now: float, bucket_s: int, buckets: int) -> list[float]:
    """The bounds of `buckets` whole buckets of `bucket_s` seconds (UTC), the last holding now."""
    end = (int(now) // bucket_s + 1) * bucket_s
    return [float(end - (buckets - i) * bucket_s) for i in range(buckets + 1)]


@reads.get(
    "/urls/overview",
    response_model=OverviewPage,
    responses={**INVALID, **UNAVAILABLE},
    summary="A page of monitors with their last check, uptime and 24-hour strip",
)
async def overview(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100, description="monitors per page")] = 25,
    offset: OffsetParam = 0,
    q: SearchParam = None,
) -> Response:
    """Monitors by id. `uptime.day` and `strip` cover the 24 hourly buckets ending with the current
    hour, `uptime.month` the 720 hours ending with it; counts are exact to the check.
    `tls_days_left` is from the last check; secret header values are shown as "<redacted>".
    `health` counts every monitored URL by health, and `incidents_open` the incidents open now."""
    monitors, total = await services.monitors.list_monitors(limit, offset, q or None)
    ids = [m.id for m in monitors]
    # One extra bound in front: the first bucket is the month before the strip's 24 hours.
    now = services.clock()
    strip = bucket_bounds(now, HOUR_S, STRIP_HOURS)
    bounds = [strip[-1] - MONTH_HOURS * HOUR_S, *strip]
    checks = services.checks
    last, buckets, alerting, counts, (_, incidents_open) = await asyncio.gather(
        checks.last_checks(ids),
        checks.history(ids, bounds),
        alerting_of(services, ids),
        services.health.health_counts(),
        services.health.incidents(open_only=True, limit=1, offset=0),
    )
    items = []
    defaults = schedule_defaults(services.settings)
    for monitor in monitors:
        series = buckets[monitor.id]
        day = sum(series[1:], Bucket())
        check = last.get(monitor.id)
        items.append(
            OverviewItem(
                **monitor_fields(monitor, alerting[monitor.id], defaults),
                last_check=CheckOut.of(check) if check else None,
                uptime=Uptime.of(day, day + series[0]),
                strip=[StripBucket.of(t, b) for t, b in zip(strip, series[1:], strict=False)],
                tls_days_left=tls_days_left([check] if check else [], now),
            )
        )
    health = HealthCounts(**{state.value: counts.get(state, 0) for state in Health})
    page = OverviewPage(
        items=items,
        total=total,
        limit=limit,
        offset=offset,
        q=q,
        health=health,
        incidents_open=incidents_open,
    )
    return as_response(page)


@reads.get(
    "/urls/{monitor_id}/history",
    response_model=History,
    responses={**NOT_FOUND, **INVALID, **UNAVAILABLE},
    summary="One monitor's checks over a day, a week or a month, and its recent failures",
)
async def history(
    services: ServicesDep,
    monitor_id: MonitorId,
    span: Annotated[
        HistorySpan, Query(description="day: 24 hourly buckets; week: 168; month: 30 daily")
    ] = "day",
    region: RegionParam = None,
) -> History:
    """Buckets oldest first, the last holding now; exact to the check, from the hourly rollups.
    With `region` (one of REGIONS, else 422), the buckets and failures of that region's checks
    only (counted from the raw checks)."""
    wanted = region_filter(services.settings, region)
    await services.monitors.get_monitor(monitor_id)  # 404 for an unknown or deleted monitor
    bucket_s, count = SPANS[span]
    bounds = bucket_bounds(services.clock(), bucket_s, count)
    series, failures = await asyncio.gather(
        services.checks.history([monitor_id], bounds, region=wanted),
        services.checks.recent_checks(
            monitor_id, RECENT_FAILURES, status=Status.FAIL, since=bounds[0], region=wanted
        ),
    )
    return History(
        id=monitor_id,
        span=span,
        bucket_seconds=bucket_s,
        buckets=[HistoryBucket.of(t, b) for t, b in zip(bounds, series[monitor_id], strict=False)],
        failures=[CheckOut.of(c) for c in failures],
        region=wanted,
    )
