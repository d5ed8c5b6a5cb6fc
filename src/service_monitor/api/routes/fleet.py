"""`/fleet`: how the fleet of probers is doing, for an operator and the dashboard: each region's
shard stream, the dead letters, and the planner's newest slots."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...errors import Unavailable
from ...metrics.fleet import ShardDepths
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
    store = services.storage
    slots, recent = await store.plan_slot_counts(), await store.recent_plan_slots(limit)
    queue = services.shard_queue
    streams: list[StreamOut] | None = None
    dead: int | None = None
    if isinstance(queue, ShardDepths):
        try:
            streams = []
            for region in settings.REGIONS:
                depth = await queue.depth(region)
                streams.append(
                    StreamOut(
                        region=region, length=depth.length, lag=depth.lag, pending=depth.pending
                    )
                )
            dead = await queue.dead_letters()
        except Unavailable:
            streams, dead = None, None
    return FleetOut(
        region=settings.REGION,
        regions=list(settings.REGIONS),
        streams=streams,
        dead_letters=dead,
        slots=slots,
        recent_slots=[PlanSlotOut.of(slot) for slot in recent],
    )
