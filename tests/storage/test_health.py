"""HealthStore against both backends: add_checks moves each monitor's health along its checks, opens
and resolves incidents and queues their notifications in the same transaction, once; reconcile
closes what start-up finds should be closed; the storm guard's counts."""

from __future__ import annotations

import pytest

from service_monitor.alerts import (
    Delivery,
    Health,
    Incident,
    Notification,
    NotificationKind,
    Thresholds,
)
from service_monitor.errors import IncidentNotFound, MonitorNotFound
from service_monitor.models import Cause
from service_monitor.storage import Storage
from tests.storage.alerting import NOW, bad, channel, ok, probed_monitor


async def health_of(storage: Storage, monitor_id: int) -> Health:
    return (await storage.monitor_health([monitor_id]))[monitor_id].health


async def all_notifications(storage: Storage) -> list[Notification]:
    found, _ = await storage.notifications(limit=1000, offset=0)
    return sorted(found, key=lambda n: n.id)


async def test_a_monitor_is_unknown_until_checked_then_down_after_three_failures_and_up_after_two_successes(
    storage: Storage,
) -> None:
    m = await probed_monitor(storage)
    health = (await storage.monitor_health([m]))[m]
    assert (health.health, health.failures, health.successes, health.since) == (
        Health.UNKNOWN,
        0,
        0,
        None,
    )
    await storage.add_checks([bad(m, NOW), bad(m, NOW + 60)])
    assert await health_of(storage, m) is Health.UNKNOWN
    await storage.add_checks([bad(m, NOW + 120)])
    health = (await storage.monitor_health([m]))[m]
    assert (health.health, health.failures, health.since) == (Health.DOWN, 3, NOW + 120)
    assert health.incident_id is not None
    await storage.add_checks([ok(m, NOW + 180)])
    assert await health_of(storage, m) is Health.DOWN
    await storage.add_checks([ok(m, NOW + 240)])
    health = (await storage.monitor_health([m]))[m]
    assert (health.health, health.successes, health.since, health.incident_id) == (
        Health.UP,
        2,
        NOW + 240,
        None,
    )


async def test_a_new_monitor_that_works_becomes_up_quietly(storage: Storage) -> None:
    m = await probed_monitor(storage)
    await channel(storage, "ops", is_default=True)
    await storage.add_checks([ok(m, NOW), ok(m, NOW + 60)])
    assert await health_of(storage, m) is Health.UP
    assert await storage.incidents(open_only=False, limit=10, offset=0) == ([], 0)
    assert await all_notifications(storage) == []


async def test_a_monitors_own_thresholds_replace_the_store_defaults(storage: Storage) -> None:
    storage.default_thresholds = Thresholds(failure=2, success=1)
    own, defaulted = await probed_monitor(storage, "own"), await probed_monitor(storage, "dflt")
    await storage.set_thresholds(own, 4, None)
    assert await storage.thresholds(own) == (4, None)
    assert await storage.thresholds(defaulted) == (None, None)
    await storage.add_checks([bad(m, NOW + i) for i in range(3) for m in (own, defaulted)])
    assert await health_of(storage, defaulted) is Health.DOWN  # 2 of the defaults
    assert await health_of(storage, own) is Health.UNKNOWN  # 3 of its own 4
    await storage.add_checks([bad(own, NOW + 10)])
    assert await health_of(storage, own) is Health.DOWN
    await storage.add_checks([ok(own, NOW + 20), ok(defaulted, NOW + 20)])
    assert await health_of(storage, own) is Health.UP  # its success threshold is the default 1
    await storage.set_thresholds(own, None, None)
    assert await storage.thresholds(own) == (None, None)


async def test_thresholds_of_an_unknown_monitor_are_not_found_and_out_of_range_ones_refused(
    storage: Storage,
) -> None:
    with pytest.raises(MonitorNotFound):
        await storage.thresholds(999)
    with pytest.raises(MonitorNotFound):
        await storage.set_thresholds(999, 3, 2)
    m = await probed_monitor(storage)
    with pytest.raises(ValueError, match="failure threshold 0"):
        await storage.set_thresholds(m, 0, None)
    with pytest.raises(ValueError, match="success threshold 101"):
        await storage.set_thresholds(m, None, 101)


