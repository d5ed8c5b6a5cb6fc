"""A monitor probed from several regions is down only when more than half of its regions are,
each region judging its own checks with the monitor's thresholds; run on every backend."""

from __future__ import annotations

from service_monitor.alerts import Health, quorum_down
from service_monitor.models import Check, Status
from service_monitor.storage import Storage

NOW = 1_800_000_000.0


async def _monitor(storage: Storage, regions: list[str]) -> int:
    added = await storage.add_monitor("multi", "http://multi.example", NOW)
    await storage.activate()
    await storage.set_schedule(added.id, interval=60, regions=regions)
    await storage.set_thresholds(added.id, failure=2, success=2)
    return added.id


def _checks(monitor_id: int, region: str, outcomes: str, start: int) -> list[Check]:
    """One check a minute from `start` (minutes after NOW): `f` failed, `s` succeeded."""
    return [
        Check(
            monitor_id=monitor_id,
            checked_at=NOW + 60 * (start + n),
            status=Status.SUCCESS if outcome == "s" else Status.FAIL,
            http_status=200 if outcome == "s" else None,
            latency_ms=5,
            detail=None if outcome == "s" else f"connect: refused in {region}",
            region=region,
            due_at_ms=int((NOW + 60 * (start + n)) * 1000),
        )
        for n, outcome in enumerate(outcomes)
    ]


async def _open_incidents(storage: Storage, monitor_id: int) -> int:
    return (await storage.incidents(open_only=True, limit=10, offset=0, monitor_id=monitor_id))[1]


async def test_one_region_of_three_failing_is_not_an_incident(storage: Storage) -> None:
    monitor_id = await _monitor(storage, ["eu", "us", "ap"])
    # us and ap are judged up before eu fails for the second time: one region down of three.
    await storage.add_checks(
        _checks(monitor_id, "us", "sssss", 0)
        + _checks(monitor_id, "ap", "ss", 0)
        + _checks(monitor_id, "eu", "ffff", 1)
    )
    assert await _open_incidents(storage, monitor_id) == 0
    health = (await storage.monitor_health([monitor_id]))[monitor_id]
    assert health.health is Health.UP


async def test_two_regions_of_three_down_open_one_incident_and_a_recovery_resolves_it(
    storage: Storage,
) -> None:
    monitor_id = await _monitor(storage, ["eu", "us", "ap"])
    await storage.add_checks(_checks(monitor_id, "ap", "ss", 0))
    await storage.add_checks(_checks(monitor_id, "eu", "ff", 2))
    assert await _open_incidents(storage, monitor_id) == 0  # one region down: no quorum
    await storage.add_checks(_checks(monitor_id, "us", "fff", 2))
    assert await _open_incidents(storage, monitor_id) == 1
    [incident], _ = await storage.incidents(open_only=True, limit=10, offset=0)
    assert incident.detail == "connect: refused in us"  # the check that made the quorum
    await storage.add_checks(_checks(monitor_id, "eu", "ff", 5))  # still down: nothing new
    assert (await storage.incidents(open_only=False, limit=10, offset=0))[1] == 1
    await storage.add_checks(_checks(monitor_id, "us", "ss", 6))  # us is up again: no quorum
    assert await _open_incidents(storage, monitor_id) == 0
    health = (await storage.monitor_health([monitor_id]))[monitor_id]
    assert health.health is Health.UP


async def test_a_replayed_batch_of_a_region_moves_nothing(storage: Storage) -> None:
    monitor_id = await _monitor(storage, ["eu", "us", "ap"])
    eu, us = _checks(monitor_id, "eu", "ff", 0), _checks(monitor_id, "us", "ff", 0)
    await storage.add_checks(eu)
    await storage.add_checks(us)
    assert await _open_incidents(storage, monitor_id) == 1
    await storage.add_checks(_checks(monitor_id, "eu", "ss", 2))  # eu up: resolved
    assert await _open_incidents(storage, monitor_id) == 0
    await storage.add_checks(us)  # a redelivered shard: stored once, judged once
    assert await _open_incidents(storage, monitor_id) == 0
    assert (await storage.incidents(open_only=False, limit=10, offset=0))[1] == 1


async def test_of_two_regions_both_must_be_down(storage: Storage) -> None:
    monitor_id = await _monitor(storage, ["eu", "us"])
    await storage.add_checks(
        _checks(monitor_id, "us", "sss", 0) + _checks(monitor_id, "eu", "fff", 1)
    )
    assert await _open_incidents(storage, monitor_id) == 0  # eu down, us up: no quorum
    await storage.add_checks(_checks(monitor_id, "us", "ff", 3))
    assert await _open_incidents(storage, monitor_id) == 1


async def test_a_region_that_stopped_reporting_no_longer_votes(storage: Storage) -> None:
    monitor_id = await _monitor(storage, ["eu", "us"])  # every minute: stale after 3 minutes
    await storage.add_checks(
        _checks(monitor_id, "eu", "ss", 0) + _checks(monitor_id, "us", "ss", 0)
    )
    # us's workers are gone after minute 1. eu fails from minute 3: at minute 4 eu is down and
    # us's verdict 3 minutes old still votes up; at minute 5 it no longer does, eu alone decides.
    await storage.add_checks(_checks(monitor_id, "eu", "ff", 3))
    assert await _open_incidents(storage, monitor_id) == 0
    await storage.add_checks(_checks(monitor_id, "eu", "f", 5))
    assert await _open_incidents(storage, monitor_id) == 1


async def test_a_region_that_never_reported_does_not_vote(storage: Storage) -> None:
    monitor_id = await _monitor(storage, ["eu", "us"])
    await storage.add_checks(_checks(monitor_id, "eu", "ff", 0))  # us has no worker at all
    assert await _open_incidents(storage, monitor_id) == 1


async def test_a_check_from_a_region_the_monitor_is_not_probed_from_judges_nothing(
    storage: Storage,
) -> None:
    monitor_id = await _monitor(storage, ["eu", "us"])
    await storage.add_checks(_checks(monitor_id, "ap", "fff", 0))
    health = (await storage.monitor_health([monitor_id]))[monitor_id]
    assert health.health is Health.UNKNOWN


def test_a_quorum_is_more_than_half() -> None:
    assert [quorum_down(down, 3) for down in range(4)] == [False, False, True, True]
    assert [quorum_down(down, 2) for down in range(3)] == [False, False, True]
    assert quorum_down(1, 1)
