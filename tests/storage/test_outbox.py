"""OutboxStore against both backends: queued once by key, claimed under a lease that no second
claimer breaks and that expires, marked sent, retried or failed, moved between states; paged and
counted; and retention of finished notifications and resolved incidents."""

from __future__ import annotations

import asyncio

from service_monitor.alerts import ChannelType, Delivery, NotificationKind
from service_monitor.storage import Storage
from tests.storage.alerting import NOW, bad, channel, ok, probed_monitor

DAY = 86_400.0


async def test_a_key_is_queued_once(storage: Storage) -> None:
    ops = await channel(storage, "ops")
    first = await storage.queue_notification(
        "storm:1:channel:1", NotificationKind.STORM, ops.id, NOW, body='{"n": 3}'
    )
    assert first is not None
    assert (first.key, first.kind, first.state, first.attempts, first.body) == (
        "storm:1:channel:1",
        NotificationKind.STORM,
        Delivery.PENDING,
        0,
        '{"n": 3}',
    )
    assert (first.created_at, first.next_attempt_at, first.incident_id) == (NOW, NOW, None)
    again = await storage.queue_notification(
        "storm:1:channel:1", NotificationKind.STORM, ops.id, NOW + 5
    )
    assert again is None
    held = await storage.queue_notification(
        "digest:1", NotificationKind.DIGEST, ops.id, NOW, state=Delivery.HELD
    )
    assert held is not None
    assert held.state is Delivery.HELD
    assert (await storage.notifications(limit=10, offset=0))[1] == 2


async def queue(storage: Storage, channel_id: int, count: int, at: float = NOW) -> list[int]:
    ids = []
    for index in range(count):
        queued = await storage.queue_notification(
            f"k{at}:{index}", NotificationKind.REMINDER, channel_id, at + index
        )
        assert queued is not None
        ids.append(queued.id)
    return ids


async def test_due_rows_are_claimed_oldest_first_and_a_leased_one_not_again(
    storage: Storage,
) -> None:
    ops = await channel(storage, "ops")
    ids = await queue(storage, ops.id, 4)
    await storage.queue_notification("later", NotificationKind.REMINDER, ops.id, NOW + 100)
    claimed = await storage.claim_due(NOW + 10, limit=3, lease=30, owner="a")
    assert [n.id for n in claimed] == ids[:3]
    rest = await storage.claim_due(NOW + 10, limit=10, lease=30, owner="b")
    assert [n.id for n in rest] == ids[3:]  # the one due later is not due yet
    assert await storage.claim_due(NOW + 20, limit=10, lease=30, owner="c") == []


async def test_an_expired_lease_is_claimable_again(storage: Storage) -> None:
    ops = await channel(storage, "ops")
    (only,) = await queue(storage, ops.id, 1)
    assert [n.id for n in await storage.claim_due(NOW, limit=5, lease=30, owner="dead")] == [only]
    assert await storage.claim_due(NOW + 29, limit=5, lease=30, owner="b") == []
    again = await storage.claim_due(NOW + 30, limit=5, lease=30, owner="b")
    assert [n.id for n in again] == [only]


async def test_two_claimers_at_once_never_get_the_same_row(storage: Storage) -> None:
    ops = await channel(storage, "ops")
    ids = await queue(storage, ops.id, 40)
    claims = await asyncio.gather(
        *(storage.claim_due(NOW + 100, limit=7, lease=60, owner=f"d{i}") for i in range(8))
    )
    taken = [n.id for claim in claims for n in claim]
    assert len(taken) == len(set(taken))
    assert sorted(taken) == ids


async def test_sent_retried_and_failed_are_recorded_with_attempts_and_the_lease_released(
    storage: Storage,
) -> None:
    ops = await channel(storage, "ops")
    sent, retried, failed = await queue(storage, ops.id, 3)
    await storage.claim_due(NOW + 5, limit=3, lease=30, owner="a")
    await storage.mark_sent(sent, NOW + 6)
    await storage.mark_retry(retried, NOW + 16, "HTTP 500 " + "x" * 600)
    await storage.mark_failed(failed, NOW + 7, "gave up")
    rows = {n.id: n for n in (await storage.notifications(limit=10, offset=0))[0]}
    assert (rows[sent].state, rows[sent].sent_at, rows[sent].attempts) == (
        Delivery.SENT,
        NOW + 6,
        1,
    )
    assert (rows[retried].state, rows[retried].next_attempt_at, rows[retried].attempts) == (
        Delivery.PENDING,
        NOW + 16,
        1,
    )
    assert len(rows[retried].last_error or "") == 500
    assert (rows[failed].state, rows[failed].last_error) == (Delivery.FAILED, "gave up")
    # The retried one is due again at its time, its lease released.
    assert await storage.claim_due(NOW + 15, limit=5, lease=30, owner="b") == []
    again = await storage.claim_due(NOW + 16, limit=5, lease=30, owner="b")
    assert [n.id for n in again] == [retried]


