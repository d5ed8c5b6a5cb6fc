"""`/maintenance`: the windows in which incidents are still recorded but nobody is told (one-off or
on a cron in a time zone, for one monitor or all), each shown with whether it is active now and
when it next starts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ...alerting.maintenance import check_cron, window_end
from ...alerts import MaintenanceWindow
from ...errors import MonitorNotFound
from ..deps import ServicesDep
from ..errors import BODY_ERRORS, INVALID, NOT_FOUND, UNAVAILABLE
from ..schemas import WindowIn, WindowOut, WindowPage, as_response

log = logging.getLogger(__name__)
reads = APIRouter(tags=["maintenance"])
writes = APIRouter(tags=["maintenance"])

WindowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the window's id")]


def next_start(window: MaintenanceWindow, now: float) -> float | None:
    """When the window's next occurrence starts after `now`; None when none is left."""
    if window.cron is None:
        starts = window.starts_at
        return starts if starts is not None and starts > now else None
    try:
        trigger = check_cron(window.cron, window.timezone)
    except ValueError:  # stored before the rules it breaks: it never starts
        return None
    moment = datetime.fromtimestamp(now, UTC)
    fire = trigger.get_next_fire_time(None, moment)
    while fire is not None and fire.timestamp() <= now:
        fire = trigger.get_next_fire_time(fire, fire)
    return None if fire is None else fire.timestamp()


def window_out(window: MaintenanceWindow, now: float) -> WindowOut:
    return WindowOut.of(window, window_end(window, now), next_start(window, now))


@writes.post(
    "/maintenance",
    status_code=status.HTTP_201_CREATED,
    response_model=WindowOut,
    responses={**BODY_ERRORS, **INVALID, **UNAVAILABLE},
    summary="Add a maintenance window",
)
async def add_window(services: ServicesDep, window_in: WindowIn) -> JSONResponse:
    """A one-off window (`starts_at` + `duration`) or a recurring one (`cron`, read in `timezone`,
    each occurrence lasting `duration` seconds), for one monitor (`monitor_id`) or all (null).

    Inside a window checks go on and incidents are recorded, but their DOWN and reminder
    notifications wait for the window's end: sent then if the incident is still open, else
    dropped with its RESOLVED. An unknown `monitor_id` is a 422 naming it.
    """
    starts_at = None if window_in.starts_at is None else window_in.starts_at.timestamp()
    try:
        window = await services.windows.add_window(
            monitor_id=window_in.monitor_id,
            starts_at=starts_at,
            cron=window_in.cron,
            timezone=window_in.timezone,
            duration=window_in.duration,
            note=window_in.note,
            now=services.clock(),
        )
    except MonitorNotFound as exc:
        error = {"loc": ("body", "monitor_id"), "msg": str(exc), "type": "monitor_not_found"}
        raise RequestValidationError([error]) from None
    log.info("maintenance window %d added", window.id)
    body = window_out(window, services.clock())
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/maintenance/{window.id}"},
    )


@reads.get(
    "/maintenance",
    response_model=WindowPage,
    responses={**INVALID, **UNAVAILABLE},
    summary="List the maintenance windows",
)
async def list_windows(
    services: ServicesDep,
    monitor_id: Annotated[
        int | None,
        Query(ge=1, le=2**31 - 1, description="only this monitor's windows and those of all"),
    ] = None,
) -> Response:
    """Every window by id, with `active` (an occurrence is under way: until `ends_at`) and
    `next_start`, the start of the next occurrence (null when a one-off window has begun)."""
    windows = await services.windows.list_windows(monitor_id)
    now = services.clock()
    items = [window_out(w, now) for w in windows]
    return as_response(WindowPage(items=items, total=len(items)))


@reads.get(
    "/maintenance/{window_id}",
    response_model=WindowOut,
    responses={**NOT_FOUND, **INVALID, **UNAVAILABLE},
    summary="One maintenance window",
)
async def get_window(services: ServicesDep, window_id: WindowId) -> Response:
    window = await services.windows.get_window(window_id)
    return as_response(window_out(window, services.clock()))


@writes.delete(
    "/maintenance/{window_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **INVALID, **UNAVAILABLE},
    summary="Delete a maintenance window",
)
async def delete_window(services: ServicesDep, window_id: WindowId) -> Response:
    """Deletes the window: it holds no notification from then on."""
    await services.windows.delete_window(window_id)
    log.info("maintenance window %d deleted", window_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