async def test_an_incident_opens_with_the_first_failures_time_cause_and_detail(
    storage: Storage,
) -> None:
    m = await probed_monitor(storage)
    await storage.add_checks(
        [
            ok(m, NOW - 60),
            bad(m, NOW, Cause.DNS, "name not resolved"),
            bad(m, NOW + 60, Cause.TIMEOUT, "timed out"),
        ]
    )
    await storage.add_checks([bad(m, NOW + 120, Cause.CONNECT, "refused")])
    incidents, total = await storage.incidents(open_only=True, limit=10, offset=0)
    assert total == 1
    assert incidents == [
        Incident(
            id=incidents[0].id,
            monitor_id=m,
            started_at=NOW,
            opened_at=NOW + 120,
            cause=Cause.DNS,
            detail="name not resolved",
        )
    ]
    assert incidents[0].is_open
    assert await storage.get_incident(incidents[0].id) == incidents[0]


async def test_a_recovery_resolves_the_incident_with_its_duration(storage: Storage) -> None:
    m = await probed_monitor(storage)
    await storage.add_checks([bad(m, NOW + i * 60) for i in range(5)] + [ok(m, NOW + 600)])
    await storage.add_checks([ok(m, NOW + 660)])
    (incident,), _ = await storage.incidents(open_only=False, limit=10, offset=0)
    assert (incident.resolved_at, incident.resolution) == (NOW + 660, "recovered")
    assert incident.duration(NOW + 99_999) == 660
    assert await storage.incidents(open_only=True, limit=10, offset=0) == ([], 0)


async def test_checks_of_one_batch_are_judged_in_the_order_they_were_made(
    storage: Storage,
) -> None:
    m = await probed_monitor(storage)
    await storage.add_checks(
        [bad(m, NOW + 120), ok(m, NOW + 180), bad(m, NOW), bad(m, NOW + 60), ok(m, NOW + 240)]
    )
    (incident,), _ = await storage.incidents(open_only=False, limit=10, offset=0)
    assert (incident.started_at, incident.opened_at, incident.resolved_at) == (
        NOW,
        NOW + 120,
        NOW + 240,
    )


async def test_each_transition_queues_one_notification_per_channel_even_when_add_checks_is_replayed(
    storage: Storage,
) -> None:
    m = await probed_monitor(storage)
    first = await channel(storage, "first", is_default=True)
    second = await channel(storage, "second", is_default=True)
    batch = [bad(m, NOW + i) for i in range(3)] + [ok(m, NOW + 10), ok(m, NOW + 11)]
    for _ in range(3):
        await storage.add_checks(batch)
    (incident,), total = await storage.incidents(open_only=False, limit=10, offset=0)
    assert total == 1
    queued = await all_notifications(storage)
    assert [(n.key, n.kind, n.channel_id, n.state, n.attempts) for n in queued] == [
        (f"incident:{incident.id}:down:channel:{first.id}", NotificationKind.DOWN, first.id, Delivery.PENDING, 0),
        (f"incident:{incident.id}:down:channel:{second.id}", NotificationKind.DOWN, second.id, Delivery.PENDING, 0),
        (f"incident:{incident.id}:resolved:channel:{first.id}", NotificationKind.RESOLVED, first.id, Delivery.PENDING, 0),
        (f"incident:{incident.id}:resolved:channel:{second.id}", NotificationKind.RESOLVED, second.id, Delivery.PENDING, 0),
    ]  # fmt: skip
    assert all(n.incident_id == incident.id and n.monitor_id == m for n in queued)
    assert [n.created_at for n in queued] == [NOW + 2, NOW + 2, NOW + 11, NOW + 11]
    assert [n.next_attempt_at for n in queued] == [n.created_at for n in queued]


async def test_a_monitor_naming_channels_is_told_on_those_and_not_on_the_defaults(
    storage: Storage,
) -> None:
    named_one, plain = await probed_monitor(storage, "named"), await probed_monitor(storage, "p")
    await channel(storage, "default", is_default=True)
    pager = await channel(storage, "pager")
    await storage.set_monitor_channels(named_one, [pager.id])
    await storage.add_checks([bad(m, NOW + i) for i in range(3) for m in (named_one, plain)])
    told = {(n.monitor_id, n.channel_id) for n in await all_notifications(storage)}
    default_id = (await storage.list_channels())[0].id
    assert told == {(named_one, pager.id), (plain, default_id)}


