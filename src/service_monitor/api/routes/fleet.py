"""`/fleet`: how the fleet of probers is doing, for an operator and the dashboard: each region's
shard stream, the dead letters, and the planner's newest slots."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...metrics.fleet import ShardDepths, read_fleet
from ..deps import ServicesDep
from ..errors import INVALID, UNAVAILABLE
from ..schemas import FleetOut, PlanSlotOut, StreamOut

reads = APIRouter(tags=["fleet"])


@reads.get(
    "/fleet",
    response_model=FleetOut,
    responses={**INVALID, **UNAVAILABLE},
    summary="The fleet's shard streams and the planner's slots",
)
async def fleet(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="slots, newest first")] = 10,
) -> FleetOut:
    """The streams are read from Redis (null on the embedded default, which has none, or when
    Redis does not answer); the slots from the store (503 when it is down)."""
    settings = services.settings
    queue = services.shard_queue
    read = await read_fleet(
        services.storage, queue if isinstance(queue, ShardDepths) else None, settings.REGIONS
    )
    streams = None
    if read.streams is not None:
        streams = [
            StreamOut(region=region, length=length, lag=lag, pending=pending)
            for region, (length, lag, pending) in read.streams.items()
        ]
    return FleetOut(
        region=settings.REGION,
        regions=list(settings.REGIONS),
        streams=streams,
        dead_letters=read.dead_letters,
        slots=read.slots,
        recent_slots=[
            PlanSlotOut.of(slot) for slot in await services.storage.recent_plan_slots(limit)
        ],
    )
