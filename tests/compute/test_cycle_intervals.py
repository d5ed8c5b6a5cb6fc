"""The whole-list cycle and per-monitor intervals, on each deployment: a monitor whose interval is
longer than the cycle is probed only when due; the others every cycle (an interval shorter than
the cycle needs the fleet's planner, which plans every minute)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from service_monitor.compute.cycle import run_cycle
from service_monitor.compute.prober import open_probe_sessions
from service_monitor.services import Services
from tests.conftest import FakeClock
from tests.targets import target_server


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    async with target_server() as url:
        yield url


async def _cycle(services: Services) -> int:
    settings = services.settings.model_copy(update={"TIMEOUT": 2.0})
    async with open_probe_sessions(settings) as sessions:
        report = await run_cycle(
            services.storage, services.cache, sessions, settings, clock=services.clock
        )
    return report.probed


async def test_an_hourly_monitor_is_probed_once_an_hour_by_ten_minute_cycles(
    services: Services, base_url: str, clock: FakeClock
) -> None:
    await services.storage.import_monitors(
        [("every cycle", f"{base_url}/ok?a"), ("hourly", f"{base_url}/ok?b")], clock()
    )
    monitors = {m.name: m.id for m in (await services.storage.list_monitors(10, 0))[0]}
    await services.storage.set_schedule(monitors["hourly"], interval=3600, regions=None)
    probed, hourly_cycles = [], []
    for number in range(13):  # two hours of ten-minute cycles
        before = len(await services.storage.recent_checks(monitors["hourly"], 100))
        probed.append(await _cycle(services))
        if len(await services.storage.recent_checks(monitors["hourly"], 100)) > before:
            hourly_cycles.append(number)
        clock.advance(services.settings.CYCLE_INTERVAL)
    every = len(await services.storage.recent_checks(monitors["every cycle"], 100))
    assert every == 13
    assert probed[0] == 2  # new: due at once
    # After that on its own phase, once an hour: six cycles apart.
    assert hourly_cycles[0] == 0
    assert len(hourly_cycles) in (2, 3), hourly_cycles
    assert all(later - earlier == 6 for earlier, later in itertools.pairwise(hourly_cycles[1:])), (
        hourly_cycles
    )