async def test_a_monitor_without_channels_and_no_defaults_opens_an_incident_and_queues_nothing(
    storage: Storage,
) -> None:
    m = await probed_monitor(storage)
    await channel(storage, "not-default")
    await storage.add_checks([bad(m, NOW + i) for i in range(3)])
    assert (await storage.incidents(open_only=True, limit=10, offset=0))[1] == 1
    assert await all_notifications(storage) == []


async def test_a_channel_with_send_resolved_off_is_told_down_but_not_resolved(
    storage: Storage,
) -> None:
    m = await probed_monitor(storage)
    quiet = await channel(storage, "quiet", is_default=True, send_resolved=False)
    loud = await channel(storage, "loud", is_default=True)
    await storage.add_checks([bad(m, NOW + i) for i in range(3)] + [ok(m, NOW + 5), ok(m, NOW + 6)])
    kinds = {(n.channel_id, n.kind) for n in await all_notifications(storage)}
    assert kinds == {
        (quiet.id, NotificationKind.DOWN),
        (loud.id, NotificationKind.DOWN),
        (loud.id, NotificationKind.RESOLVED),
    }


async def test_a_check_of_an_unknown_or_deleted_monitor_is_stored_and_breaks_nothing_in_its_batch(
    storage: Storage,
) -> None:
    m = await probed_monitor(storage)
    gone = await probed_monitor(storage, "gone")
    await storage.delete_monitor(gone)
    await storage.add_checks([bad(n, NOW + i) for i in range(3) for n in (m, gone, 9999)])
    assert len(await storage.recent_checks(9999, 10)) == 3
    assert len(await storage.recent_checks(gone, 10)) == 3
    assert await health_of(storage, m) is Health.DOWN
    assert await health_of(storage, gone) is Health.UNKNOWN
    assert await health_of(storage, 9999) is Health.UNKNOWN
    assert (await storage.incidents(open_only=False, limit=10, offset=0))[1] == 1


async def test_a_check_older_than_the_newest_judged_one_moves_nothing(storage: Storage) -> None:
    m = await probed_monitor(storage)
    await storage.add_checks([ok(m, NOW + i) for i in range(2)])
    await storage.add_checks([bad(m, NOW - 100 + i) for i in range(3)])  # late checks
    health = (await storage.monitor_health([m]))[m]
    assert (health.health, health.failures) == (Health.UP, 0)


async def test_health_counts_cover_every_monitored_monitor_and_every_health(
    storage: Storage,
) -> None:
    up, down = await probed_monitor(storage, "up"), await probed_monitor(storage, "down")
    await probed_monitor(storage, "new")
    gone = await probed_monitor(storage, "gone")
    await storage.add_checks(
        [ok(up, NOW), ok(up, NOW + 1)] + [bad(m, NOW + i) for i in range(3) for m in (down, gone)]
    )
    await storage.delete_monitor(gone)
    assert await storage.health_counts() == {Health.UP: 1, Health.DOWN: 1, Health.UNKNOWN: 1}


async def test_incidents_page_newest_first_open_or_all_of_every_monitor_or_one(
    storage: Storage,
) -> None:
    a, b = await probed_monitor(storage, "a"), await probed_monitor(storage, "b")
    # a: down and back up; b: down and back up; a: down again, still open.
    await storage.add_checks([bad(a, NOW + i) for i in range(3)] + [ok(a, NOW + 5), ok(a, NOW + 6)])
    await storage.add_checks(
        [bad(b, NOW + i) for i in range(10, 13)] + [ok(b, NOW + 15), ok(b, NOW + 16)]
    )
    await storage.add_checks([bad(a, NOW + i) for i in range(20, 23)])
    everything, total = await storage.incidents(open_only=False, limit=2, offset=0)
    assert total == 3
    assert [i.monitor_id for i in everything] == [a, b]
    rest, _ = await storage.incidents(open_only=False, limit=2, offset=2)
    assert [i.monitor_id for i in rest] == [a]
    opened, open_total = await storage.incidents(open_only=True, limit=10, offset=0)
    assert (open_total, [i.monitor_id for i in opened]) == (1, [a])
    of_a, a_total = await storage.incidents(open_only=False, limit=10, offset=0, monitor_id=a)
    assert a_total == 2
    assert [i.is_open for i in of_a] == [True, False]
    with pytest.raises(IncidentNotFound):
        await storage.get_incident(12345)


