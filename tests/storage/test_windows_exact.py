"""The statistics must count every check exactly at the window edges, however the rollups, late
checks and pruning interleave, on both backends; a brute-force count over the checks added is the
oracle.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service_monitor.models import Cause, Check, Counts, Span, Status, TopEntry
from service_monitor.storage import Storage
from service_monitor.storage.mysql import MySQLStorage
from service_monitor.storage.sqlite import SQLiteStorage
from tests.conftest import production_settings

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
# An hour boundary: `now` is drawn as an offset from it, so its place within the hour varies.
BASE_MS = 1_800_000_000_000
# How far before `now` prune removes raw checks (30 days and one hour).
PRUNE_AGO_MS = 30 * DAY_MS + HOUR_MS
# Rollups are kept far longer than any check here is old, so prune never drops one.
ROLLUP_DAYS = 400
# The one MySQL table an example keeps: every other holds monitors, checks, cycles or rollups.
KEPT_TABLES = frozenset({"schema_version"})


# -- the oracle --


@dataclass(frozen=True, slots=True)
class Monitored:
    id: int
    name: str
    url: str


@dataclass(frozen=True, slots=True)
class BruteForce:
    """Every answer computed from the checks as added, the way the contract defines it."""

    monitors: Sequence[Monitored]
    checks: Sequence[tuple[int, float, Status]]  # (monitor_id, checked_at, status)
    deleted: Set[int]

    def _counted(self, since: float) -> list[tuple[int, Status]]:
        # Stored as whole milliseconds: the comparison is on those.
        bound = round(since * 1000)
        return [(m, s) for m, at, s in self.checks if round(at * 1000) >= bound]

    def top(self, status: Status, since: float, limit: int) -> list[TopEntry]:
        counts = Counter(m for m, s in self._counted(since) if s is status)
        ranked = sorted(
            (m for m in self.monitors if m.id not in self.deleted and counts[m.id] > 0),
            key=lambda m: (-counts[m.id], m.id),  # ties: the monitor added first
        )
        return [TopEntry(m.name, m.url, counts[m.id]) for m in ranked[:limit]]

    def summary(self, since: float) -> Counts:
        counts = Counter(s for _, s in self._counted(since))
        return Counts(success=counts[Status.SUCCESS], fail=counts[Status.FAIL])

    def monitor_counts(self, monitor_id: int, since: Sequence[float]) -> list[Counts]:
        result = []
        for bound in since:
            counts = Counter(s for m, s in self._counted(bound) if m == monitor_id)
            result.append(Counts(success=counts[Status.SUCCESS], fail=counts[Status.FAIL]))
        return result


async def assert_exact(storage: Storage, oracle: BruteForce, now: float, limit: int) -> None:
    """Every window ending at `now`: top (at `limit` and in full), summary and each monitor's counts."""
    for span in Span:
        since = now - span.seconds
        for status in Status:
            for n in sorted({limit, 10}):
                expected = oracle.top(status, since, n)
                got = await storage.top(status, since, n)
                if n == 10:  # every monitor: the counts first, so a wrong count and a wrong order
                    assert set(got) == set(expected), (span, status)  # fail as distinct bugs
                assert got == expected, (
                    span,
                    status,
                    n,
                )  # count desc, then the monitor added first
        assert await storage.summary(since) == oracle.summary(since), span
    sinces = [now - span.seconds for span in Span]
    for monitor in oracle.monitors:
        counts = await storage.monitor_counts(monitor.id, sinces)
        assert counts == oracle.monitor_counts(monitor.id, sinces), monitor


def make_check(monitor_id: int, checked_at: float, status: Status) -> Check:
    if status is Status.SUCCESS:
        return Check(monitor_id, checked_at, status, 200, 12)
    return Check(monitor_id, checked_at, status, 500, 30, Cause.HTTP_STATUS)


# -- scenarios --


@dataclass(frozen=True, slots=True)
class Added:
    monitor: int  # index into Scenario.names
    ago_ms: int  # checked_at = now - ago_ms; negative: after now
    status: Status


