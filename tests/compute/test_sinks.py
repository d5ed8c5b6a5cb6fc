"""Every check a cycle makes reaches every sink once, whatever consumes it: a sink added to the
compute needs no change to the probe loop, and is started, fed and closed like the store's own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from service_monitor.compute.sinks import CheckSink
from service_monitor.compute.worker import Compute
from service_monitor.models import Check
from service_monitor.services import Services
from tests.compute.test_worker import STUCK_ON_HUNG_PROBES
from tests.targets import target_server


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    async with target_server() as url:
        yield url


class RecordingSink:
    """A sink that keeps what it was given, and when its lifecycle calls came."""

    def __init__(self) -> None:
        self.checks: list[Check] = []
        self.calls: list[str] = []
        self.until: float | None = None

    def start(self) -> None:
        self.calls.append("start")

    def add(self, check: Check) -> None:
        self.checks.append(check)

    async def close(self, *, until: float | None) -> None:
        self.calls.append("close")
        self.until = until

    def abort(self, why: str) -> None:
        self.calls.append(f"abort: {why}")


def compute_with(services: Services, made: list[RecordingSink], **overrides: object) -> Compute:
    def factory() -> CheckSink:
        made.append(RecordingSink())
        return made[-1]

    settings = services.settings.model_copy(update={"TIMEOUT": 1.0, **overrides})
    return Compute(services.storage, services.cache, settings, sink_factories=[factory])


async def test_every_check_reaches_an_added_sink_once_and_it_is_started_and_closed(
    services: Services, base_url: str
) -> None:
    rows = [(f"ok{i}", f"{base_url}/ok?i={i}") for i in range(5)]
    rows += [("error", f"{base_url}/status/500"), ("moved", f"{base_url}/redirect")]
    await services.storage.import_monitors(rows, services.clock())
    made: list[RecordingSink] = []

    report = await compute_with(services, made).cycle()

    assert report is not None
    assert len(made) == 1
    sink = made[0]
    assert sink.calls == ["start", "close"]
    assert sink.until is None  # not stopping: no deadline
    stored = []
    for monitor in (await services.storage.list_monitors(100, 0))[0]:
        stored += await services.storage.recent_checks(monitor.id, 10)
    key = lambda c: (c.monitor_id, round(c.checked_at * 1000), c.status)  # noqa: E731  (stored in ms)
    assert sorted(map(key, sink.checks)) == sorted(map(key, stored))
    assert len(sink.checks) == report.stored == 7


async def test_each_cycle_gets_a_fresh_sink(services: Services, base_url: str) -> None:
    await services.storage.import_monitors([("ok", f"{base_url}/ok")], services.clock())
    made: list[RecordingSink] = []
    compute = compute_with(services, made)

    await compute.cycle()
    await compute.cycle()

    assert [len(sink.checks) for sink in made] == [1, 1]


async def test_a_sink_closed_by_a_stop_is_given_the_stop_deadline(
    services: Services, base_url: str
) -> None:
    rows = [(f"hung{i}", f"{base_url}/hang?i={i}") for i in range(2)]
    await services.storage.import_monitors(rows, services.clock())
    made: list[RecordingSink] = []
    compute = compute_with(services, made, **STUCK_ON_HUNG_PROBES)
    running = asyncio.create_task(compute.cycle())
    await asyncio.sleep(0.5)  # both probes hang
    await compute.stop()
    report = await running

    assert report is not None
    assert report.stopped
    sink = made[0]
    assert sink.calls == ["start", "close"]
    assert sink.checks == []  # the hung probes were abandoned: no check
    assert sink.until is not None
    assert sink.until <= time.monotonic() + 5  # a monotonic deadline near now, not a wall time
