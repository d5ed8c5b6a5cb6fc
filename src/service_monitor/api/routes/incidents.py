"""`/incidents` and `/urls/{id}/incidents`: the times monitors were down, open ones first of
interest, each with the notifications it queued and how their delivery went."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from ...alerts import Incident
from ...errors import MonitorNotFound
from ...models import Monitor
from ...services import Services
from ..deps import ServicesDep
from ..errors import INVALID, NOT_FOUND, UNAVAILABLE
from ..params import MonitorId, OffsetParam
from ..schemas import (
    IncidentDetail,
    IncidentOut,
    IncidentPage,
    NotificationOut,
    as_response,
    incident_fields,
)

reads = APIRouter(tags=["incidents"])

MAX_NOTIFICATIONS = 1000  # an incident's DOWN, RESOLVED and reminders, per channel: far fewer
IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the incident's id")]
LimitParam = Annotated[int, Query(ge=1, le=1000, description="incidents per page")]
StateParam = Annotated[
    Literal["open", "all"], Query(description="open: only those not resolved; all: every one")
]


async def _monitors(services: Services, incidents: Sequence[Incident]) -> dict[int, Monitor]:
    """The monitors of `incidents` that are still monitored (a deleted one is left out)."""
    ids = sorted({incident.monitor_id for incident in incidents})

    async def one(monitor_id: int) -> Monitor | None:
        try:
            return await services.monitors.get_monitor(monitor_id)
        except MonitorNotFound:
            return None

    found = await asyncio.gather(*(one(i) for i in ids))
    return {m.id: m for m in found if m is not None}


async def _page(
    services: Services,
    state: Literal["open", "all"],
    limit: int,
    offset: int,
    monitor_id: int | None = None,
) -> Response:
    incidents, total = await services.health.incidents(
        open_only=state == "open", limit=limit, offset=offset, monitor_id=monitor_id
    )
    monitors = await _monitors(services, incidents)
    now = services.clock()
    items = [IncidentOut.of(i, monitors.get(i.monitor_id), now) for i in incidents]
    page = IncidentPage(items=items, total=total, limit=limit, offset=offset, state=state)
    return as_response(page)


@reads.get(
    "/incidents",
    response_model=IncidentPage,
    responses={**INVALID, **UNAVAILABLE},
    summary="List incidents: open ones, or all",
)
async def list_incidents(
    services: ServicesDep,
    state: StateParam = "open",
    limit: LimitParam = 100,
    offset: OffsetParam = 0,
) -> Response:
    """Newest first; `total` counts those matching `state`. An incident opens when a monitor's
    failed checks reach its failure threshold (`started_at` is the first of them) and resolves
    when its successes reach its success threshold. `monitor_name` and `url` are null once the
    monitor is deleted. Incidents are kept as long as the rollups (ROLLUP_RETENTION_DAYS)."""
    return await _page(services, state, limit, offset)


@reads.get(
    "/urls/{monitor_id}/incidents",
    response_model=IncidentPage,
    responses={**NOT_FOUND, **INVALID, **UNAVAILABLE},
    summary="One monitor's incidents",
)
async def monitor_incidents(
    services: ServicesDep,
    monitor_id: MonitorId,
    state: StateParam = "all",
    limit: LimitParam = 100,
    offset: OffsetParam = 0,
) -> Response:
    """The monitor's incidents, newest first (all of them unless `state=open`)."""
    await services.monitors.get_monitor(monitor_id)  # 404 for an unknown or deleted monitor
    return await _page(services, state, limit, offset, monitor_id)


@reads.get(
    "/incidents/{incident_id}",
    response_model=IncidentDetail,
    responses={**NOT_FOUND, **INVALID, **UNAVAILABLE},
    summary="One incident and its notifications",
)
async def get_incident(services: ServicesDep, incident_id: IncidentId) -> Response:
    """The incident, and each notification it queued (oldest first): its kind (down, resolved,
    reminder), channel, delivery state, attempts, last error and when it was sent. A
    notification held by the storm guard or a maintenance window is `held`; one sent inside a
    digest is `merged`; one no longer to send (resolved while held, channel deleted) is
    `dropped`, with why in `last_error`."""
    incident = await services.health.get_incident(incident_id)
    (notifications, _), channels, monitors = await asyncio.gather(
        services.outbox.notifications(limit=MAX_NOTIFICATIONS, offset=0, incident_id=incident_id),
        services.channels.list_channels(),
        _monitors(services, [incident]),
    )
    by_id = {channel.id: channel for channel in channels}
    detail = IncidentDetail(
        **incident_fields(incident, monitors.get(incident.monitor_id), services.clock()),
        notifications=[
            NotificationOut.of(n, by_id.get(n.channel_id)) for n in reversed(notifications)
        ],
    )
    return as_response(detail)
