"""Runs a dispatcher for as long as its process lives: HealthStore.reconcile once at start (open
incidents whose monitor recovered or was deleted while nobody ran are resolved and their RESOLVED
queued: the fix for Gatus #1111), then a tick every DISPATCH_INTERVAL seconds until stopped.

Where it runs, and why not in the compute: the compute's production shape is a one-shot ECS task
that exits after its cycle, so a dispatcher there could not retry a channel that is down for the
NOTIFY_RETRY_HOURS a notification is owed; the API processes (a long-lived ECS service, and
`serve`) run it when RUN_DISPATCHER=true, and `service-monitor dispatch` runs it alone. Leases in
the outbox make several at once safe (each API worker runs one). It needs only the store, so
alerts flow while the cache (Redis) is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from ..config import Settings
from ..errors import Unavailable
from .dispatcher import Dispatcher, DispatchStore, TickReport
from .sealing import sealer_for
from .senders import ChannelSender

log = logging.getLogger("service_monitor.alerting")

# Seconds past NOTIFY_TIMEOUT that `stop` waits for a tick's sends before it cancels them; a row
# cancelled mid-send is sent again when its lease ends (at least once).
STOP_MARGIN_S = 5.0


class DispatchLoop:
    """A dispatcher's ticks on its interval, on the running event loop. `start` it, `stop` it."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        interval: float,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.dispatcher = dispatcher
        self.interval = interval
        self.clock = clock
        self.reconciled = False
        self.ticks = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name="dispatcher")
        return self._task

    async def run(self) -> None:
        """Reconcile (until it succeeds), then tick, each DISPATCH_INTERVAL, until `stop`."""
        while not self._stopping.is_set():
            if not self.reconciled:
                await self._reconcile()
            if self.reconciled:
                await self._tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    async def _reconcile(self) -> None:
        try:
            resolved = await self.dispatcher.store.reconcile(self.clock())
        except Unavailable as exc:
            log.warning("reconcile at start not done (tried again next interval): %s", exc)
            return
        self.reconciled = True
        if resolved:
            log.info("reconciled at start: %d open incidents resolved and notified", resolved)

    async def _tick(self) -> TickReport | None:
        try:
            report = await self.dispatcher.tick(self.clock())
        except Unavailable as exc:
            log.warning("dispatch tick failed (the next one tries again): %s", exc)
            return None
        except Exception:
            log.exception("dispatch tick failed (the next one tries again)")
            return None
        self.ticks += 1
        if report:
            log.info(
                "dispatch: %d sent, %d to retry, %d failed, %d held, %d merged, %d dropped",
                report.sent,
                report.retried,
                report.failed,
                report.held,
                report.merged,
                report.dropped,
            )
        return report

    async def stop(self) -> None:
        """Stop after the tick under way (its sends get NOTIFY_TIMEOUT, then are cancelled)."""
        self._stopping.set()
        task = self._task
        if task is None or task.done():
            return
        limit = self.dispatcher.settings.NOTIFY_TIMEOUT + STOP_MARGIN_S
        done, _ = await asyncio.wait({task}, timeout=limit)
        if not done:
            log.warning("dispatcher did not stop within %g s: cancelled", limit)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@asynccontextmanager
async def dispatching(
    store: DispatchStore,
    settings: Settings,
    *,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[DispatchLoop]:
    """A dispatcher on `store` running on its interval for the block: its sender (Apprise's
    bounded thread pool, the webhook session) is made here and closed at the end."""
    sender = ChannelSender(settings, clock=clock)
    try:
        dispatcher = Dispatcher(store, sender, sealer_for(settings), settings)
        loop = DispatchLoop(dispatcher, settings.DISPATCH_INTERVAL, clock=clock)
        loop.start()
        try:
            yield loop
        finally:
            await loop.stop()
    finally:
        await sender.close()