async def test_set_delivery_holds_releases_merges_and_drops(storage: Storage) -> None:
    ops = await channel(storage, "ops")
    a, b, c = await queue(storage, ops.id, 3)
    await storage.claim_due(NOW + 5, limit=3, lease=300, owner="x")
    await storage.set_delivery([a, b], Delivery.HELD, why="storm", next_attempt_at=NOW + 600)
    assert await storage.claim_due(NOW + 200, limit=5, lease=30, owner="y") == []  # c leased
    await storage.set_delivery([a], Delivery.PENDING)
    claimed = await storage.claim_due(NOW + 700, limit=5, lease=30, owner="y")
    assert [n.id for n in claimed] == [c, a]  # c's lease ran out; a is due at NOW + 600
    digest = await storage.queue_notification("digest", NotificationKind.DIGEST, ops.id, NOW)
    assert digest is not None
    await storage.set_delivery([b], Delivery.MERGED, digest_id=digest.id)
    await storage.set_delivery([c], Delivery.DROPPED, why="resolved during maintenance")
    rows = {n.id: n for n in (await storage.notifications(limit=10, offset=0))[0]}
    assert (rows[b].state, rows[b].digest_id, rows[b].last_error) == (
        Delivery.MERGED,
        digest.id,
        "storm",
    )
    assert (rows[c].state, rows[c].last_error) == (Delivery.DROPPED, "resolved during maintenance")
    assert rows[a].next_attempt_at == NOW + 600


async def test_notifications_page_newest_first_filtered_by_incident_state_and_kind(
    storage: Storage,
) -> None:
    m = await probed_monitor(storage)
    ops = await channel(storage, "ops", is_default=True)
    await storage.add_checks([bad(m, NOW + i) for i in range(3)] + [ok(m, NOW + 5), ok(m, NOW + 6)])
    reminder = await storage.queue_notification("r", NotificationKind.REMINDER, ops.id, NOW)
    assert reminder is not None
    page, total = await storage.notifications(limit=2, offset=0)
    assert total == 3
    assert [n.kind for n in page] == [NotificationKind.REMINDER, NotificationKind.RESOLVED]
    (incident,), _ = await storage.incidents(open_only=False, limit=1, offset=0)
    of_incident, count = await storage.notifications(limit=10, offset=0, incident_id=incident.id)
    assert count == 2
    assert [n.kind for n in of_incident] == [NotificationKind.RESOLVED, NotificationKind.DOWN]
    downs, _ = await storage.notifications(
        limit=10, offset=0, state=Delivery.PENDING, kinds=[NotificationKind.DOWN]
    )
    assert [n.kind for n in downs] == [NotificationKind.DOWN]
    assert await storage.notifications(limit=10, offset=0, state=Delivery.SENT) == ([], 0)


async def test_outbox_counts_are_by_channel_type_and_state(storage: Storage) -> None:
    app = await channel(storage, "app")
    hook = await channel(storage, "hook", type=ChannelType.WEBHOOK)
    a1, _ = await queue(storage, app.id, 2)
    await queue(storage, hook.id, 1, at=NOW + 50)
    await storage.mark_sent(a1, NOW)
    assert await storage.outbox_counts() == {
        (ChannelType.APPRISE, Delivery.SENT): 1,
        (ChannelType.APPRISE, Delivery.PENDING): 1,
        (ChannelType.WEBHOOK, Delivery.PENDING): 1,
    }


async def test_prune_removes_resolved_incidents_and_finished_notifications_past_the_rollup_days(
    storage: Storage,
) -> None:
    old, open_one = await probed_monitor(storage, "old"), await probed_monitor(storage, "open")
    ops = await channel(storage, "ops", is_default=True)
    long_ago = NOW - 100 * DAY
    await storage.add_checks(
        [bad(old, long_ago + i) for i in range(3)] + [ok(old, long_ago + 5), ok(old, long_ago + 6)]
    )
    await storage.add_checks([bad(open_one, long_ago + i) for i in range(3)])
    # The old incident's DOWN was sent, its RESOLVED failed; the open one's DOWN is still due.
    queued, _ = await storage.notifications(limit=10, offset=0)
    by_kind = {(n.monitor_id, n.kind): n.id for n in queued}
    await storage.mark_sent(by_kind[(old, NotificationKind.DOWN)], long_ago + 10)
    await storage.mark_failed(by_kind[(old, NotificationKind.RESOLVED)], long_ago + 10, "no")
    recent = await storage.queue_notification("recent", NotificationKind.REMINDER, ops.id, NOW)
    assert recent is not None
    await storage.mark_sent(recent.id, NOW)
    report = await storage.prune(NOW, rollup_days=90, batch=1)
    assert (report.incidents, report.notifications) == (1, 2)
    left, total = await storage.incidents(open_only=False, limit=10, offset=0)
    assert (total, [i.monitor_id for i in left]) == (1, [open_one])
    kept = {n.key for n in (await storage.notifications(limit=10, offset=0))[0]}
    assert kept == {"recent", f"incident:{left[0].id}:down:channel:{ops.id}"}
    again = await storage.prune(NOW, rollup_days=90)
    assert (again.incidents, again.notifications) == (0, 0)
