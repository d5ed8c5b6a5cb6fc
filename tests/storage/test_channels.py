"""ChannelStore and WindowStore against both backends: channels added, read (sealed or not),
changed, deleted (not while monitors name them, unless forced), the channels a monitor names; and
maintenance windows."""

from __future__ import annotations

import pytest

from service_monitor.alerts import ChannelType, Delivery, NotificationKind
from service_monitor.errors import (
    ChannelInUse,
    ChannelNotFound,
    DuplicateChannel,
    MonitorNotFound,
    WindowNotFound,
)
from service_monitor.storage import Storage
from tests.storage.alerting import NOW, bad, channel, probed_monitor


async def test_a_channel_is_stored_and_read_back_with_its_sealed_target_apart(
    storage: Storage,
) -> None:
    added = await channel(storage, "hook", type=ChannelType.WEBHOOK, resend_every=3600)
    assert (added.name, added.type, added.target_hint) == (
        "hook",
        ChannelType.WEBHOOK,
        "json://hook.example.com",
    )
    assert (added.is_default, added.send_resolved, added.resend_every, added.created_at) == (
        False,
        True,
        3600,
        NOW,
    )
    assert await storage.get_channel(added.id) == added
    assert await storage.list_channels() == [added]
    sealed = await storage.sealed_channel(added.id)
    assert (sealed.channel, sealed.sealed_target, sealed.sealed_secret) == (
        added,
        b"sealed:hook",
        b"secret",
    )


async def test_unknown_channels_are_not_found(storage: Storage) -> None:
    for call in (
        storage.get_channel(404),
        storage.sealed_channel(404),
        storage.update_channel(404, name="x"),
        storage.delete_channel(404),
    ):
        with pytest.raises(ChannelNotFound):
            await call


async def test_a_taken_channel_name_is_a_duplicate_naming_its_holder_on_add_and_rename(
    storage: Storage,
) -> None:
    first = await channel(storage, "ops")
    other = await channel(storage, "dev")
    with pytest.raises(DuplicateChannel) as raised:
        await channel(storage, "ops")
    assert raised.value.existing_id == first.id
    with pytest.raises(DuplicateChannel) as renamed:
        await storage.update_channel(other.id, name="ops")
    assert renamed.value.existing_id == first.id
    assert (await storage.get_channel(other.id)).name == "dev"


async def test_update_changes_only_what_is_given_and_can_clear_reminders(
    storage: Storage,
) -> None:
    added = await channel(storage, "ops", resend_every=600)
    same = await storage.update_channel(added.id)
    assert same == added
    changed = await storage.update_channel(
        added.id,
        name="ops2",
        target_hint="slack://hint",
        sealed_target=b"new",
        is_default=True,
        send_resolved=False,
    )
    assert (changed.name, changed.target_hint, changed.is_default, changed.send_resolved) == (
        "ops2",
        "slack://hint",
        True,
        False,
    )
    assert changed.resend_every == 600
    assert (await storage.sealed_channel(added.id)).sealed_target == b"new"
    assert (await storage.update_channel(added.id, resend_every=60)).resend_every == 60
    assert (await storage.update_channel(added.id, clear_resend_every=True)).resend_every is None


async def test_a_channel_monitors_name_is_not_deleted_unless_forced_and_its_queue_is_dropped(
    storage: Storage,
) -> None:
    m = await probed_monitor(storage)
    pager = await channel(storage, "pager")
    await storage.set_monitor_channels(m, [pager.id])
    assert await storage.channel_usage(pager.id) == 1
    with pytest.raises(ChannelInUse) as raised:
        await storage.delete_channel(pager.id)
    assert raised.value.monitors == 1
    await storage.add_checks([bad(m, NOW + i) for i in range(3)])
    sent = await storage.queue_notification("sent-one", NotificationKind.REMINDER, pager.id, NOW)
    assert sent is not None
    await storage.mark_sent(sent.id, NOW + 1)
    await storage.delete_channel(pager.id, force=True)
    assert await storage.monitor_channels(m) == []
    assert await storage.list_channels() == []
    found, _ = await storage.notifications(limit=10, offset=0)
    assert {(n.kind, n.state, n.last_error) for n in found} == {
        (NotificationKind.DOWN, Delivery.DROPPED, "channel deleted"),
        (NotificationKind.REMINDER, Delivery.SENT, None),
    }


