"""`/cycles`: the compute's newest cycles, so a page knows when to refresh and an operator sees
how the last ones went."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..deps import ServicesDep
from ..errors import INVALID, UNAVAILABLE
from ..schemas import CycleOut

reads = APIRouter(tags=["cycles"])


@reads.get(
    "/cycles",
    response_model=list[CycleOut],
    responses={**INVALID, **UNAVAILABLE},
    summary="The newest cycle records",
)
async def recent(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="records, newest first")] = 20,
) -> list[CycleOut]:
    """Every outcome (a skip included), newest first by when they finished; an empty list before
    the first. The dashboard polls `?limit=1` and refreshes when the newest one changes."""
    return [CycleOut.of(record) for record in await services.cycles.recent_cycles(limit)]