async def test_a_deleted_monitors_incident_stays_open_until_reconcile_resolves_it(
    storage: Storage,
) -> None:
    m = await probed_monitor(storage)
    default = await channel(storage, "ops", is_default=True)
    await storage.add_checks([bad(m, NOW + i) for i in range(3)])
    await storage.delete_monitor(m)
    (incident,), _ = await storage.incidents(open_only=True, limit=10, offset=0)
    assert await storage.reconcile(NOW + 500) == 1
    resolved = await storage.get_incident(incident.id)
    assert (resolved.resolved_at, resolved.resolution) == (NOW + 500, "monitor deleted")
    resolved_kinds = [
        (n.kind, n.channel_id, n.created_at)
        for n in await all_notifications(storage)
        if n.kind is NotificationKind.RESOLVED
    ]
    assert resolved_kinds == [(NotificationKind.RESOLVED, default.id, NOW + 500)]
    assert await storage.reconcile(NOW + 600) == 0
    # Brought back, it starts again from unknown.
    await storage.add_monitor("a", "http://a.example.com", NOW + 700)
    assert await health_of(storage, m) is Health.UNKNOWN


async def test_reconcile_resolves_an_incident_whose_lowered_success_threshold_is_met(
    storage: Storage,
) -> None:
    m = await probed_monitor(storage)
    await channel(storage, "ops", is_default=True)
    await storage.set_thresholds(m, None, 3)
    await storage.add_checks([bad(m, NOW + i) for i in range(3)] + [ok(m, NOW + 5), ok(m, NOW + 6)])
    assert await storage.reconcile(NOW + 100) == 0  # 2 of 3 successes: still down
    await storage.set_thresholds(m, None, 2)
    assert await storage.reconcile(NOW + 100) == 1
    (incident,), _ = await storage.incidents(open_only=False, limit=10, offset=0)
    assert (incident.resolved_at, incident.resolution) == (NOW + 100, "recovered")
    health = (await storage.monitor_health([m]))[m]
    assert (health.health, health.since, health.incident_id) == (Health.UP, NOW + 100, None)
    assert [n.kind for n in await all_notifications(storage)] == [
        NotificationKind.DOWN,
        NotificationKind.RESOLVED,
    ]
    # The next success changes nothing more.
    await storage.add_checks([ok(m, NOW + 200)])
    assert len(await all_notifications(storage)) == 2


async def test_network_failures_count_monitors_by_their_newest_check_and_the_canaries(
    storage: Storage,
) -> None:
    ids = [await probed_monitor(storage, f"m{i}") for i in range(4)]
    canary = await storage.add_monitor("canary", "https://Canary.example.com:443/", NOW)
    await storage.activate([canary.id])
    stale = await probed_monitor(storage, "stale")
    await storage.add_checks(
        [
            bad(stale, NOW - 500, Cause.DNS),  # before `since`: not counted
            bad(ids[0], NOW - 10, Cause.DNS),
            ok(ids[0], NOW),  # its newest check works
            bad(ids[1], NOW, Cause.CONNECT),
            bad(ids[2], NOW, Cause.HTTP_STATUS),  # the target answered: not a network cause
            bad(ids[3], NOW, Cause.TIMEOUT),
            bad(canary.id, NOW, Cause.TLS),
        ]
    )
    assert await storage.network_failures(NOW - 60) == (5, 3, 0, 0)
    assert await storage.network_failures(
        NOW - 60, ["https://canary.example.com", "https://never-added.example.com"]
    ) == (5, 3, 1, 1)
    assert await storage.network_failures(NOW + 1, ["https://canary.example.com"]) == (0, 0, 0, 0)
