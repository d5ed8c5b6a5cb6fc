"""Builds the FastAPI app; `app` here is what the seed's `uvicorn src.service_monitor.api.app:app` serves.

`create_app(settings)` connects to nothing until the app starts; a test hands it ready `services`
on the backend it wants instead.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI

from .. import __version__
from ..compute.importer import import_monitors_csv
from ..compute.schedule import start_scheduler
from ..compute.worker import Compute
from ..config import Settings, load_settings, settings_or_exit
from ..errors import Unavailable
from ..guard import policy_for
from ..logs import configure_logging
from ..metrics.exposition import install_metrics
from ..startup import StartupFailed, fail_server_start, open_backends
from .auth import AUTH_ERRORS, Keys, require_key, warn_if_open
from .dashboard import dashboard_routes
from .deps import Services
from .errors import install_error_handlers
from .fast_stats import fast_routes
from .limits import RequestLimits, reject_unknown_query
from .routes import cycles, health, urls, views

log = logging.getLogger("service_monitor.api")

DESCRIPTION = """Monitors URLs every cycle and serves which of them succeed and fail most.

Statistics (`/urls/top/...`, `/urls/summary`) are served from a cache younger than 10 minutes
when there is one (`cached: true` and `Age` headers say so); `?cache=false` recomputes them.
Every error answer is JSON with a `detail` sentence."""


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    run_compute: bool = False,
    data_path: Path | None = None,
) -> FastAPI:
    """The API. With `run_compute`, the same process also runs the cycles (`service-monitor serve`),
    importing `data_path` first."""
    settings = settings or (services.settings if services else load_settings())
    warn_if_open(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Start-up waits for the database and the cache (STARTUP_TIMEOUT, a log line per try);
        # then a server ends with one line and exit code 1 (startup.fail_server_start).

        async with AsyncExitStack() as stack:
            if services is None:
                try:
                    storage, cache = await open_backends(settings)
                except StartupFailed as exc:
                    fail_server_start(exc)
                stack.push_async_callback(storage.close)
                stack.push_async_callback(cache.close)
                app.state.services = Services(settings, storage, cache)
            ready: Services = app.state.services
            if run_compute:
                compute = Compute(
                    ready.storage,
                    ready.cache,
                    settings,
                    clock=ready.clock,
                    stats=ready.stats,
                    counters=ready.cache,
                )
                if data_path is not None:
                    try:
                        await import_monitors_csv(
                            ready.storage, data_path, ready.clock(), policy_for(settings)
                        )
                    except (Unavailable, OSError, ValueError) as exc:
                        fail_server_start(StartupFailed(f"--data-path {data_path}: {exc}"))
                scheduler = start_scheduler(compute, settings.CYCLE_INTERVAL)
                # Closed last in, first out: the running cycle stops gracefully (no new probe,
                # SHUTDOWN_GRACE_SECONDS for those in flight, its checks stored and the cycle
                # recorded), and only then the scheduler, whose shutdown cancels a running job;
                # then the cache and the store close.
                stack.callback(scheduler.shutdown, wait=False)
                stack.push_async_callback(compute.stop)
            yield

    app = FastAPI(
        title="service-monitor",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query)],
    )
    if services is not None:
        app.state.services = services
    app.state.keys = keys = Keys.from_settings(settings)
    install_error_handlers(app)
    read_key = bool(keys) and settings.READ_AUTH
    # views.reads first: its /urls/overview must match before urls.reads' /urls/{monitor_id}.
    routers = (
        (urls.writes, bool(keys)),
        (views.reads, read_key),
        (urls.reads, read_key),
        (cycles.reads, read_key),
    )
    for router, needs_key in routers:
        if needs_key:
            app.include_router(router, dependencies=[Depends(require_key)], responses=AUTH_ERRORS)
        else:
            app.include_router(router)
    app.include_router(health.router)
    app.add_middleware(RequestLimits, max_bytes=settings.MAX_REQUEST_BYTES)
    # /metrics, and the outermost middleware, so every answer is counted (413s and fast path too).
    install_metrics(app, needs_key=read_key)
    # In front: cache hits skip FastAPI's per-request parameter machinery (api/fast_stats.py).
    app.router.routes[:0] = fast_routes()

    # The dashboard at / (api/dashboard.py): static files, public like /docs.
    app.router.routes.extend(dashboard_routes())

    return app


def _app_from_environment() -> FastAPI:
    """For uvicorn: a bad setting stops start-up with one line, not a traceback."""
    settings = settings_or_exit()
    configure_logging(settings.LOG_LEVEL)
    return create_app(settings)


def __getattr__(name: str) -> FastAPI:
    """`app`, built from the environment the first time it is asked for (uvicorn's
    `service_monitor.api.app:app`): importing this module for create_app builds nothing, reads
    no setting and logs nothing."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    built = _app_from_environment()
    globals()["app"] = built  # later lookups find it without coming here
    return built
