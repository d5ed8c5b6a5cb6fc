"""`/cycles/latest`: when the compute last finished a cycle, so a page knows when to refresh."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from ..deps import ServicesDep
from ..errors import NOT_FOUND, UNAVAILABLE
from ..schemas import CycleOut

reads = APIRouter(tags=["cycles"])


@reads.get(
    "/cycles/latest",
    response_model=CycleOut,
    responses={**NOT_FOUND, **UNAVAILABLE},
    summary="The newest cycle record",
)
async def latest(services: ServicesDep) -> CycleOut:
    """The record that finished last, whatever its outcome (a skip included); 404 before the
    first. The dashboard polls it and refreshes when `finished_at` changes."""
    last = (await services.storage.cycle_totals()).last
    if last is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no cycle has finished yet")
    return CycleOut.of(last)
