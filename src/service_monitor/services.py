"""What every process of the service runs on, built once: the settings, the store, the cache, and
the statistics served from them.

The API's routes reach it through `api/deps.py`; the compute worker and the commands are handed the
same object by the composition root (`assembly.py`). A test builds one on the backend it wants.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from .cache import CacheBackend
from .config import Settings
from .startup import open_backends
from .stats import Stats
from .storage import (
    ChannelStore,
    CheckStore,
    CycleStore,
    HealthStore,
    MonitorStore,
    OutboxStore,
    ScheduleStore,
    Storage,
    WindowStore,
)


@dataclass
class Services:
    settings: Settings
    storage: Storage
    cache: CacheBackend
    clock: Callable[[], float] = time.time  # seconds since the epoch, UTC
    stats: Stats = field(init=False)
    # The fleet's queue of shards when this process has one open (an API beside Redis, serve):
    # /metrics reads its depth. Set by the composition root; typed loosely, as the queue lives
    # above this module (fleet/).
    shard_queue: object | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.stats = Stats(
            self.storage,
            self.cache,
            max_age=self.settings.CACHE_MAX_AGE,
            clock=self.clock,
            local_ttl=self.settings.CACHE_LOCAL_TTL,
        )

    # The store by the role a caller uses, so a route or a command says which part it reads.
    @property
    def monitors(self) -> MonitorStore:
        return self.storage

    @property
    def checks(self) -> CheckStore:
        return self.storage

    @property
    def cycles(self) -> CycleStore:
        return self.storage

    # Alerting's roles (issue 16).
    @property
    def health(self) -> HealthStore:
        return self.storage

    @property
    def channels(self) -> ChannelStore:
        return self.storage

    @property
    def outbox(self) -> OutboxStore:
        return self.storage

    @property
    def windows(self) -> WindowStore:
        return self.storage

    # The fleet's (issue 17): each monitor's interval and regions.
    @property
    def schedule(self) -> ScheduleStore:
        return self.storage

    async def close(self) -> None:
        """Close the cache, then the store (the reverse of their opening)."""
        try:
            await self.cache.close()
        finally:
            await self.storage.close()


@asynccontextmanager
async def open_services(
    settings: Settings, *, clock: Callable[[], float] = time.time
) -> AsyncIterator[Services]:
    """The services on the configured backends, waited for up to STARTUP_TIMEOUT (raises
    StartupFailed, with nothing left open), and closed when the block ends."""
    storage, cache = await open_backends(settings)
    services = Services(settings, storage, cache, clock=clock)
    try:
        yield services
    finally:
        await services.close()
