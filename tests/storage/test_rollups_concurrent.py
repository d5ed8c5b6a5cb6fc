"""Rollups and stored windows stay exact to the check while checks are written concurrently: with a
fleet, workers keep calling add_checks (late checks among them) while the planner runs roll_up. A
brute-force count over every check added is the oracle, on both backends.

On MySQL each writer's add_checks runs on a pooled connection of its own, so the server really
interleaves the transactions; on SQLite the coroutines interleave at every await.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service_monitor.models import Bucket, Cause, Check, Status
from service_monitor.storage import Storage
from tests.storage.test_windows_exact import (
    BASE_MS,
    DAY_MS,
    HOUR_MS,
    BruteForce,
    Monitored,
    assert_exact,
    empty_store,
    leave_mysql_empty,
    near_edges,
    run,
)

# Every roll_up of the concurrent part is at most this long before now; the seed's is before it,
# so the writers' checks are late for hours rolled up before they start and during their run.
CONCURRENT_HOURS = 5
SEED_ROLLUP_AGO_MS = (CONCURRENT_HOURS + 1) * HOUR_MS


@dataclass(frozen=True, slots=True)
class Added:
    monitor: int  # index into the scenario's monitors
    ago_ms: int  # checked_at = now - ago_ms
    status: Status
    latency_ms: int


@dataclass(frozen=True, slots=True)
class Batch:
    pause_ms: int  # slept before add_checks: shifts the writer against the others and roll_up
    checks: tuple[Added, ...]


@dataclass(frozen=True, slots=True)
class RollUp:
    pause_ms: int
    ago_ms: int


@dataclass(frozen=True, slots=True)
class Scenario:
    now_offset_ms: int
    monitors: int
    seed: tuple[Added, ...]  # added and rolled up (at now - SEED_ROLLUP_AGO_MS) before the race
    writers: tuple[tuple[Batch, ...], ...]  # each writer's batches, in order
    roll_ups: tuple[RollUp, ...]  # the planner's, times increasing
    limit: int

    @property
    def now_ms(self) -> int:
        return BASE_MS + self.now_offset_ms


def times(now_ms: int) -> st.SearchStrategy[int]:
    """ms before now: near a window edge or an hour boundary (near_edges), or within the hours the
    planner rolls up during the race, where a check is late for an hour rolled up a moment ago."""
    return st.one_of(near_edges(now_ms), st.integers(0, SEED_ROLLUP_AGO_MS + HOUR_MS))


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    now_offset_ms = draw(st.integers(0, DAY_MS))
    now_ms = BASE_MS + now_offset_ms
    monitors = draw(st.integers(2, 4))
    added = st.builds(
        Added,
        st.integers(0, monitors - 1),
        times(now_ms),
        st.sampled_from(Status),
        st.integers(1, 999),
    )
    seed = tuple(draw(st.lists(added, max_size=10)))
    batch = st.builds(
        Batch, st.sampled_from([0, 0, 1, 3]), st.lists(added, min_size=1, max_size=6).map(tuple)
    )
    writers = draw(
        st.lists(st.lists(batch, min_size=2, max_size=6).map(tuple), min_size=2, max_size=4)
    )
    agos = draw(
        st.lists(
            st.one_of(
                st.integers(0, CONCURRENT_HOURS * HOUR_MS),
                # just after an hour boundary: the roll-up that makes a new hour
                st.integers(0, CONCURRENT_HOURS).map(lambda h: h * HOUR_MS + now_ms % HOUR_MS - 1),
            ),
            min_size=2,
            max_size=6,
        )
    )
    pauses = draw(st.lists(st.sampled_from([0, 1, 2, 5]), min_size=len(agos), max_size=len(agos)))
    roll_ups = tuple(
        RollUp(pause, ago)
        for pause, ago in zip(pauses, sorted((max(a, 0) for a in agos), reverse=True), strict=True)
    )
    limit = draw(st.sampled_from([10, 1, 2]))
    return Scenario(now_offset_ms, monitors, seed, tuple(writers), roll_ups, limit)


def make_check(monitor_id: int, added: Added, now_ms: int) -> Check:
    at = (now_ms - added.ago_ms) / 1000
    if added.status is Status.SUCCESS:
        return Check(monitor_id, at, Status.SUCCESS, 200, added.latency_ms)
    return Check(monitor_id, at, Status.FAIL, 500, added.latency_ms, Cause.HTTP_STATUS)


def brute_history(
    checks: Sequence[Check], monitor_id: int, bounds: Sequence[float]
) -> list[Bucket]:
    out = []
    for start, end in pairwise(round(b * 1000) for b in bounds):
        mine = [
            c
            for c in checks
            if c.monitor_id == monitor_id and start <= round(c.checked_at * 1000) < end
        ]
        ok = [c for c in mine if c.status is Status.SUCCESS]
        out.append(Bucket(len(ok), len(mine) - len(ok), sum(c.latency_ms for c in ok)))
    return out


async def assert_all_exact(
    storage: Storage,
    monitors: Sequence[Monitored],
    checks: Sequence[Check],
    now_ms: int,
    limit: int,
) -> None:
    """Top lists, summary and monitor counts (assert_exact), and hourly and daily history."""
    oracle = BruteForce(
        monitors, [(c.monitor_id, c.checked_at, c.status) for c in checks], frozenset()
    )
    now = now_ms / 1000
    await assert_exact(storage, oracle, now, limit)
    hour = now_ms // HOUR_MS * HOUR_MS
    hourly = [(hour - h * HOUR_MS) / 1000 for h in range(SEED_ROLLUP_AGO_MS // HOUR_MS + 2, -1, -1)]
    day = now_ms // DAY_MS * DAY_MS
    daily = [(day - d * DAY_MS) / 1000 for d in range(33, -1, -1)]
    ids = [m.id for m in monitors]
    for bounds in ([*hourly, now], [*daily, now]):
        got = await storage.history(ids, bounds)
        assert got == {m: brute_history(checks, m, bounds) for m in ids}, bounds


async def race(storage: Storage, scenario: Scenario) -> None:
    now_ms = scenario.now_ms
    monitors = []
    for i in range(scenario.monitors):
        made = await storage.add_monitor(
            f"mon-{i}", f"http://{i}.example.com/", (now_ms - 40 * DAY_MS) / 1000
        )
        monitors.append(Monitored(made.id, made.name, made.url))
    await storage.activate([m.id for m in monitors])
    # A first check of each monitor before the race makes its monitor_health row: two writers
    # that both make one (MySQL: both lock the gap where the rows go, then both insert) deadlock,
    # which is the health's own business (health.py), not the rollups'.
    first = Added(0, 32 * DAY_MS, Status.SUCCESS, 1)
    checks = [make_check(m.id, first, now_ms) for m in monitors]
    checks += [make_check(monitors[a.monitor].id, a, now_ms) for a in scenario.seed]
    await storage.add_checks(checks)
    await storage.roll_up((now_ms - SEED_ROLLUP_AGO_MS) / 1000)

    async def write(batches: Sequence[Batch]) -> None:
        for batch in batches:
            await asyncio.sleep(batch.pause_ms / 1000)
            made = [make_check(monitors[a.monitor].id, a, now_ms) for a in batch.checks]
            await storage.add_checks(made)
            checks.extend(made)

    async def plan() -> None:
        for roll_up in scenario.roll_ups:
            await asyncio.sleep(roll_up.pause_ms / 1000)
            await storage.roll_up((now_ms - roll_up.ago_ms) / 1000)

    await asyncio.gather(plan(), *(write(batches) for batches in scenario.writers))
    await assert_all_exact(storage, monitors, checks, now_ms, scenario.limit)
    # The next cycle's roll-up builds on what the race left: still exact.
    await storage.roll_up(now_ms / 1000)
    await assert_all_exact(storage, monitors, checks, now_ms, scenario.limit)


async def race_on(backend: str, scenario: Scenario) -> None:
    async with empty_store(backend) as storage:
        await race(storage, scenario)


@pytest.fixture(params=["sqlite", "mysql"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    name: str = request.param
    if name == "mysql":
        request.getfixturevalue("require_mysql")
    yield name
    if name == "mysql":
        run(leave_mysql_empty())


@pytest.mark.timeout(600)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(scenario=scenarios())
def test_rollups_and_windows_stay_exact_while_checks_are_added_concurrently(
    backend: str, scenario: Scenario
) -> None:
    run(race_on(backend, scenario))
