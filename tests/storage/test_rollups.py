"""Rollups and retention, on every backend: statistics really come from the rollups once hours are
rolled up, stay exact around them, and 60 days of cycles leave 30 days of raw checks."""

from __future__ import annotations

from collections.abc import Sequence

from service_monitor.models import Check, Counts, Span, Status, TopEntry
from service_monitor.storage import Storage
from service_monitor.storage.sql import SQLStorage

HOUR = 3600.0
DAY = 24 * HOUR
# On an hour boundary, so the tests below can say exactly which hours are whole.
BASE = 1_800_000_000.0 - 1_800_000_000.0 % HOUR


def check(monitor_id: int, at: float, ok: bool = True, latency_ms: int = 10) -> Check:
    status = Status.SUCCESS if ok else Status.FAIL
    return Check(monitor_id, at, status, 200 if ok else 500, latency_ms)


async def raw_count(storage: Storage) -> int:
    assert isinstance(storage, SQLStorage)
    return int((await storage.fetch("SELECT COUNT(*) FROM checks"))[0][0])


async def rolled_hours(storage: Storage) -> list[int]:
    assert isinstance(storage, SQLStorage)
    rows = await storage.fetch("SELECT hour FROM rollup_hours ORDER BY hour")
    return [int(row[0]) for row in rows]


