"""Runs cycles for a process: once (the ECS scheduled task) or on an interval, never two at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from ..cache import URLQueue
from ..config import Settings
from ..errors import Unavailable
from ..storage import Storage
from .cycle import CycleReport, run_cycle
from .prober import open_probe_session

log = logging.getLogger(__name__)


class Compute:
    """Holds what a cycle is handed; each cycle opens its own probe session, so no connection
    or DNS answer outlives the cycle that made it."""

    def __init__(
        self,
        storage: Storage,
        queue: URLQueue,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.queue = queue
        self.settings = settings
        self.clock = clock
        self._running = asyncio.Lock()
        self._task: asyncio.Task[object] | None = None

    async def cycle(self) -> CycleReport:
        """Run one cycle; raises Unavailable when the database or the cache cannot be used."""
        async with self._running, open_probe_session(self.settings) as session:
            self._task = asyncio.current_task()
            return await run_cycle(
                self.storage, self.queue, session, self.settings, clock=self.clock
            )

    async def scheduled_cycle(self) -> None:
        """The scheduler's job: a cycle that cannot run is logged, and the next one tries again."""
        if self._running.locked():
            log.warning("cycle skipped: the previous cycle is still running")
            return
        try:
            await self.cycle()
        except Unavailable as exc:
            log.error("cycle failed: %s", exc)
        except Exception:
            log.exception("cycle failed")

    async def stop(self) -> None:
        """Abandon a running cycle; the batches it already wrote stay written."""
        task = self._task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def start_scheduler(compute: Compute, interval_s: float) -> AsyncIOScheduler:
    """Run a cycle now and then every `interval_s` seconds on the running event loop.

    max_instances=1 with coalesce: a cycle that overruns delays the next one, never stacks it.
    """
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        compute.scheduled_cycle,
        "interval",
        seconds=interval_s,
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, int(interval_s)),
        id="cycle",
    )
    scheduler.start()
    return scheduler
