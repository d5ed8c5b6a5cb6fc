"""The dispatcher on both backends, sending for real to the local webhook receiver and, through
Apprise, to json:// on it and to an SMTP server; time is simulated by the `now` each tick is handed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service_monitor.alerting.dispatcher import HELD_MAINTENANCE, HELD_STORM
from service_monitor.alerting.sealing import Sealer
from service_monitor.alerting.senders import ChannelSender, verify_signature
from service_monitor.alerts import ChannelType, Delivery, NotificationKind
from service_monitor.models import Cause
from service_monitor.storage import Storage
from tests.alerting.desk import T0, Desk, desk_settings, fresh_key, keys_of, kinds_of
from tests.alerting.receiver import Receiver, receiving, smtp_server


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as got:
        yield got


@pytest.fixture
async def desk(storage: Storage, tmp_path: Path) -> AsyncIterator[Desk]:
    key = fresh_key()
    settings = desk_settings(tmp_path, key)
    async with ChannelSender(settings) as sender:
        yield Desk(storage, settings, Sealer([key]), sender, key)


async def test_a_down_is_sent_once_signed_then_its_resolved_and_a_restart_sends_nothing_again(
    desk: Desk, receiver: Receiver
) -> None:
    channel = await desk.channel("hook", receiver.url())
    [monitor] = await desk.monitors(1)
    await desk.go_down([monitor], T0 + 30)
    await desk.run(T0 + 30, T0 + 60)
    assert kinds_of(receiver) == {"down": 1}
    down = receiver.requests[0]
    sealed = await desk.store.sealed_channel(channel.id)
    secret = desk.sealer.unseal(sealed.sealed_secret or b"", channel=channel.id)
    assert verify_signature(secret, down.body, down.headers["X-Signature"])
    incident_id = down.json()["incident"]["id"]
    assert down.headers["X-Idempotency-Key"] == f"incident:{incident_id}:down:channel:{channel.id}"
    assert down.json()["incident"]["cause"] == "connect"

    await desk.go_up([monitor], T0 + 120)
    await desk.run(T0 + 120, T0 + 150)
    assert kinds_of(receiver) == {"down": 1, "resolved": 1}

    desk.dispatcher = desk.new_dispatcher()  # a restart
    await desk.run(T0 + 150, T0 + 4000, step=300)
    assert len(receiver.requests) == 2
    assert {r.state for r in await desk.rows()} == {Delivery.SENT}


async def test_a_receiver_failing_for_ten_minutes_gets_every_message_exactly_once_after(
    desk: Desk, receiver: Receiver
) -> None:
    await desk.channel("hook", receiver.url())
    monitors = await desk.monitors(4)
    receiver.status = 500
    await desk.go_down(monitors, T0 + 30)
    await desk.run(T0 + 30, T0 + 330, step=15)
    await desk.go_up(monitors[:2], T0 + 330)
    await desk.run(T0 + 330, T0 + 630, step=15)
    failing = len(receiver.requests)
    assert failing > 4  # they were tried, and retried, while it failed
    assert {r.state for r in await desk.rows()} == {Delivery.PENDING}
    receiver.status = 200
    # Backoff is at most an hour: within one, everything is through.
    await desk.run(T0 + 630, T0 + 630 + 3700, step=30)
    arrived = keys_of(receiver, since=failing)
    assert len(arrived) == 6  # four DOWN, two RESOLVED
    assert set(arrived.values()) == {1}
    rows = await desk.rows()
    assert {r.state for r in rows} == {Delivery.SENT}
    assert all(r.attempts >= 2 for r in rows if r.kind is NotificationKind.DOWN)


async def test_a_message_is_given_up_after_the_retry_hours_with_the_reason(
    desk: Desk, receiver: Receiver
) -> None:
    await desk.channel("hook", receiver.url())
    [monitor] = await desk.monitors(1)
    receiver.status = 503
    await desk.go_down([monitor], T0)
    await desk.run(T0, T0 + 25 * 3600, step=600)
    [row] = await desk.rows()
    assert row.state is Delivery.FAILED
    assert "given up after 24 h" in (row.last_error or "")
    assert "503" in (row.last_error or "")


async def test_a_refused_message_is_failed_at_once_without_retries(
    desk: Desk, receiver: Receiver
) -> None:
    await desk.channel("hook", receiver.url())
    [monitor] = await desk.monitors(1)
    receiver.status = 410
    await desk.go_down([monitor], T0)
    await desk.run(T0, T0 + 600, step=60)
    [row] = await desk.rows()
    assert (row.state, row.attempts, len(receiver.requests)) == (Delivery.FAILED, 1, 1)
    assert "410" in (row.last_error or "")


async def test_apprise_channels_json_form_and_mail_each_get_the_down(
    desk: Desk, receiver: Receiver
) -> None:
    with smtp_server() as mailbox:
        port = receiver.base.rpartition(":")[2]
        await desk.channel("json", f"json://127.0.0.1:{port}/apprise", type=ChannelType.APPRISE)
        await desk.channel("form", f"form://127.0.0.1:{port}/form", type=ChannelType.APPRISE)
        await desk.channel(
            "mail",
            f"mailto://127.0.0.1:{mailbox.port}?to=ops@example.test&from=sm@example.test",
            type=ChannelType.APPRISE,
        )
        [monitor] = await desk.monitors(1)
        await desk.go_down([monitor], T0)
        await desk.run(T0, T0 + 30)
        paths = sorted(r.path for r in receiver.requests)
        assert paths == ["/apprise", "/form"]
        [mail] = mailbox.messages
        assert mail["Subject"] == "DOWN: m0"
    assert {r.state for r in await desk.rows()} == {Delivery.SENT}


async def test_a_resolved_goes_only_to_channels_that_want_it_and_after_its_down(
    desk: Desk, receiver: Receiver
) -> None:
    await desk.channel("all", receiver.url("/all"))
    await desk.channel("quiet", receiver.url("/quiet"), send_resolved=False)
    [monitor] = await desk.monitors(1)
    await desk.go_down([monitor], T0)
    await desk.go_up([monitor], T0 + 60)  # up again before any dispatcher ran
    await desk.run(T0 + 60, T0 + 90)
    sent = [(r.path, r.json()["kind"]) for r in receiver.requests]
    assert sorted(sent) == [("/all", "down"), ("/all", "resolved"), ("/quiet", "down")]
    assert sent.index(("/all", "down")) < sent.index(("/all", "resolved"))


async def test_a_monitor_naming_a_channel_is_told_there_and_not_on_the_defaults(
    desk: Desk, receiver: Receiver
) -> None:
    await desk.channel("default", receiver.url("/default"))
    own = await desk.channel("own", receiver.url("/own"), default=False)
    first, second = await desk.monitors(2)
    await desk.store.set_monitor_channels(first, [own.id])
    await desk.go_down([first, second], T0)
    await desk.run(T0, T0 + 20)
    assert sorted(r.path for r in receiver.requests) == ["/default", "/own"]


async def test_a_burst_of_fifteen_incidents_is_one_digest_per_channel(
    desk: Desk, receiver: Receiver
) -> None:
    await desk.channel("a", receiver.url("/a"))
    await desk.channel("b", receiver.url("/b"))
    healthy = await desk.monitors(30, "ok")
    await desk.checks(healthy, T0, ok=True)
    burst = await desk.monitors(15, "burst")
    await desk.go_down(burst, T0, cause=Cause.HTTP_STATUS)  # real incidents, not the network
    await desk.run(T0, T0 + 60)
    assert kinds_of(receiver) == {"digest": 2}
    for request in receiver.requests:
        assert len(request.json()["incidents"]) == 15
        assert request.json()["after_storm"] is False
    downs = await desk.rows(kinds=(NotificationKind.DOWN,))
    assert {r.state for r in downs} == {Delivery.MERGED}
    assert len({r.digest_id for r in downs}) == 2


async def test_a_storm_sends_one_message_per_default_channel_then_one_digest_of_those_still_down(
    desk: Desk, receiver: Receiver
) -> None:
    await desk.channel("a", receiver.url("/a"))
    await desk.channel("b", receiver.url("/b"))
    await desk.channel("other", receiver.url("/other"), default=False)
    monitors = await desk.monitors(30)
    failing, fine = monitors[:20], monitors[20:]
    for at in (T0, T0 + 20, T0 + 40):
        await desk.checks(fine, at, ok=True)
        await desk.checks(failing, at, ok=False, cause=Cause.CONNECT)
    await desk.run(T0 + 40, T0 + 100)
    assert sorted((r.path, r.json()["kind"]) for r in receiver.requests) == [
        ("/a", "storm"),
        ("/b", "storm"),
    ]
    _incidents, open_count = await desk.store.incidents(open_only=True, limit=100, offset=0)
    assert open_count == 20  # still recorded
    held = await desk.rows(state=Delivery.HELD)
    assert len(held) == 40
    assert {r.last_error for r in held} == {HELD_STORM}

    # A minute without checks is no sign of recovery: nothing more is sent.
    await desk.run(T0 + 100, T0 + 400, step=30)
    assert len(receiver.requests) == 2

    # The prober recovers: 14 of the 20 come back; 6 really are down (now with a status).
    recovered, still_down = failing[:14], failing[14:]
    for at in (T0 + 600, T0 + 620):
        await desk.checks(fine + recovered, at, ok=True)
        await desk.checks(still_down, at, ok=False, cause=Cause.HTTP_STATUS)
    await desk.run(T0 + 620, T0 + 700)
    digests = [r for r in receiver.requests if r.json()["kind"] == "digest"]
    assert sorted(r.path for r in digests) == ["/a", "/b"]
    for digest in digests:
        assert digest.json()["after_storm"] is True
        listed = {i["monitor_id"] for i in digest.json()["incidents"]}
        assert listed == set(still_down)
    assert len(receiver.requests) == 4  # no individual DOWN, no RESOLVED of a held DOWN
    downs = await desk.rows(kinds=(NotificationKind.DOWN,))
    assert sorted(r.state.value for r in downs).count("merged") == 12
    assert sorted(r.state.value for r in downs).count("dropped") == 28
    assert {r.state for r in await desk.rows(kinds=(NotificationKind.RESOLVED,))} == {
        Delivery.DROPPED
    }

    # The same storm judged again by a restarted dispatcher sends no second storm message.
    desk.dispatcher = desk.new_dispatcher()
    await desk.run(T0 + 700, T0 + 800, step=50)
    assert len(receiver.requests) == 4


async def test_a_storm_ends_on_checks_alone_when_nothing_else_is_due(
    desk: Desk, receiver: Receiver
) -> None:
    await desk.channel("a", receiver.url("/a"))
    monitors = await desk.monitors(30)
    await desk.go_down(monitors[:20], T0)
    await desk.checks(monitors[20:], T0, ok=True)
    await desk.run(T0, T0 + 30)
    assert kinds_of(receiver) == {"storm": 1}
    # The network is back, but the 20 are really down (status errors): no RESOLVED is due.
    await desk.checks(monitors[:20], T0 + 600, ok=False, cause=Cause.HTTP_STATUS)
    await desk.checks(monitors[20:], T0 + 600, ok=True)
    await desk.run(T0 + 600, T0 + 630)
    assert kinds_of(receiver) == {"storm": 1, "digest": 1}
    [digest] = [r for r in receiver.requests if r.json()["kind"] == "digest"]
    assert len(digest.json()["incidents"]) == 20


async def test_canaries_all_up_say_it_is_no_storm(
    desk: Desk, receiver: Receiver, tmp_path: Path
) -> None:
    desk.settings = desk_settings(
        tmp_path, desk.key, CANARY_URLS="http://canary0.example.test/,http://canary1.example.test/"
    )
    desk.dispatcher = desk.new_dispatcher()
    await desk.channel("a", receiver.url("/a"))
    canaries = await desk.monitors(2, "canary")
    await desk.checks(canaries, T0, ok=True)
    failing = await desk.monitors(25)
    for at in (T0, T0 + 20, T0 + 40):
        await desk.checks(canaries, at, ok=True)
    await desk.go_down(failing, T0 + 40, cause=Cause.CONNECT)
    await desk.run(T0 + 40, T0 + 60)
    assert kinds_of(receiver) == {"digest": 1}  # a burst of real incidents, not a storm


async def test_nothing_is_sent_during_a_maintenance_window_and_what_is_still_open_at_its_end_is(
    desk: Desk, receiver: Receiver
) -> None:
    await desk.channel("hook", receiver.url())
    still, back = await desk.monitors(2)
    await desk.store.add_window(
        monitor_id=None,
        starts_at=T0,
        cron=None,
        timezone="UTC",
        duration=1800,
        note="upgrade",
        now=T0,
    )
    await desk.go_down([still, back], T0 + 60)
    await desk.run(T0 + 60, T0 + 600, step=60)
    assert receiver.requests == []
    held = await desk.rows(state=Delivery.HELD)
    assert len(held) == 2
    assert {r.last_error for r in held} == {HELD_MAINTENANCE}
    assert {r.next_attempt_at for r in held} == {T0 + 1800}
    await desk.go_up([back], T0 + 900)
    await desk.run(T0 + 900, T0 + 1790, step=60)
    assert receiver.requests == []
    await desk.run(T0 + 1800, T0 + 1900, step=30)
    [down] = receiver.requests
    assert down.json()["kind"] == "down"
    assert down.json()["incident"]["monitor_id"] == still
    dropped = await desk.rows(state=Delivery.DROPPED)
    assert sorted(r.kind.value for r in dropped) == ["down", "resolved"]
    assert {r.last_error for r in dropped} == {"resolved during maintenance"}


async def test_a_window_of_another_monitor_holds_nothing_of_this_one(
    desk: Desk, receiver: Receiver
) -> None:
    await desk.channel("hook", receiver.url())
    mine, other = await desk.monitors(2)
    await desk.store.add_window(
        monitor_id=other,
        starts_at=None,
        cron="0 * * * *",
        timezone="Europe/Paris",
        duration=3600,
        note="always",
        now=T0,
    )
    await desk.go_down([mine, other], T0)
    await desk.run(T0, T0 + 30)
    [down] = receiver.requests
    assert down.json()["incident"]["monitor_id"] == mine


async def test_reminders_repeat_while_the_incident_stays_open_and_stop_when_it_is_resolved(
    desk: Desk, receiver: Receiver
) -> None:
    await desk.channel("hook", receiver.url(), resend_every=3600)
    await desk.channel("once", receiver.url("/once"))
    [monitor] = await desk.monitors(1)
    await desk.go_down([monitor], T0)
    await desk.run(T0, T0 + 3 * 3600 + 120, step=60)
    sent = [(r.path, r.json()["kind"]) for r in receiver.requests]
    assert sent.count(("/hook", "reminder")) == 3
    assert sent.count(("/once", "reminder")) == 0
    keys = [r.headers["X-Idempotency-Key"] for r in receiver.requests]
    assert len(set(keys)) == len(keys)
    await desk.go_up([monitor], T0 + 3 * 3600 + 200)
    desk.dispatcher = desk.new_dispatcher()
    await desk.run(T0 + 3 * 3600 + 200, T0 + 6 * 3600, step=120)
    sent = [(r.path, r.json()["kind"]) for r in receiver.requests]
    assert sent.count(("/hook", "reminder")) == 3
    assert sent.count(("/hook", "resolved")) == 1


async def test_a_deleted_channel_drops_its_pending_messages(desk: Desk, receiver: Receiver) -> None:
    channel = await desk.channel("hook", receiver.url())
    [monitor] = await desk.monitors(1)
    await desk.go_down([monitor], T0)
    await desk.store.delete_channel(channel.id, force=True)
    await desk.run(T0, T0 + 30)
    assert receiver.requests == []
    assert {r.state for r in await desk.rows()} == {Delivery.DROPPED}