@dataclass(frozen=True, slots=True)
class AddChecks:
    checks: tuple[Added, ...]


@dataclass(frozen=True, slots=True)
class RollUp:
    ago_ms: int  # roll_up(now - ago_ms), never after now


@dataclass(frozen=True, slots=True)
class Delete:
    monitor: int


@dataclass(frozen=True, slots=True)
class Prune:
    """prune(now): the raw checks older than 30 days and an hour go."""


@dataclass(frozen=True, slots=True)
class Verify:
    """Compare every answer with the brute force mid-way, not only at the end."""


Step = AddChecks | RollUp | Delete | Prune | Verify


@dataclass(frozen=True, slots=True)
class Scenario:
    now_offset_ms: int  # now = BASE_MS + this; its remainder by HOUR_MS is its place in the hour
    names: tuple[str, ...]  # one monitor each, in the order added
    active: tuple[bool, ...]  # activated, or left PENDING (still monitored)
    steps: tuple[Step, ...]
    limit: int

    @property
    def now_ms(self) -> int:
        return BASE_MS + self.now_offset_ms

    @property
    def now(self) -> float:
        return self.now_ms / 1000


# The window edges (ms before now); the prune cutoff too.
EDGES_AGO_MS = (0, HOUR_MS, 7 * DAY_MS, 30 * DAY_MS, PRUNE_AGO_MS)


