"""Monitors with their own checks, from the store through a real cycle and back, on each deployment:
the request each one asked for reaches the server, and each verdict is stored with its detail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from service_monitor.check_spec import CheckSpec
from service_monitor.compute.cycle import run_cycle
from service_monitor.compute.prober import open_probe_sessions
from service_monitor.models import Cause, Check, Status
from service_monitor.services import Services


@dataclass
class Seen:
    """What the server received: (method, path, Authorization header, body) per request."""

    requests: list[tuple[str, str, str | None, str]] = field(default_factory=list)


@asynccontextmanager
async def health_server() -> AsyncIterator[tuple[str, Seen]]:
    """/health answers {"status": "ok"} at once; /busy the same after 150 ms; /sick
    {"status": "degraded"}. Every request, any method, is recorded."""
    seen = Seen()

    async def answer(request: web.Request) -> web.Response:
        body = await request.text()
        seen.requests.append(
            (request.method, request.path, request.headers.get("Authorization"), body)
        )
        if request.path == "/busy":
            await asyncio.sleep(0.15)  # seconds: over the 50 ms degraded limit, within TIMEOUT
        status = "degraded" if request.path == "/sick" else "ok"
        return web.json_response({"status": status})

    app = web.Application()
    app.router.add_route("*", "/{path}", answer)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


HEALTHY = CheckSpec.model_validate(
    {
        "request": {
            "method": "POST",
            "headers": {"Authorization": "Bearer t0ken"},
            "body": '{"probe": true}',
            "content_type": "application/json",
        },
        "assertions": [
            {"type": "status", "codes": ["2xx"]},
            {"type": "json", "path": "$.status", "op": "equals", "value": "ok"},
        ],
        "degraded_after_ms": 50,
    }
)


async def run_one_cycle(services: Services) -> None:
    settings = services.settings.model_copy(update={"TIMEOUT": 2.0})
    async with open_probe_sessions(settings) as sessions:
        await run_cycle(services.storage, services.cache, sessions, settings, clock=services.clock)


async def only_check(services: Services, monitor_id: int) -> Check:
    checks = await services.checks.recent_checks(monitor_id, 10)
    assert len(checks) == 1
    return checks[0]


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Seen]]:
    async with health_server() as served:
        yield served


async def test_each_monitor_sends_its_own_request_and_its_verdict_is_stored(
    services: Services, server: tuple[str, Seen]
) -> None:
    base, seen = server
    now = services.clock()
    fast = await services.monitors.add_monitor("fast", f"{base}/health", now, check=HEALTHY)
    slow = await services.monitors.add_monitor("slow", f"{base}/busy", now, check=HEALTHY)
    sick = await services.monitors.add_monitor("sick", f"{base}/sick", now, check=HEALTHY)
    plain = await services.monitors.add_monitor("plain", f"{base}/sick", now)
    await services.monitors.activate()

    await run_one_cycle(services)

    # The secret header and the body reach the server, though no read of the API shows them.
    assert sorted(seen.requests) == sorted(
        [
            ("POST", "/health", "Bearer t0ken", '{"probe": true}'),
            ("POST", "/busy", "Bearer t0ken", '{"probe": true}'),
            ("POST", "/sick", "Bearer t0ken", '{"probe": true}'),
            ("GET", "/sick", None, ""),
        ]
    )
    checked = {m.name: await only_check(services, m.id) for m in (fast, slow, sick, plain)}
    assert (checked["fast"].status, checked["fast"].degraded) == (Status.SUCCESS, False)
    assert (checked["slow"].status, checked["slow"].degraded) == (Status.SUCCESS, True)
    assert checked["slow"].detail is None
    assert (checked["sick"].status, checked["sick"].cause) == (Status.FAIL, Cause.ASSERTION)
    assert checked["sick"].detail == "$.status is 'degraded', expected 'ok'"
    # The default check on the same URL is a monitor of its own, judged by its status alone.
    assert (checked["plain"].status, checked["plain"].detail) == (Status.SUCCESS, None)


async def test_a_degraded_check_counts_as_a_success_and_as_degraded(
    services: Services, server: tuple[str, Seen]
) -> None:
    base, _ = server
    slow = await services.monitors.add_monitor(
        "slow", f"{base}/busy", services.clock(), check=HEALTHY
    )
    await services.monitors.activate()

    await run_one_cycle(services)

    [hour] = await services.checks.monitor_counts(slow.id, [services.clock() - 3600])
    assert (hour.success, hour.fail, hour.degraded) == (1, 0, 1)
    summary = await services.storage.summary(services.clock() - 3600)
    assert (summary.success, summary.fail) == (1, 0)  # the seed's statistics stay success/fail


async def test_a_changed_check_is_probed_as_changed_from_the_next_cycle(
    services: Services, server: tuple[str, Seen]
) -> None:
    base, seen = server
    monitor = await services.monitors.add_monitor(
        "sick", f"{base}/sick", services.clock(), check=HEALTHY
    )
    await services.monitors.activate()
    await run_one_cycle(services)

    relaxed = HEALTHY.model_copy(update={"assertions": HEALTHY.assertions[:1]})
    await services.monitors.update_monitor(monitor.id, check=relaxed)
    await run_one_cycle(services)

    newest, first = await services.checks.recent_checks(monitor.id, 10)
    assert (first.status, newest.status) == (Status.FAIL, Status.SUCCESS)
    assert len(seen.requests) == 2
