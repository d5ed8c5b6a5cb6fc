"""The dashboard's reads on every backend: bucketed history (exact, and really from the rollups),
each monitor's last check, searching monitors, and filtering recent checks."""

from __future__ import annotations

import random
from collections.abc import Sequence
from itertools import pairwise

from service_monitor.models import Bucket, Cause, Check, Status
from service_monitor.storage import Storage
from service_monitor.storage.sql import SQLStorage

HOUR = 3600.0
DAY = 24 * HOUR
BASE = 1_800_000_000.0 - 1_800_000_000.0 % DAY  # midnight UTC


def check(monitor_id: int, at: float, ok: bool, latency_ms: int = 10) -> Check:
    if ok:
        return Check(monitor_id, at, Status.SUCCESS, 200, latency_ms)
    return Check(monitor_id, at, Status.FAIL, None, latency_ms, Cause.TIMEOUT)


def brute(checks: Sequence[Check], monitor_id: int, bounds: Sequence[float]) -> list[Bucket]:
    out = []
    for start, end in pairwise(bounds):
        mine = [c for c in checks if c.monitor_id == monitor_id and start <= c.checked_at < end]
        ok = [c for c in mine if c.status is Status.SUCCESS]
        out.append(Bucket(len(ok), len(mine) - len(ok), sum(c.latency_ms for c in ok)))
    return out


async def test_history_is_exact_to_the_check_around_rolled_up_and_raw_hours(
    storage: Storage,
) -> None:
    rng = random.Random(7)
    a = await storage.add_monitor("a", "http://a.com", BASE)
    b = await storage.add_monitor("b", "http://b.com", BASE)
    never = await storage.add_monitor("c", "http://c.com", BASE)
    made: list[Check] = []
    now = BASE
    for cycle in range(3 * 24 * 2):  # three days, a cycle every 30 min, off the hour
        now = BASE + cycle * 1800 + 17.5
        batch = [
            check(m.id, now + i, ok=rng.random() < 0.8, latency_ms=rng.randrange(5, 500))
            for i, m in enumerate((a, b))
            if not (m is b and 30 <= cycle < 40)  # b was away for five hours
        ]
        made += batch
        await storage.add_checks(batch)
        if cycle % 5 == 0:
            await storage.roll_up(now + 60)
    # A late check for an hour already rolled up, and some checks after the last roll-up.
    late = [check(a.id, BASE + 5 * HOUR + 1, ok=False), check(b.id, now + 70, ok=True)]
    made += late
    await storage.add_checks(late)

    hourly = [BASE + DAY + h * HOUR for h in range(49)]
    daily = [BASE + d * DAY for d in range(4)]
    odd = [BASE + 123.4, BASE + 5 * HOUR + 0.5, now + 71]  # not on hours: all raw
    for bounds in (hourly, daily, odd):
        got = await storage.history([a.id, b.id, never.id], bounds)
        assert got[a.id] == brute(made, a.id, bounds)
        assert got[b.id] == brute(made, b.id, bounds)
        assert got[never.id] == [Bucket()] * (len(bounds) - 1)


async def test_history_of_rolled_up_hours_comes_from_the_rollups(storage: Storage) -> None:
    monitor = await storage.add_monitor("a", "http://a.com", BASE)
    await storage.add_checks([check(monitor.id, BASE + i * 600, ok=i % 2 == 0) for i in range(36)])
    await storage.roll_up(BASE + 6 * HOUR + 1)
    assert isinstance(storage, SQLStorage)
    # With the raw checks gone, only the rollups can still answer for whole hours.
    await storage.execute("DELETE FROM checks")

    got = await storage.history([monitor.id], [BASE + h * HOUR for h in range(7)])

    assert [(x.success, x.fail) for x in got[monitor.id]] == [(3, 3)] * 6


async def test_history_with_no_monitors_or_one_bound_is_empty(storage: Storage) -> None:
    monitor = await storage.add_monitor("a", "http://a.com", BASE)
    assert await storage.history([], [BASE, BASE + HOUR]) == {}
    assert await storage.history([monitor.id], [BASE]) == {monitor.id: []}


async def test_last_checks_are_each_monitors_newest(storage: Storage) -> None:
    a = await storage.add_monitor("a", "http://a.com", BASE)
    b = await storage.add_monitor("b", "http://b.com", BASE)
    never = await storage.add_monitor("c", "http://c.com", BASE)
    await storage.add_checks(
        [check(a.id, BASE + 2, ok=False), check(a.id, BASE + 1, ok=True), check(b.id, BASE, True)]
    )

    last = await storage.last_checks([a.id, b.id, never.id])

    assert last == {a.id: check(a.id, BASE + 2, ok=False), b.id: check(b.id, BASE, ok=True)}
    assert await storage.last_checks([]) == {}


async def test_search_matches_name_or_url_whatever_the_case(storage: Storage) -> None:
    shop = await storage.add_monitor("Shop front", "https://shop.example.com/", BASE)
    api = await storage.add_monitor("api", "https://API.example.com/v1", BASE)
    odd = await storage.add_monitor("100%_sure", "https://odd.example.com/", BASE)
    await storage.add_monitor("other", "https://other.example.org/", BASE)

    async def found(text: str) -> tuple[list[int], int]:
        page, total = await storage.list_monitors(10, 0, text)
        return [m.id for m in page], total

    assert await found("SHOP") == ([shop.id], 1)
    assert await found("api.example") == ([api.id], 1)
    assert await found("example.com") == ([shop.id, api.id, odd.id], 3)
    # % and _ are the text itself, not wildcards.
    assert await found("0%_") == ([odd.id], 1)
    assert await found("%") == ([odd.id], 1)
    assert await found("_") == ([odd.id], 1)
    assert await found("nothing like it") == ([], 0)
    page, total = await storage.list_monitors(1, 1, "example")
    assert ([m.id for m in page], total) == ([api.id], 4)


async def test_recent_checks_filter_by_status_and_time(storage: Storage) -> None:
    monitor = await storage.add_monitor("a", "http://a.com", BASE)
    checks = [check(monitor.id, BASE + i, ok=i % 3 != 0) for i in range(10)]
    await storage.add_checks(checks)

    failed = await storage.recent_checks(monitor.id, 10, status=Status.FAIL)
    assert [c.checked_at for c in failed] == [BASE + 9, BASE + 6, BASE + 3, BASE]
    since = await storage.recent_checks(monitor.id, 10, status=Status.FAIL, since=BASE + 4)
    assert [c.checked_at for c in since] == [BASE + 9, BASE + 6]
    assert len(await storage.recent_checks(monitor.id, 2, since=BASE + 4)) == 2
