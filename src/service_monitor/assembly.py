"""The composition root: the one place that builds the service's parts from Settings (the services,
the compute worker, the API app, the notification dispatcher) and wires them together, so that every
entry point (`serve`, `api`, `compute`, `dispatch`, `import`, `cleanup`) asks here instead of
assembling them itself.

Nothing connects at import time; the API is imported only by what serves it, so the compute's
process never loads FastAPI.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, cast

from .compute.importer import import_monitors_csv
from .compute.schedule import start_scheduler
from .compute.worker import Compute
from .config import Settings
from .errors import Unavailable
from .fleet.queue import ShardQueue
from .guard import policy_for
from .services import Services, open_services
from .startup import StartupFailed, cache_address, open_store_with_retry, open_with_retry
from .storage import Storage

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .api.app import StartHook

__all__ = [
    "app_from_environment",
    "build_app",
    "build_compute",
    "open_services",
    "open_shard_queue",
    "open_store",
    "run_dispatcher",
    "wait_for_backends",
]


def build_compute(services: Services) -> Compute:
    """The compute worker on `services`: it refreshes their statistics after each cycle and adds
    its metrics to the cache's shared counters, where the API's /metrics reads them."""
    return Compute(
        services.storage,
        services.cache,
        services.settings,
        clock=services.clock,
        stats=services.stats,
        counters=services.cache,
    )


def build_app(
    settings: Settings,
    *,
    services: Services | None = None,
    run_compute: bool = False,
    data_path: Path | None = None,
    fleet: bool = False,
) -> FastAPI:
    """The API app; with `run_compute`, the same process also runs the cycles on their interval
    (`service-monitor serve`), importing the CSV at `data_path` first; with `fleet` too, it runs
    the fleet's planner every minute and a worker instead (`serve --fleet`), on Redis Streams
    when Redis is set (other workers may join) or in process. With RUN_DISPATCHER (the
    default) it also sends the outbox's notifications (alerting/running.py says why here and not
    in the compute)."""
    from .api.app import create_app

    hooks: list[StartHook] = []
    if settings.uses_redis or (run_compute and fleet):
        hooks.append(_shard_queue_beside_the_api)
    if run_compute:
        hooks.append(
            _fleet_beside_the_api(data_path) if fleet else _compute_beside_the_api(data_path)
        )
    if settings.RUN_DISPATCHER:
        hooks.append(_dispatcher_beside_the_api)
    return create_app(settings, services=services, on_start=hooks)


def app_from_environment() -> FastAPI:
    """`service-monitor api`'s app (a uvicorn factory, so each worker builds its own): the API with
    the dispatcher when RUN_DISPATCHER is true. A bad setting stops start-up with one line."""
    from .config import settings_or_exit
    from .logs import configure_logging

    settings = settings_or_exit()
    configure_logging(settings.LOG_LEVEL)
    return build_app(settings)


async def _shard_queue_beside_the_api(services: Services, stack: AsyncExitStack) -> None:
    """The fleet's queue, for /metrics to read its streams' depth (autoscaling follows the lag)."""
    services.shard_queue = await stack.enter_async_context(open_shard_queue(services.settings))


async def _dispatcher_beside_the_api(services: Services, stack: AsyncExitStack) -> None:
    """Send the outbox from this API process; stopped (its sends given NOTIFY_TIMEOUT) before the
    services close. It uses the store alone: alerts flow while the cache is down."""
    from .alerting.running import dispatching

    await stack.enter_async_context(
        dispatching(services.storage, services.settings, clock=services.clock)
    )


async def run_dispatcher(settings: Settings, stop: asyncio.Event) -> None:
    """`service-monitor dispatch`: the store alone (no cache), the dispatcher on its interval
    until `stop` is set. StartupFailed when the store stays unreachable past STARTUP_TIMEOUT."""
    from .alerting.running import dispatching

    async with open_store(settings) as storage, dispatching(storage, settings):
        await stop.wait()


def _compute_beside_the_api(data_path: Path | None) -> StartHook:
    async def start(services: Services, stack: AsyncExitStack) -> None:
        compute = build_compute(services)
        await _import_csv(services, data_path)
        scheduler = start_scheduler(compute, services.settings.CYCLE_INTERVAL)
        # Unwound last in, first out: the running cycle stops gracefully (no new probe,
        # SHUTDOWN_GRACE_SECONDS for those in flight, its checks stored and the cycle recorded),
        # and only then the scheduler, whose shutdown would cancel a running job; then the
        # services close.
        stack.callback(scheduler.shutdown, wait=False)
        stack.push_async_callback(compute.stop)

    return start


async def _import_csv(services: Services, data_path: Path | None) -> None:
    if data_path is None:
        return
    try:
        await import_monitors_csv(
            services.storage, data_path, services.clock(), policy_for(services.settings)
        )
    except (Unavailable, OSError, ValueError) as exc:
        raise StartupFailed(f"--data-path {data_path}: {exc}") from None


def _fleet_beside_the_api(data_path: Path | None) -> StartHook:
    async def start(services: Services, stack: AsyncExitStack) -> None:
        from .fleet.running import plan_forever, work_until

        await _import_csv(services, data_path)
        # _shard_queue_beside_the_api ran first and opened it.
        queue = cast("ShardQueue", services.shard_queue)
        stop = asyncio.Event()
        planning = asyncio.create_task(plan_forever(services, queue, stop))
        working = asyncio.create_task(work_until(services, queue, stop))

        async def stopped() -> None:
            # The worker stops taking shards and lets those in hand finish; the planner's tick
            # in progress ends; both before the services close.
            stop.set()
            await asyncio.gather(planning, working, return_exceptions=True)

        stack.push_async_callback(stopped)

    return start


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Storage]:
    """The store alone (`import`, `cleanup`), waited for like the services, closed at the end."""
    storage = await open_store_with_retry(settings)
    try:
        yield storage
    finally:
        await storage.close()


@asynccontextmanager
async def open_shard_queue(settings: Settings) -> AsyncIterator[ShardQueue]:
    """The fleet's queue of shards: Redis Streams beside Redis (waited for like the cache), else
    in process, which only a planner with its own worker can use (`plan --work`, `serve`)."""
    queue: ShardQueue
    if settings.uses_redis:
        from .fleet.redis_streams import RedisShardQueue

        queue = await open_with_retry(
            "shard queue",
            cache_address(settings),
            lambda: RedisShardQueue.open(settings),
            deadline=time.monotonic() + settings.STARTUP_TIMEOUT,
        )
    else:
        from .fleet.local import LocalShardQueue

        queue = LocalShardQueue()
    try:
        yield queue
    finally:
        await queue.close()


async def wait_for_backends(settings: Settings) -> None:
    """Return once the database and the cache answer (raises StartupFailed after STARTUP_TIMEOUT),
    closing them again: `api --workers N` waits here once, before it starts its workers."""
    async with open_services(settings):
        pass