def near_edges(now_ms: int) -> st.SearchStrategy[int]:
    """Times (ms before now) a few ms, a few seconds or up to an hour from a window edge or from
    the hour boundaries either side of it, or anywhere from an hour after now to 32 days back."""
    into_hour = now_ms % HOUR_MS  # every edge is a whole number of hours before now
    anchors = sorted(
        {a + shift for a in EDGES_AGO_MS for shift in (0, into_hour, into_hour - HOUR_MS)}
    )
    delta = st.one_of(st.integers(-2, 2), st.integers(-3000, 3000), st.integers(-HOUR_MS, HOUR_MS))
    near = st.tuples(st.sampled_from(anchors), delta).map(lambda pair: pair[0] + pair[1])
    anywhere = st.integers(-HOUR_MS, 32 * DAY_MS)
    return st.one_of(near, near, anywhere)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    now_offset_ms = draw(
        st.one_of(
            st.sampled_from([0, 1, HOUR_MS - 1, HOUR_MS // 2]),
            st.integers(0, 7 * DAY_MS),
        )
    )
    now_ms = BASE_MS + now_offset_ms
    count = draw(st.integers(2, 5))
    # Names in an order unlike the ids', so a tie broken by id instead of name shows.
    names = tuple(draw(st.permutations([f"mon-{c}" for c in "abcde"[:count]])))
    active = tuple(draw(st.lists(st.booleans(), min_size=count, max_size=count)))
    times = near_edges(now_ms)
    added = st.builds(Added, st.integers(0, count - 1), times, st.sampled_from(Status))
    step = st.one_of(
        st.builds(AddChecks, st.lists(added, min_size=1, max_size=12).map(tuple)),
        st.builds(AddChecks, st.lists(added, min_size=1, max_size=12).map(tuple)),
        st.builds(RollUp, times.map(lambda ago: max(ago, 0))),
        st.builds(RollUp, times.map(lambda ago: max(ago, 0))),
        st.builds(Delete, st.integers(0, count - 1)),
        st.just(Prune()),
        st.just(Verify()),
    )
    steps = tuple(draw(st.lists(step, min_size=1, max_size=8)))
    limit = draw(st.sampled_from([10, 1, 2, 3]))
    return Scenario(now_offset_ms, names, active, steps, limit)


async def play(storage: Storage, scenario: Scenario) -> None:
    """Run the scenario against the store, checking it against the brute force at each Verify and
    at the end."""
    now = scenario.now
    monitors = []
    for i, name in enumerate(scenario.names):
        added = await storage.add_monitor(name, f"http://{i}.example.com/", now - 40 * 86400)
        monitors.append(Monitored(added.id, name, added.url))
    to_activate = [m.id for m, on in zip(monitors, scenario.active, strict=True) if on]
    if to_activate:
        await storage.activate(to_activate)
    checks: list[tuple[int, float, Status]] = []
    deleted: set[int] = set()
    for step in scenario.steps:
        match step:
            case AddChecks(batch):
                rows = [
                    (monitors[a.monitor].id, (scenario.now_ms - a.ago_ms) / 1000, a.status)
                    for a in batch
                ]
                await storage.add_checks([make_check(*row) for row in rows])
                checks.extend(rows)
            case RollUp(ago_ms):
                await storage.roll_up((scenario.now_ms - ago_ms) / 1000)
            case Delete(index):
                if monitors[index].id not in deleted:
                    await storage.delete_monitor(monitors[index].id)
                    deleted.add(monitors[index].id)
            case Prune():
                await storage.prune(now, rollup_days=ROLLUP_DAYS)
            case Verify():
                await assert_exact(
                    storage, BruteForce(monitors, checks, deleted), now, scenario.limit
                )
    await assert_exact(storage, BruteForce(monitors, checks, deleted), now, scenario.limit)


# -- the backends, opened afresh for every example --


async def empty_every_table(storage: MySQLStorage) -> None:
    """Empty every table but the schema version: checks, monitors and cycles as open_mysql_storage
    does, and whatever tables the rollups live in. DELETE, not TRUNCATE: on tables this small it
    is several times faster, and no test here depends on the ids."""
    for (table,) in await storage.fetch("SHOW TABLES"):
        if table not in KEPT_TABLES:
            await storage.execute(f"DELETE FROM `{table}`")


@contextlib.asynccontextmanager
async def empty_store(backend: str) -> AsyncIterator[Storage]:
    """A store with no monitors, checks or rollups, and nothing in memory from an earlier example."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="windows-exact-") as directory:
            sqlite = await SQLiteStorage.open(Path(directory) / "store.sqlite3")
            try:
                yield sqlite
            finally:
                await sqlite.close()
        return
    mysql = await MySQLStorage.open(production_settings())
    try:
        await empty_every_table(mysql)
        yield mysql
    finally:
        await mysql.close()


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run on a loop of its own: the test is synchronous, so that each Hypothesis example runs
    from start to end on one loop, and the store opened on it never outlives it."""
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        runner.run(coroutine)


async def play_on(backend: str, scenario: Scenario) -> None:
    async with empty_store(backend) as storage:
        await play(storage, scenario)


async def leave_mysql_empty() -> None:
    # No rollups left behind for the tests that empty only the older tables.
    async with empty_store("mysql"):
        pass


@pytest.fixture(params=["sqlite", "mysql"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    name: str = request.param
    if name == "mysql":
        request.getfixturevalue("require_mysql")
    yield name
    if name == "mysql":
        run(leave_mysql_empty())


# Passing takes seconds; a failure shrinks for up to Hypothesis's own five minutes, and its
# example must be printed, not cut off by the suite's 120 s timeout.
@pytest.mark.timeout(600)
@settings(
    max_examples=60,
    deadline=None,
    # The fixture only names the backend; each example opens a store of its own.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(scenario=scenarios())
def test_top_summary_and_monitor_counts_match_a_brute_force_count_at_every_window_edge(
    backend: str, scenario: Scenario
) -> None:
    run(play_on(backend, scenario))


# -- the edges pinned by hand --

NOW = 1_800_000_000.0  # an hour boundary
# Where now falls in its hour: on the boundary, just after, mid-hour, just before.
INTO_HOUR = [0.0, 0.001, 1234.567, 3599.999]


def ok(monitor_id: int, at: float) -> Check:
    return make_check(monitor_id, at, Status.SUCCESS)


def bad(monitor_id: int, at: float) -> Check:
    return make_check(monitor_id, at, Status.FAIL)


@pytest.mark.parametrize("into_hour", INTO_HOUR)
@pytest.mark.parametrize("span", list(Span))
async def test_a_check_exactly_at_the_window_start_counts_and_one_millisecond_earlier_does_not(
    storage: Storage, span: Span, into_hour: float
) -> None:
    now = NOW + into_hour
    since = now - span.seconds
    m = await storage.add_monitor("a", "http://a.com", now - 40 * 86400)
    await storage.add_checks([ok(m.id, since), bad(m.id, since - 0.001), ok(m.id, now - 1)])
    # Every hour between the edge and now is rolled up, so the rollups answer for them.
    await storage.roll_up(now)
    assert await storage.top(Status.SUCCESS, since, 10) == [TopEntry("a", "http://a.com", 2)]
    assert await storage.top(Status.FAIL, since, 10) == []
    assert await storage.summary(since) == Counts(success=2, fail=0)
    assert await storage.monitor_counts(m.id, [since, since - 0.001, since + 0.001]) == [
        Counts(2, 0),
        Counts(2, 1),
        Counts(1, 0),
    ]


@pytest.mark.parametrize("into_hour", INTO_HOUR)
async def test_a_check_added_after_roll_up_passed_its_hour_is_counted_once(
    storage: Storage, into_hour: float
) -> None:
    now = NOW + into_hour
    m = await storage.add_monitor("a", "http://a.com", now - 40 * 86400)
    other = await storage.add_monitor("b", "http://b.com", now - 40 * 86400)
    await storage.add_checks([bad(other.id, now - 7200), bad(other.id, now - 3 * 86400)])
    await storage.roll_up(now)
    # Late: older than the hour roll_up has reached, at the edge of each window and between.
    late = [bad(m.id, now - span.seconds) for span in Span]
    late += [bad(m.id, now - 7200), bad(m.id, now - 3 * 86400 - 0.001)]
    await storage.add_checks(late)
    for rolled_again in (False, True):
        if rolled_again:
            await storage.roll_up(now)
        assert await storage.top(Status.FAIL, now - 3600, 10) == [TopEntry("a", "http://a.com", 1)]
        assert await storage.top(Status.FAIL, now - 7 * 86400, 10) == [
            TopEntry("a", "http://a.com", 4),
            TopEntry("b", "http://b.com", 2),
        ]
        assert await storage.summary(now - 30 * 86400) == Counts(success=0, fail=7)
        counts = await storage.monitor_counts(m.id, [now - span.seconds for span in Span])
        assert counts == [Counts(0, 1), Counts(0, 4), Counts(0, 5)]


@pytest.mark.parametrize("into_hour", INTO_HOUR)
async def test_prune_keeps_the_month_exact_to_its_first_millisecond(
    storage: Storage, into_hour: float
) -> None:
    now = NOW + into_hour
    month = now - 30 * 86400
    m = await storage.add_monitor("a", "http://a.com", now - 40 * 86400)
    await storage.add_checks(
        [
            ok(m.id, month),
            bad(m.id, month - 0.001),
            ok(m.id, month - 3600),  # kept, by the hour's margin, though outside every window
            ok(m.id, month - 3600 - 0.001),  # pruned
            ok(m.id, now - 1),
        ]
    )
    await storage.roll_up(now)
    await storage.prune(now, rollup_days=ROLLUP_DAYS)
    kept = [round(c.checked_at * 1000) for c in await storage.recent_checks(m.id, 10)]
    assert kept == [round(t * 1000) for t in (now - 1, month, month - 0.001, month - 3600)]
    assert await storage.summary(month) == Counts(success=2, fail=0)
    assert await storage.top(Status.SUCCESS, month, 10) == [TopEntry("a", "http://a.com", 2)]
    assert await storage.monitor_counts(m.id, [month, month + 0.001]) == [
        Counts(2, 0),
        Counts(1, 0),
    ]
