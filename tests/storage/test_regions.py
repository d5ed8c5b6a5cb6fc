"""A monitor's checks split by the region they were made from, on every backend: recent checks and
history filtered by region (history exact to the check although the rollups hold every region
together), and each region's newest check and counts in one query."""

from __future__ import annotations

from itertools import pairwise

from service_monitor.models import Bucket, Cause, Check, Counts, Status
from service_monitor.storage import Storage

HOUR = 3600.0
DAY = 24 * HOUR
BASE = 1_800_000_000.0 - 1_800_000_000.0 % DAY  # midnight UTC


def made(monitor_id: int, at: float, region: str, ok: bool = True, degraded: bool = False) -> Check:
    if ok:
        return Check(monitor_id, at, Status.SUCCESS, 200, 20, degraded=degraded, region=region)
    return Check(monitor_id, at, Status.FAIL, None, 30, Cause.TIMEOUT, "timed out", region=region)


async def _monitor_with_checks(storage: Storage) -> tuple[int, list[Check]]:
    monitor = await storage.add_monitor("a", "http://a.example", BASE)
    other = await storage.add_monitor("b", "http://b.example", BASE)
    checks = []
    for minute in range(0, 36 * 60, 20):  # a day and a half, every 20 minutes from each region
        at = BASE + minute * 60
        checks += [
            made(monitor.id, at + 1, "eu", ok=minute % 60 != 0),
            made(monitor.id, at + 2, "us", degraded=minute % 100 == 0),
            made(other.id, at + 3, "eu", ok=False),
        ]
    await storage.add_checks(checks)
    return monitor.id, checks


def _brute(checks: list[Check], monitor_id: int, region: str, bounds: list[float]) -> list[Bucket]:
    out = []
    for start, end in pairwise(bounds):
        mine = [
            c
            for c in checks
            if c.monitor_id == monitor_id and c.region == region and start <= c.checked_at < end
        ]
        ok = [c for c in mine if c.status is Status.SUCCESS]
        out.append(Bucket(len(ok), len(mine) - len(ok), sum(c.latency_ms for c in ok)))
    return out


async def test_recent_checks_of_one_region(storage: Storage) -> None:
    monitor_id, _ = await _monitor_with_checks(storage)
    everywhere = await storage.recent_checks(monitor_id, 4)
    assert [c.region for c in everywhere] == ["us", "eu", "us", "eu"]
    eu = await storage.recent_checks(monitor_id, 3, region="eu")
    assert [c.region for c in eu] == ["eu"] * 3
    assert eu[0].checked_at == everywhere[1].checked_at
    failed = await storage.recent_checks(monitor_id, 100, status=Status.FAIL, region="us")
    assert failed == []
    assert await storage.recent_checks(monitor_id, 5, region="asia") == []


async def test_history_of_one_region_is_exact_with_rollups_made(storage: Storage) -> None:
    monitor_id, checks = await _monitor_with_checks(storage)
    await storage.roll_up(BASE + DAY + 60)  # the rollups count both regions together
    hourly = [BASE + h * HOUR for h in range(37)]
    daily = [BASE, BASE + DAY, BASE + 2 * DAY]
    for bounds in (hourly, daily):
        for region in ("eu", "us"):
            found = await storage.history([monitor_id], bounds, region=region)
            assert found[monitor_id] == _brute(checks, monitor_id, region, bounds)
        both = (await storage.history([monitor_id], bounds))[monitor_id]
        eu = (await storage.history([monitor_id], bounds, region="eu"))[monitor_id]
        us = (await storage.history([monitor_id], bounds, region="us"))[monitor_id]
        assert both == [a + b for a, b in zip(eu, us, strict=True)]
    nowhere = await storage.history([monitor_id], daily, region="asia")
    assert nowhere == {monitor_id: [Bucket(), Bucket()]}


async def test_each_regions_newest_check_and_counts_in_one_read(storage: Storage) -> None:
    monitor_id, checks = await _monitor_with_checks(storage)
    end = BASE + 36 * HOUR
    since, counts_since = end - DAY, end - HOUR
    found = await storage.region_checks(monitor_id, since, counts_since)
    assert [r.region for r in found] == ["eu", "us"]
    for region in found:
        mine = [c for c in checks if c.monitor_id == monitor_id and c.region == region.region]
        assert region.last == max(mine, key=lambda c: c.checked_at)
        recent = [c for c in mine if c.checked_at >= counts_since]
        ok = [c for c in recent if c.status is Status.SUCCESS]
        expected = Counts(len(ok), len(recent) - len(ok), sum(c.degraded for c in ok))
        assert region.counts == expected
    assert found[0].counts.fail == 1  # the check on the hour failed from eu


async def test_regions_not_checked_lately_are_left_out(storage: Storage) -> None:
    monitor_id, _ = await _monitor_with_checks(storage)
    assert await storage.region_checks(monitor_id, BASE + 2 * DAY, BASE + 2 * DAY) == []
    quiet = await storage.add_monitor("quiet", "http://quiet.example", BASE)
    assert await storage.region_checks(quiet.id, BASE, BASE) == []
