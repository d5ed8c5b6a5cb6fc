"""The fleet's long-running processes on opened services: the planner's loop (a tick a minute)
and a worker until SIGTERM; the composition root (assembly.py) opens what they are handed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from ..config import Settings
from ..due import SLOT_MS
from ..errors import Unavailable
from ..services import Services
from .planner import Planned, Planner, emf_lines
from .queue import ShardQueue
from .worker import FleetWorker

log = logging.getLogger(__name__)


def planner_for(services: Services, queue: ShardQueue) -> Planner:
    return Planner(
        services.storage,
        queue,
        services.cache,
        services.settings,
        clock=services.clock,
        stats=services.stats,
    )


async def plan_once(
    services: Services,
    queue: ShardQueue,
    *,
    work: bool,
    emf: Callable[[str], None] | None = None,
) -> Planned | None:
    """One tick (`plan --once`, the EventBridge rule's task). With `work`, also probe the slot's
    shards in this process until none is outstanding or its deadline passes, then finish it: the
    fleet's one-shot mode, which needs no worker service."""
    planner = planner_for(services, queue)
    planned = await planner.tick()
    if planned is not None and work:
        slot = planned.slot_ms
        settings = services.settings
        deadline = time.monotonic() + SLOT_MS / 1000 + 2 * settings.SHARD_DEADLINE
        done = asyncio.Event()
        worker = FleetWorker(services.storage, queue, settings, wait_for_due=False)

        async def watch() -> None:
            while time.monotonic() < deadline:
                if await queue.outstanding(slot) in (0, None):
                    break
                await asyncio.sleep(0.2)
            done.set()

        watcher = asyncio.create_task(watch())
        await worker.run(until=done.is_set)
        await watcher
        planned = await planner.tick(plan=False) or planned
    await _print_emf(queue, services.settings, emf)
    return planned


async def plan_forever(
    services: Services,
    queue: ShardQueue,
    stop: asyncio.Event,
    *,
    emf: Callable[[str], None] | None = None,
) -> None:
    """A tick at the start of every minute until `stop`; a tick that fails is logged, and the
    next one tries again."""
    planner = planner_for(services, queue)
    while not stop.is_set():
        try:
            await planner.tick()
            await _print_emf(queue, services.settings, emf)
        except Unavailable as exc:
            log.error("planner tick failed: %s", exc)
        wait = (SLOT_MS - round(time.time() * 1000) % SLOT_MS) / 1000
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)


async def _print_emf(
    queue: ShardQueue, settings: Settings, emf: Callable[[str], None] | None
) -> None:
    """The queue's depth as CloudWatch EMF lines, to `emf` (`plan --emf`: print)."""
    if emf is not None:
        for line in await emf_lines(queue, settings.REGIONS, round(time.time() * 1000)):
            emf(line)


async def work_until(
    services: Services, queue: ShardQueue, stop: asyncio.Event, *, consumer: str | None = None
) -> FleetWorker:
    """A worker until `stop`: it stops taking shards, lets those in hand finish, and returns."""
    worker = FleetWorker(services.storage, queue, services.settings, consumer=consumer)

    async def stopper() -> None:
        await stop.wait()
        worker.stopping.request()

    stopping = asyncio.create_task(stopper())
    try:
        await worker.run()
    finally:
        stopping.cancel()
    return worker
