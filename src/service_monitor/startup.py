"""Start-up that waits for the database and the cache, since on ECS they may come up after us.

Every entry point (the API's lifespan, the compute, the CLI) opens its backends through
`open_backends`: an unreachable one is retried with backoff, one log line per attempt, for up to
STARTUP_TIMEOUT seconds; then StartupFailed carries the one line the entry point prints before it
exits 1. Code that opens a store directly (the tests, MySQLStorage.open) still fails at once.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

from .cache import CacheBackend, open_cache
from .config import Settings
from .errors import ServiceMonitorError, Unavailable
from .storage import Storage, open_storage

log = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds before the first retry, doubled after every failed attempt up to the cap: a server that
# comes up a second later is used a second later, and one that takes minutes costs a log line
# every 10 s, not a flood.
FIRST_RETRY_S = 0.5
MAX_RETRY_S = 10.0


class StartupFailed(ServiceMonitorError):
    """A backend stayed unreachable for STARTUP_TIMEOUT seconds; the message is one line for the
    operator, naming the backend, where it is and the last error."""


def database_address(settings: Settings) -> str:
    if settings.uses_mysql:
        return f"{settings.DB_ADDRESS}:{settings.DB_PORT}/{settings.DB_NAME}"
    return str(settings.SQLITE_PATH)


def cache_address(settings: Settings) -> str:
    if settings.uses_redis:
        return f"{settings.CACHE_ADDRESS}:{settings.CACHE_PORT}"
    return str(settings.SQLITE_PATH)


async def open_with_retry(
    what: str,
    where: str,
    opener: Callable[[], Awaitable[T]],
    *,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> T:
    """`opener()`, retried while it raises Unavailable and `deadline` (on `clock`, monotonic
    seconds) has not passed; then StartupFailed. An attempt under way at the deadline is let finish
    (each is bounded by DB_CONNECT_TIMEOUT or CACHE_OP_TIMEOUT), so giving up takes at most that
    much longer than the deadline."""
    started = clock()
    delay = FIRST_RETRY_S
    attempt = 0
    while True:
        attempt += 1
        try:
            opened = await opener()
        except Unavailable as exc:
            left = deadline - clock()
            if left <= 0:
                tries = (
                    f"{attempt} attempts in {clock() - started:.0f} s"
                    if attempt > 1
                    else "1 attempt"
                )
                raise StartupFailed(
                    f"{what} {where} unreachable after {tries} (STARTUP_TIMEOUT); last error: {exc}"
                ) from None
            wait = min(delay, left)
            log.warning(
                "waiting for the %s at %s: attempt %d failed (%s); next retry in %.1f s,"
                " giving up in %.0f s",
                what,
                where,
                attempt,
                exc,
                wait,
                left,
            )
            await sleep(wait)
            delay = min(delay * 2, MAX_RETRY_S)
            continue
        if attempt > 1:
            log.info("the %s at %s answered at attempt %d", what, where, attempt)
        return opened


async def open_backends(
    settings: Settings,
    *,
    open_store: Callable[[Settings], Awaitable[Storage]] = open_storage,
    open_cache_backend: Callable[[Settings], Awaitable[CacheBackend]] = open_cache,
) -> tuple[Storage, CacheBackend]:
    """The store, then the cache, each retried until STARTUP_TIMEOUT seconds from now (one
    deadline for both); raises StartupFailed, with nothing left open."""
    deadline = time.monotonic() + settings.STARTUP_TIMEOUT
    storage = await open_store_with_retry(settings, deadline=deadline, opener=open_store)
    try:
        cache = await open_with_retry(
            "cache",
            cache_address(settings),
            lambda: open_cache_backend(settings),
            deadline=deadline,
        )
    except BaseException:
        await storage.close()
        raise
    return storage, cache


async def open_store_with_retry(
    settings: Settings,
    *,
    deadline: float | None = None,
    opener: Callable[[Settings], Awaitable[Storage]] = open_storage,
) -> Storage:
    """The store alone (`service-monitor import`, `cleanup`), retried like `open_backends`."""
    if deadline is None:
        deadline = time.monotonic() + settings.STARTUP_TIMEOUT
    return await open_with_retry(
        "database", database_address(settings), lambda: opener(settings), deadline=deadline
    )


def fail_server_start(reason: StartupFailed) -> NoReturn:
    """End an ASGI server whose lifespan cannot start: `reason` as one error line, exit code 1,
    no traceback. Outside a uvicorn server (a test driving the lifespan), `reason` is raised.

    Why not just raise: Starlette formats any exception out of the lifespan into its
    "lifespan.startup.failed" message, uvicorn logs that traceback and exits with its own code 3
    (starlette/routing.py Router.lifespan, uvicorn/lifespan/on.py, uvicorn/server.py). So the
    process ends here, once the line is written: nothing is open (open_backends closed what it
    had opened), and nothing is served yet. A worker of uvicorn's supervisor (--workers N) exits
    with uvicorn's code 3 instead, the one that makes the supervisor stop rather than restart it.
    """
    log.error("cannot start: %s", reason)
    if not _under_uvicorn():
        raise reason
    logging.shutdown()  # flushes every handler: the line must be out before the process ends
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(UVICORN_STARTUP_FAILURE if multiprocessing.parent_process() else 1)


# uvicorn's exit code for a worker that failed before serving (uvicorn.config.STARTUP_FAILURE)
UVICORN_STARTUP_FAILURE = 3


def _under_uvicorn() -> bool:
    """Whether a uvicorn Server runs this process: it installs its own SIGTERM handler while it
    serves (uvicorn.server.Server.capture_signals)."""
    handler = signal.getsignal(signal.SIGTERM)
    owner = getattr(handler, "__self__", None)
    return type(owner).__module__ == "uvicorn.server"


__all__ = [
    "StartupFailed",
    "cache_address",
    "database_address",
    "fail_server_start",
    "open_backends",
    "open_store_with_retry",
    "open_with_retry",
]
