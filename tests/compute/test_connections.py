"""Connections after a probe: closed when the host is not probed again soon, kept when it is."""

from __future__ import annotations

import asyncio

from service_monitor.compute.prober import open_probe_sessions, probe
from service_monitor.config import load_settings
from service_monitor.models import Status, Target
from tests.targets import counting_server

SETTINGS = load_settings(TIMEOUT=2.0, SQLITE_PATH="unused.sqlite3")


async def test_connection_of_a_one_off_probe_is_closed_right_after_it() -> None:
    async with (
        counting_server(delay=0.0) as (base, traffic),
        open_probe_sessions(SETTINGS) as sessions,
    ):
        check = await probe(
            sessions.once, Target(1, f"{base}/x"), timeout=2.0, max_body_bytes=1024, max_redirects=0
        )
        assert check.status is Status.SUCCESS
        for _ in range(50):  # the close reaches the server within a moment (up to 1 s)
            if traffic.open_connections() == 0:
                break
            await asyncio.sleep(0.02)
        assert traffic.open_connections() == 0  # while the session itself is still open


async def test_connection_of_a_host_probed_again_is_kept_and_reused() -> None:
    async with counting_server(delay=0.0) as (base, traffic):
        async with open_probe_sessions(SETTINGS) as sessions:
            for path in ("a", "b", "c"):
                check = await probe(
                    sessions.reuse,
                    Target(1, f"{base}/{path}"),
                    timeout=2.0,
                    max_body_bytes=1024,
                    max_redirects=0,
                )
                assert check.status is Status.SUCCESS
            assert traffic.open_connections() == 1
        assert len(traffic.client_ports) == 1


async def test_last_probe_of_a_host_uses_the_kept_connection_then_has_it_closed() -> None:
    async with (
        counting_server(delay=0.0) as (base, traffic),
        open_probe_sessions(SETTINGS) as sessions,
    ):
        for path, last in (("a", False), ("b", True)):
            check = await probe(
                sessions.reuse,
                Target(1, f"{base}/{path}"),
                timeout=2.0,
                max_body_bytes=1024,
                max_redirects=0,
                close_connection=last,
            )
            assert check.status is Status.SUCCESS
        for _ in range(50):  # the server closes it after answering "Connection: close"
            if traffic.open_connections() == 0:
                break
            await asyncio.sleep(0.02)
        assert traffic.open_connections() == 0
        assert len(traffic.client_ports) == 1
