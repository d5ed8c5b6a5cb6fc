"""Builds the FastAPI app; `app` here is what the seed's `uvicorn src.service_monitor.api.app:app` serves.

`create_app(settings)` connects to nothing until the app starts; a test hands it ready `services`
on the backend it wants instead. The app serves the API and the dashboard only: what else a process
runs beside it (the compute, for `service-monitor serve`) the composition root (assembly.py) hands
in as start-up hooks, so nothing here knows the compute.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import Depends, FastAPI

from .. import __version__
from ..config import Settings, load_settings, settings_or_exit
from ..logs import configure_logging
from ..services import Services, open_services
from ..startup import StartupFailed, fail_server_start
from .auth import AUTH_ERRORS, Keys, require_key, warn_if_open
from .dashboard import dashboard_routes
from .errors import install_error_handlers
from .fast_stats import fast_routes
from .limits import RequestLimits, reject_unknown_query
from .metrics import install_metrics
from .routes import channels, cycles, fleet, health, incidents, maintenance, urls, views

log = logging.getLogger("service_monitor.api")

DESCRIPTION = """Monitors URLs every cycle and serves which of them succeed and fail most.

Statistics (`/urls/top/...`, `/urls/summary`) are served from a cache younger than 10 minutes
when there is one (`cached: true` and `Age` headers say so); `?cache=false` recomputes them.
Every error answer is JSON with a `detail` sentence."""

StartHook = Callable[[Services, AsyncExitStack], Awaitable[None]]
"""Run once the app's services are open, before it serves; what it starts, it registers on the
stack, which unwinds (last in, first out) when the server stops and before the services close. A
hook that cannot start raises StartupFailed: the server then ends with its one line."""


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    on_start: Sequence[StartHook] = (),
) -> FastAPI:
    """The API on `services`, or on services opened from `settings` when the app starts (waiting
    for the backends up to STARTUP_TIMEOUT); `on_start` hooks run then, in order."""
    settings = settings or (services.settings if services else load_settings())
    warn_if_open(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A backend still unreachable after STARTUP_TIMEOUT, or a hook that cannot start, ends a
        # server with one line and exit code 1 (startup.fail_server_start).
        async with AsyncExitStack() as stack:
            if services is None:
                try:
                    app.state.services = await stack.enter_async_context(open_services(settings))
                except StartupFailed as exc:
                    fail_server_start(exc)
            for hook in on_start:
                try:
                    await hook(app.state.services, stack)
                except StartupFailed as exc:
                    fail_server_start(exc)
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
    # The keys a read needs (none: reads are open), for the routes outside FastAPI (fast_stats.py).
    app.state.read_keys = keys if read_key else Keys([])
    # views.reads first: its /urls/overview must match before urls.reads' /urls/{monitor_id}.
    routers = (
        (urls.writes, bool(keys)),
        (channels.writes, bool(keys)),
        (maintenance.writes, bool(keys)),
        (views.reads, read_key),
        (urls.reads, read_key),
        (cycles.reads, read_key),
        (fleet.reads, read_key),
        (incidents.reads, read_key),
        (channels.reads, read_key),
        (maintenance.reads, read_key),
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
