"""`/urls`: the seed's statistics (top lists, summary), adding URLs, and managing monitors."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.responses import JSONResponse

from ...errors import CacheUnavailable
from ...models import Span, Status
from ...stats import Served
from ..deps import ServicesDep
from ..errors import BODY_ERRORS, CONFLICT, INVALID, NOT_FOUND, UNAVAILABLE
from ..params import CacheParam, MonitorId, OffsetParam, SearchParam
from ..schemas import (
    CheckOut,
    MonitorDetail,
    MonitorIn,
    MonitorOut,
    MonitorPage,
    StatusCounts,
    SummaryItem,
    TopItem,
    WindowCounts,
)

log = logging.getLogger(__name__)
# Two routers, so create_app puts the key check on writes (when API_KEYS is set) and on reads only
# with READ_AUTH; the OpenAPI schema then shows exactly what this deployment asks for.
reads = APIRouter(tags=["urls"])
writes = APIRouter(tags=["urls"])

RECENT_CHECKS = 20
_CACHE_HEADERS = {
    "cached": {"description": "true when served from the cache", "schema": {"type": "string"}},
    "Age": {"description": "seconds since the result was computed", "schema": {"type": "integer"}},
}


def served_response(served: Served) -> Response:
    return Response(
        content=served.body,
        media_type="application/json",
        headers={"cached": "true" if served.cached else "false", "Age": str(served.age)},
    )


@reads.get(
    "/urls/top/{status}/{timespan}",
    response_model=list[TopItem],
    responses={200: {"headers": _CACHE_HEADERS}, **INVALID, **UNAVAILABLE},
    summary="Top 10 URLs by successful or failed checks",
)
async def top(
    services: ServicesDep,
    status: Annotated[Status, Path(description="success or fail")],
    timespan: Annotated[Span, Path(description="hour, week or month: the past 1 h, 7 d or 30 d")],
    cache: CacheParam = True,
) -> Response:
    """The 10 URLs with the most checks of `status` in the sliding window, most first; among
    equal counts, the URL monitored longest (lowest id) first. URLs with no such check are left
    out; deleted monitors are not listed."""
    return served_response(await services.stats.top(status, timespan, use_cache=cache))


@reads.get(
    "/urls/summary",
    response_model=list[SummaryItem],
    responses={200: {"headers": _CACHE_HEADERS}, **INVALID, **UNAVAILABLE},
    summary="Successful and failed checks in the past 30 days",
)
@reads.get("/urls/summary/", include_in_schema=False)
async def summary(services: ServicesDep, cache: CacheParam = True) -> Response:
    """Both entries are always present, success first."""
    return served_response(await services.stats.summary(use_cache=cache))


@writes.post(
    "/urls/",
    status_code=status.HTTP_201_CREATED,
    response_model=MonitorOut,
    responses={**BODY_ERRORS, **CONFLICT, **INVALID, **UNAVAILABLE},
    summary="Add a URL to monitor",
)
@writes.post("/urls", status_code=status.HTTP_201_CREATED, include_in_schema=False)
async def add_url(services: ServicesDep, monitor_in: MonitorIn) -> JSONResponse:
    """Stores the monitor (state `pending`) and queues it; the next cycle starts probing it.

    The same URL again answers 409 with the existing monitor's id. URLs are compared after
    lower-casing scheme and host and dropping a default port and the fragment.

    A literal internal address (loopback, private, link-local...) answers 422 unless the SSRF
    guard is opened (ALLOW_PRIVATE_TARGETS, ALLOWED_TARGET_NETWORKS); a name is checked when
    probed, on every address it resolves to.
    """
    from ...guard import policy_for

    # The policy is built once per guard setting; its TargetRefused answers 422 (api/errors.py).
    policy_for(services.settings).check_url(monitor_in.url)
    monitor = await services.monitors.add_monitor(monitor_in.name, monitor_in.url, services.clock())
    try:
        await services.cache.push(monitor.id)
    except CacheUnavailable as exc:
        # Not lost: the monitor is stored as pending, and every cycle activates pending monitors.
        log.warning(
            "monitor %d stored but not queued, the next cycle takes it in: %s", monitor.id, exc
        )
    body = MonitorOut.of(monitor)
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/urls/{monitor.id}"},
    )


@reads.get(
    "/urls",
    response_model=MonitorPage,
    responses={**INVALID, **UNAVAILABLE},
    summary="List the monitored URLs",
)
@reads.get("/urls/", include_in_schema=False)
async def list_urls(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="monitors per page")] = 100,
    offset: OffsetParam = 0,
    q: SearchParam = None,
) -> MonitorPage:
    """Monitored (not deleted) URLs by id; `total` counts them all (those matching `q`, with it).
    The text is matched case-insensitively, `%` and `_` as themselves."""
    monitors, total = await services.monitors.list_monitors(limit, offset, q or None)
    return MonitorPage(
        items=[MonitorOut.of(m) for m in monitors], total=total, limit=limit, offset=offset
    )


@reads.get(
    "/urls/{monitor_id}",
    response_model=MonitorDetail,
    responses={**NOT_FOUND, **INVALID, **UNAVAILABLE},
    summary="One monitor, its recent checks and its counts",
)
async def get_url(services: ServicesDep, monitor_id: MonitorId) -> MonitorDetail:
    monitor = await services.monitors.get_monitor(monitor_id)
    now = services.clock()
    spans = (Span.HOUR, Span.WEEK, Span.MONTH)
    checks, counts = await asyncio.gather(
        services.checks.recent_checks(monitor_id, RECENT_CHECKS),
        services.checks.monitor_counts(monitor_id, [now - span.seconds for span in spans]),
    )
    hour, week, month = (StatusCounts.of(c) for c in counts)
    return MonitorDetail(
        **MonitorOut.of(monitor).model_dump(),
        checks=[CheckOut.of(c) for c in checks],
        counts=WindowCounts(hour=hour, week=week, month=month),
    )


@writes.delete(
    "/urls/{monitor_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **INVALID, **UNAVAILABLE},
    summary="Stop monitoring a URL",
)
async def delete_url(services: ServicesDep, monitor_id: MonitorId) -> Response:
    """It is no longer probed nor listed; its checks stay until retention removes them."""
    await services.monitors.delete_monitor(monitor_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
