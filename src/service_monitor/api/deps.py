"""How a route reaches the services its app serves (`services.Services`): a FastAPI dependency on
what the app's lifespan, or a test, put in `app.state.services`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..services import Services


async def _services(request: Request) -> Services:
    # async: FastAPI would run a plain function in a worker thread, a thread hop per request.
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]

__all__ = ["ServicesDep"]