async def test_roll_up_adds_each_finished_hour_once(storage: Storage) -> None:
    monitor = await storage.add_monitor("a", "http://a.com", BASE)
    await storage.add_checks([check(monitor.id, BASE + h * HOUR + 60) for h in range(5)])

    # The oldest check's hour (all zeros) and the four hours after it that hold checks.
    assert await storage.roll_up(BASE + 4 * HOUR + 30) == 5
    assert await storage.roll_up(BASE + 4 * HOUR + 30) == 0
    first = int(BASE // HOUR)
    assert await rolled_hours(storage) == [first + h for h in range(5)]


async def test_roll_up_skips_hours_without_checks(storage: Storage) -> None:
    monitor = await storage.add_monitor("a", "http://a.com", BASE)
    await storage.add_checks([check(monitor.id, BASE + 60), check(monitor.id, BASE + 9 * HOUR)])

    await storage.roll_up(BASE + 10 * HOUR)

    first = int(BASE // HOUR)
    assert await rolled_hours(storage) == [first, first + 1, first + 10]


async def test_statistics_come_from_the_rollups_once_hours_are_rolled_up(storage: Storage) -> None:
    a = await storage.add_monitor("a", "http://a.com", BASE)
    b = await storage.add_monitor("b", "http://b.com", BASE)
    checks = [check(a.id, BASE + i * 600) for i in range(6 * 24 * 3)]  # 3 days, every 10 min
    checks += [check(b.id, BASE + i * 600 + 1, ok=i % 3 != 0) for i in range(6 * 24 * 3)]
    await storage.add_checks(checks)
    now = BASE + 3 * DAY
    await storage.roll_up(now)
    week_before = (
        await storage.top(Status.FAIL, now - Span.WEEK.seconds, 10),
        await storage.summary(now - Span.WEEK.seconds),
        await storage.monitor_counts(b.id, [now - Span.WEEK.seconds]),
    )

    # Raw checks of whole rolled-up hours are no longer read: removing them changes nothing.
    assert isinstance(storage, SQLStorage)
    await storage.execute("DELETE FROM checks WHERE checked_at < ?", (int((now - HOUR) * 1000),))

    assert week_before == (
        [TopEntry("b", "http://b.com", 6 * 24)],
        Counts(success=2 * 6 * 24 * 3 - 6 * 24, fail=6 * 24),
        [Counts(success=6 * 24 * 2, fail=6 * 24)],
    )
    assert await storage.top(Status.FAIL, now - Span.WEEK.seconds, 10) == week_before[0]
    assert await storage.summary(now - Span.WEEK.seconds) == week_before[1]
    assert await storage.monitor_counts(b.id, [now - Span.WEEK.seconds]) == week_before[2]


async def test_a_check_stored_after_its_hour_was_rolled_up_is_counted(storage: Storage) -> None:
    a = await storage.add_monitor("a", "http://a.com", BASE)
    late = await storage.add_monitor("late", "http://late.com", BASE)
    await storage.add_checks([check(a.id, BASE + h * HOUR) for h in range(6)])
    now = BASE + 6 * HOUR
    await storage.roll_up(now)

    # Stamped two hours ago, stored now (a slow compute's clock, say), by a monitor with no rollup.
    await storage.add_checks([check(late.id, now - 2 * HOUR - 0.5, ok=False)] * 2)

    since = now - 5 * HOUR
    assert await storage.top(Status.FAIL, since, 10) == [TopEntry("late", "http://late.com", 2)]
    assert await storage.summary(since) == Counts(success=5, fail=2)
    assert await storage.monitor_counts(late.id, [since, now - 2 * HOUR]) == [
        Counts(0, 2),
        Counts(0, 0),
    ]
    await storage.roll_up(now + HOUR)  # rolling up on top of the corrected rollups stays exact
    assert await storage.summary(since) == Counts(success=5, fail=2)


async def _brute_summary(checks: Sequence[Check], since: float) -> Counts:
    ok = sum(1 for c in checks if c.checked_at >= since and c.status is Status.SUCCESS)
    bad = sum(1 for c in checks if c.checked_at >= since and c.status is Status.FAIL)
    return Counts(ok, bad)


async def test_sixty_days_of_cycles_leave_thirty_days_of_raw_checks_and_exact_answers(
    storage: Storage,
) -> None:
    monitors = [await storage.add_monitor(n, f"http://{n}.com", BASE) for n in ("a", "b", "c")]
    made: list[Check] = []
    step = 6 * HOUR  # one simulated cycle every 6 hours keeps the test short
    now = BASE
    for cycle in range(int(60 * DAY / step)):
        now = BASE + cycle * step + 17.25  # off the hour, like a real cycle
        batch = [
            check(m.id, now + i, ok=(cycle + i) % 4 != 0, latency_ms=cycle % 50)
            for i, m in enumerate(monitors)
        ]
        made += batch
        await storage.add_checks(batch)
        await storage.roll_up(now + 5)
        await storage.prune(now + 5, rollup_days=40)
    end = now + 5

    oldest_kept = end - 30 * DAY - HOUR
    assert await raw_count(storage) == sum(1 for c in made if c.checked_at >= oldest_kept)
    assert await raw_count(storage) < len(made) / 2 + 3 * 10  # bounded: a month of 2
    for span in Span:
        since = end - span.seconds
        assert await storage.summary(since) == await _brute_summary(made, since), span
    hours = await rolled_hours(storage)
    end_hour = int(end // HOUR)
    # Hourly rollups for 31 days; before that one per day (the last at or before 00:00 UTC: these
    # checks come every 6 hours, never at midnight), within 40 days.
    older = [h for h in hours if h < end_hour - 31 * 24]
    assert older
    assert len({-(-h // 24) for h in older}) == len(older)  # one per day
    assert min(hours) > end_hour - 41 * 24
    # The daily ones still hold the totals as of their midnight.
    for hour in older:
        midnight = -(-hour // 24) * 24 * HOUR
        assert isinstance(storage, SQLStorage)
        rows = await storage.fetch(
            "SELECT SUM(success), SUM(fail) FROM rollups WHERE hour = ?", (hour,)
        )
        expected = await _brute_summary(made, 0)
        before = Counts(
            expected.success
            - sum(1 for c in made if c.checked_at >= midnight and c.status is Status.SUCCESS),
            expected.fail
            - sum(1 for c in made if c.checked_at >= midnight and c.status is Status.FAIL),
        )
        assert Counts(int(rows[0][0]), int(rows[0][1])) == before, hour


async def test_prune_removes_old_cycle_records_and_reports_its_batches(storage: Storage) -> None:
    from service_monitor.models import CycleOutcome, CycleRecord

    for days_ago in (50, 45, 1):
        at = BASE - days_ago * DAY
        await storage.record_cycle(CycleRecord(at, at + 10, CycleOutcome.DONE))
    monitor = await storage.add_monitor("a", "http://a.com", BASE)
    await storage.add_checks([check(monitor.id, BASE - 40 * DAY + i) for i in range(7)])

    report = await storage.prune(BASE, rollup_days=44, batch=3)

    assert (report.checks, report.cycles) == (7, 2)
    assert report.batches == 3 + 1  # 7 checks in batches of 3, and the two cycle records
    assert report.longest_batch_s > 0
    assert (await storage.cycle_totals()).by_outcome[CycleOutcome.DONE] == 1


async def test_top_and_summary_come_from_the_windows_stored_after_a_cycle(
    storage: Storage,
) -> None:
    a = await storage.add_monitor("a", "http://a.com", BASE)
    b = await storage.add_monitor("b", "http://b.com", BASE)
    now = BASE + 40 * DAY + 1234.5
    # Away from every window's edges, so no raw check is needed once the windows are stored.
    ages = [30 * 60, 3 * DAY, 20 * DAY]
    await storage.add_checks([check(a.id, now - age, ok=False) for age in ages])
    await storage.add_checks([check(b.id, now - age) for age in ages[1:]])
    await storage.roll_up(now, lead_s=300)

    assert isinstance(storage, SQLStorage)
    await storage.execute("DELETE FROM checks")
    later = now + 60  # a request during the next interval

    assert await storage.top(Status.FAIL, later - Span.HOUR.seconds, 10) == [
        TopEntry("a", "http://a.com", 1)
    ]
    assert await storage.top(Status.FAIL, later - Span.MONTH.seconds, 10) == [
        TopEntry("a", "http://a.com", 3)
    ]
    assert await storage.top(Status.SUCCESS, later - Span.WEEK.seconds, 10) == [
        TopEntry("b", "http://b.com", 1)
    ]
    assert await storage.summary(later - Span.MONTH.seconds) == Counts(success=2, fail=3)


async def test_a_check_stored_after_the_windows_is_counted_in_them(storage: Storage) -> None:
    a = await storage.add_monitor("a", "http://a.com", BASE)
    b = await storage.add_monitor("b", "http://b.com", BASE)
    now = BASE + 2 * DAY + 99.75
    await storage.add_checks([check(a.id, now - 600, ok=False)])
    await storage.roll_up(now, lead_s=300)

    # Stamped inside the stored windows, stored after them: counted, in the totals too.
    await storage.add_checks([check(b.id, now - 120, ok=False)] * 2)

    since = now + 30 - Span.HOUR.seconds
    assert await storage.top(Status.FAIL, since, 10) == [
        TopEntry("b", "http://b.com", 2),
        TopEntry("a", "http://a.com", 1),
    ]
    assert await storage.summary(now + 30 - Span.MONTH.seconds) == Counts(success=0, fail=3)


async def test_each_window_keeps_its_newest_two_generations(storage: Storage) -> None:
    a = await storage.add_monitor("a", "http://a.com", BASE)
    for cycle in range(4):
        at = BASE + cycle * 600
        await storage.add_checks([check(a.id, at)])
        await storage.roll_up(at + 1)
    await storage.roll_up(BASE + 1)  # an older time: nothing is stored twice or backwards

    assert isinstance(storage, SQLStorage)
    rows = await storage.fetch(
        "SELECT span, to_ms FROM window_bounds WHERE span <> 0 ORDER BY span, to_ms"
    )
    newest = [round((BASE + 2 * 600 + 1) * 1000), round((BASE + 3 * 600 + 1) * 1000)]
    assert rows == [(span.seconds, to) for span in Span for to in newest]
    stale = await storage.fetch("SELECT COUNT(*) FROM windows WHERE to_ms < ?", (newest[0],))
    assert stale == [(0,)]
