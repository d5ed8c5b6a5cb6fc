"""Connections after a probe: closed when the host is not probed again soon, kept when it is."""

from __future__ import annotations

import asyncio

import aiohttp

from service_monitor.compute.prober import open_probe_sessions, probe
from service_monitor.config import load_settings
from service_monitor.models import Status, Target
from tests.targets import Traffic, counting_server

SETTINGS = load_settings(TIMEOUT=2.0, SQLITE_PATH="unused.sqlite3", ALLOW_PRIVATE_TARGETS=True)


async def get(session: aiohttp.ClientSession, url: str, *, close: bool = False) -> None:
    check = await probe(
        session,
        Target(1, url),
        timeout=2.0,
        max_body_bytes=1024,
        max_redirects=0,
        close_connection=close,
    )
    assert check.status is Status.SUCCESS


async def all_closed(traffic: Traffic) -> bool:
    """Whether the server sees no open connection within a moment (1 s): a close takes a hop."""
    for _ in range(50):
        if traffic.open_connections() == 0:
            return True
        await asyncio.sleep(0.02)
    return False


async def test_connection_of_a_one_off_probe_is_closed_right_after_it() -> None:
    async with (
        counting_server(delay=0.0) as (base, traffic),
        open_probe_sessions(SETTINGS) as sessions,
    ):
        await get(sessions.once, f"{base}/x")
        assert await all_closed(traffic)  # while the session itself is still open


async def test_connection_of_a_host_probed_again_is_kept_and_reused() -> None:
    async with counting_server(delay=0.0) as (base, traffic):
        async with open_probe_sessions(SETTINGS) as sessions:
            for path in ("a", "b", "c"):
                await get(sessions.reuse, f"{base}/{path}")
            assert traffic.open_connections() == 1
        assert len(traffic.client_ports) == 1


async def test_last_probe_of_a_host_uses_the_kept_connection_then_has_it_closed() -> None:
    async with (
        counting_server(delay=0.0) as (base, traffic),
        open_probe_sessions(SETTINGS) as sessions,
    ):
        await get(sessions.reuse, f"{base}/a")
        await get(sessions.reuse, f"{base}/b", close=True)  # says "Connection: close"
        assert await all_closed(traffic)
        assert len(traffic.client_ports) == 1
