"""`GET /status`: whether this API replica can serve, for the load balancer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ...errors import Unavailable
from ..deps import ServicesDep
from ..schemas import Health

router = APIRouter(tags=["health"])

# Seconds each backend has to answer: a load balancer's health check must not hang.
PING_TIMEOUT_S = 2.0


async def _ping(name: str, ping: Awaitable[None]) -> str | None:
    """None when it answered, else why not."""
    try:
        async with asyncio.timeout(PING_TIMEOUT_S):
            await ping
    except TimeoutError:
        return f"{name} did not answer within {PING_TIMEOUT_S:g} s"
    except Unavailable as exc:
        return str(exc)
    return None


@router.get(
    "/status",
    response_model=Health,
    responses={503: {"model": Health, "description": "the database or the cache is down"}},
    summary="Health of the database and the cache",
)
async def status(services: ServicesDep) -> JSONResponse:
    database, cache = await asyncio.gather(
        _ping("database", services.storage.ping()), _ping("cache", services.cache.ping())
    )
    problems = [p for p in (database, cache) if p]
    body = Health(
        status="unavailable" if problems else "ok",
        database="down" if database else "ok",
        cache="down" if cache else "ok",
        detail="; ".join(problems) or None,
    )
    return JSONResponse(body.model_dump(), status_code=503 if problems else 200)
