"""What the routes are handed: the services built once per app, reached through FastAPI dependencies."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from ..cache import CacheBackend
from ..config import Settings
from ..stats import Stats
from ..storage import Storage


@dataclass
class Services:
    settings: Settings
    storage: Storage
    cache: CacheBackend
    clock: Callable[[], float] = time.time
    stats: Stats = field(init=False)

    def __post_init__(self) -> None:
        self.stats = Stats(
            self.storage,
            self.cache,
            max_age=self.settings.CACHE_MAX_AGE,
            clock=self.clock,
            local_ttl=self.settings.CACHE_LOCAL_TTL,
        )


async def _services(request: Request) -> Services:
    # async: FastAPI would run a plain function in a worker thread, a thread hop per request.
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]