async def test_a_channel_named_only_by_deleted_monitors_is_not_in_use(storage: Storage) -> None:
    m = await probed_monitor(storage)
    pager = await channel(storage, "pager")
    await storage.set_monitor_channels(m, [pager.id])
    await storage.delete_monitor(m)
    assert await storage.channel_usage(pager.id) == 0
    await storage.delete_channel(pager.id)


async def test_a_monitor_names_exactly_the_channels_given_and_none_means_the_defaults(
    storage: Storage,
) -> None:
    m = await probed_monitor(storage)
    a, b = await channel(storage, "a"), await channel(storage, "b")
    assert await storage.monitor_channels(m) == []
    await storage.set_monitor_channels(m, [b.id, a.id, b.id])
    assert await storage.monitor_channels(m) == [a.id, b.id]
    await storage.set_monitor_channels(m, [b.id])
    assert await storage.monitor_channels(m) == [b.id]
    await storage.set_monitor_channels(m, [])
    assert await storage.monitor_channels(m) == []


async def test_naming_an_unknown_channel_or_for_an_unknown_monitor_changes_nothing(
    storage: Storage,
) -> None:
    m = await probed_monitor(storage)
    a = await channel(storage, "a")
    await storage.set_monitor_channels(m, [a.id])
    with pytest.raises(ChannelNotFound):
        await storage.set_monitor_channels(m, [a.id, 777])
    assert await storage.monitor_channels(m) == [a.id]
    with pytest.raises(MonitorNotFound):
        await storage.set_monitor_channels(999, [a.id])


async def test_windows_are_added_listed_per_monitor_with_the_global_ones_and_deleted(
    storage: Storage,
) -> None:
    m, other = await probed_monitor(storage, "m"), await probed_monitor(storage, "o")
    once = await storage.add_window(
        monitor_id=m,
        starts_at=NOW + 3600,
        cron=None,
        timezone="UTC",
        duration=1800,
        note="db upgrade",
        now=NOW,
    )
    weekly = await storage.add_window(
        monitor_id=None,
        starts_at=None,
        cron="0 2 * * SUN",
        timezone="Europe/Paris",
        duration=3600,
        note="",
        now=NOW,
    )
    assert (once.monitor_id, once.starts_at, once.cron, once.duration, once.note) == (
        m,
        NOW + 3600,
        None,
        1800,
        "db upgrade",
    )
    assert (weekly.monitor_id, weekly.starts_at, weekly.cron, weekly.timezone) == (
        None,
        None,
        "0 2 * * SUN",
        "Europe/Paris",
    )
    assert await storage.get_window(once.id) == once
    assert await storage.list_windows() == [once, weekly]
    assert await storage.list_windows(m) == [once, weekly]
    assert await storage.list_windows(other) == [weekly]
    await storage.delete_window(once.id)
    assert await storage.list_windows() == [weekly]
    with pytest.raises(WindowNotFound):
        await storage.delete_window(once.id)
    with pytest.raises(WindowNotFound):
        await storage.get_window(once.id)


async def test_a_window_for_an_unknown_or_deleted_monitor_is_refused(storage: Storage) -> None:
    gone = await probed_monitor(storage)
    await storage.delete_monitor(gone)
    for monitor_id in (gone, 999):
        with pytest.raises(MonitorNotFound):
            await storage.add_window(
                monitor_id=monitor_id,
                starts_at=NOW,
                cron=None,
                timezone="UTC",
                duration=60,
                note="",
                now=NOW,
            )
