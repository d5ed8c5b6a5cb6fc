"""A small HTTP server on 127.0.0.1 for tests that probe: known answers at known paths."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web


async def _ok(_: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _status(request: web.Request) -> web.Response:
    return web.Response(status=int(request.match_info["code"]), text="status")


async def _slow(_: web.Request) -> web.Response:
    await asyncio.sleep(0.3)  # seconds: inside any probe timeout, long enough to be mid-flight
    return web.Response(text="slow")


async def _hang(_: web.Request) -> web.Response:
    await asyncio.sleep(3600)  # seconds: past any probe timeout in the tests
    return web.Response(text="too late")


async def _redirect(_: web.Request) -> web.Response:
    raise web.HTTPFound("/ok")


@asynccontextmanager
async def target_server() -> AsyncIterator[str]:
    """Serve /ok (200), /status/{code}, /slow (200 after 0.3 s), /hang and /redirect (302 to /ok);
    yields the base URL."""
    app = web.Application()
    app.router.add_get("/ok", _ok)
    app.router.add_get("/status/{code}", _status)
    app.router.add_get("/slow", _slow)
    app.router.add_get("/hang", _hang)
    app.router.add_get("/redirect", _redirect)
    # handler_cancellation: a handler stops when the prober hangs up, so teardown never waits
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class Traffic:
    """What a counting server saw: requests in flight per Host header, client connections."""

    in_flight: Counter[str] = field(default_factory=Counter)
    most_in_flight: Counter[str] = field(default_factory=Counter)  # the peak per host
    requests: int = 0
    client_ports: set[int] = field(default_factory=set)  # one per TCP connection opened to us
    open_connections: Callable[[], int] = lambda: 0


@asynccontextmanager
async def counting_server(delay: float = 0.2) -> AsyncIterator[tuple[str, Traffic]]:
    """Serve any path with 200 after `delay` seconds, counting requests in flight per host and the
    connections used; yields the base URL and the Traffic record."""
    traffic = Traffic()

    async def busy(request: web.Request) -> web.Response:
        host = request.host
        traffic.requests += 1
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if peer:
            traffic.client_ports.add(peer[1])
        traffic.in_flight[host] += 1
        traffic.most_in_flight[host] = max(traffic.most_in_flight[host], traffic.in_flight[host])
        try:
            await asyncio.sleep(delay)
        finally:
            traffic.in_flight[host] -= 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{tail:.*}", busy)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = runner.server
    assert server is not None
    traffic.open_connections = lambda: len(server.connections)
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", traffic
    finally:
        await runner.cleanup()
