"""Sending over the wire to servers on 127.0.0.1: our signed webhook and Apprise's json://, form://
and mailto:// (to a real SMTP server), with the outcomes a dispatcher acts on, and the SSRF guard
at send time. Nothing of Apprise or the network is mocked."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from service_monitor.alerting import messages
from service_monitor.alerting.messages import IncidentFacts, Message
from service_monitor.alerting.sealing import Sealer, new_key
from service_monitor.alerting.senders import (
    ChannelSender,
    Outcome,
    UnsealedChannel,
    new_webhook_secret,
    sign,
    verify_signature,
)
from service_monitor.alerts import Channel, ChannelType, Incident
from service_monitor.config import Settings, load_settings
from service_monitor.models import Cause
from tests.alerting.receiver import Receiver, receiving, smtp_server
from tests.conftest import FakeClock

# The receiver listens on 127.0.0.1, which the guard refuses: these tests open exactly that.
ALLOWING_LOOPBACK = load_settings(
    ALLOW_PRIVATE_TARGETS=False, ALLOWED_TARGET_NETWORKS="127.0.0.1/32", NOTIFY_TIMEOUT=5
)
GUARDED = load_settings(ALLOW_PRIVATE_TARGETS=False, NOTIFY_TIMEOUT=5)
SECRET = "whsec-" + "a" * 40
FACTS = IncidentFacts(
    Incident(7, 3, 1_767_225_600.0, 1_767_225_720.0, Cause.CONNECT, "connection refused"),
    "Shop front",
    "https://shop.example.com/",
)
DOWN = messages.down(FACTS, key="incident:7:down:channel:1", now=1_767_229_500.0)


def channel(kind: ChannelType, target: str, secret: str | None = None) -> UnsealedChannel:
    return UnsealedChannel(Channel(1, "ops", kind, "…", True, True, None, 0.0), target, secret)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as running:
        yield running


async def send(
    target: UnsealedChannel,
    message: Message = DOWN,
    settings: Settings = ALLOWING_LOOPBACK,
    **options: Any,
) -> Outcome:
    async with ChannelSender(settings, **options) as sender:
        return await sender.send(target, message)


async def test_the_signed_webhook_posts_the_json_body_with_a_signature_the_receiver_verifies(
    receiver: Receiver,
) -> None:
    clock = FakeClock(1_767_229_501.0)
    outcome = await send(channel(ChannelType.WEBHOOK, receiver.url("/in/tok"), SECRET), clock=clock)
    assert outcome == Outcome(
        True, False, f"http://127.0.0.1:{receiver.base.rsplit(':', 1)[1]}/… answered 200"
    )
    (request,) = receiver.requests
    assert request.method == "POST"
    assert request.path == "/in/tok"
    assert request.body == DOWN.payload
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Signature"] == sign(SECRET, DOWN.payload)
    assert verify_signature(SECRET, request.body, request.headers["X-Signature"])
    assert request.headers["X-Timestamp"] == "1767229501"
    assert request.headers["X-Idempotency-Key"] == "incident:7:down:channel:1"
    assert request.json()["incident"]["monitor_name"] == "Shop front"


def test_a_signature_fails_for_another_body_another_secret_or_no_header() -> None:
    body = DOWN.payload
    header = sign(SECRET, body)
    assert header.startswith("sha256=")
    assert len(header) == 7 + 64
    assert verify_signature(SECRET, body, header)
    assert verify_signature(SECRET.encode(), body, header)
    assert not verify_signature(SECRET, body + b" ", header)
    assert not verify_signature("another secret", body, header)
    assert not verify_signature(SECRET, body, None)
    assert not verify_signature(SECRET, body, header.removeprefix("sha256="))
    assert new_webhook_secret() != new_webhook_secret()


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (500, True),
        (503, True),
        (429, True),
        (408, True),
        (425, True),
        (404, False),
        (400, False),
        (301, False),
    ],
)
async def test_a_webhook_answer_other_than_2xx_fails_retryable_only_when_later_may_work(
    receiver: Receiver, status: int, retryable: bool
) -> None:
    receiver.status = status
    outcome = await send(channel(ChannelType.WEBHOOK, receiver.url("/in/tok"), SECRET))
    assert not outcome.ok
    assert outcome.retryable is retryable
    assert f"answered {status}" in outcome.detail
    assert len(receiver.requests) == 1  # a redirect is not followed


async def test_an_unreachable_webhook_fails_retryable_and_a_send_never_raises() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # closed when the send runs: nothing listens
    outcome = await send(channel(ChannelType.WEBHOOK, f"http://127.0.0.1:{port}/in/tok", SECRET))
    assert not outcome.ok
    assert outcome.retryable
    assert "could not be reached" in outcome.detail
    assert "/in/tok" not in outcome.detail


async def test_a_slow_webhook_fails_retryable_after_notify_timeout(receiver: Receiver) -> None:
    receiver.delay = 1.0
    settings = load_settings(
        ALLOW_PRIVATE_TARGETS=False, ALLOWED_TARGET_NETWORKS="127.0.0.1/32", NOTIFY_TIMEOUT=0.2
    )
    outcome = await send(channel(ChannelType.WEBHOOK, receiver.url(), SECRET), settings=settings)
    assert outcome == Outcome(False, True, outcome.detail)
    assert "did not answer within 0.2 s" in outcome.detail


async def test_the_webhook_to_127_0_0_1_is_refused_at_send_time_by_default_with_nothing_sent(
    receiver: Receiver,
) -> None:
    outcome = await send(
        channel(ChannelType.WEBHOOK, receiver.url("/in/tok"), SECRET), settings=GUARDED
    )
    assert not outcome.ok
    assert not outcome.retryable
    assert "127.0.0.1 is a loopback address" in outcome.detail
    assert "/in/tok" not in outcome.detail
    assert receiver.requests == []


async def test_a_name_that_resolves_to_an_internal_address_is_refused_at_send_time(
    receiver: Receiver,
) -> None:
    port = receiver.base.rsplit(":", 1)[1]
    webhook = await send(
        channel(ChannelType.WEBHOOK, f"http://localhost:{port}/in", SECRET), settings=GUARDED
    )
    apprise = await send(
        channel(ChannelType.APPRISE, f"json://localhost:{port}/in"), settings=GUARDED
    )
    for outcome in (webhook, apprise):
        assert not outcome.ok
        assert not outcome.retryable
        assert "loopback" in outcome.detail
    assert receiver.requests == []


async def test_allow_private_targets_lets_a_send_reach_127_0_0_1(receiver: Receiver) -> None:
    settings = load_settings(ALLOW_PRIVATE_TARGETS=True)
    outcome = await send(channel(ChannelType.WEBHOOK, receiver.url(), SECRET), settings=settings)
    assert outcome.ok


async def test_apprise_json_reaches_the_receiver_with_the_title_and_body(
    receiver: Receiver,
) -> None:
    target = receiver.url("/apprise/json/tok", scheme="json")
    outcome = await send(channel(ChannelType.APPRISE, target))
    assert outcome.ok, outcome.detail
    (request,) = receiver.requests
    assert request.path == "/apprise/json/tok"
    document = request.json()
    assert document["title"] == "DOWN: Shop front"
    assert "connect: connection refused" in document["message"]
    assert document["type"] == "failure"


async def test_apprise_form_reaches_the_receiver(receiver: Receiver) -> None:
    outcome = await send(channel(ChannelType.APPRISE, receiver.url("/apprise/form", scheme="form")))
    assert outcome.ok, outcome.detail
    (request,) = receiver.requests
    assert b"title=DOWN" in request.body


async def test_an_apprise_send_the_receiver_refuses_fails_retryable_without_its_tokens(
    receiver: Receiver,
) -> None:
    receiver.status = 500
    outcome = await send(
        channel(
            ChannelType.APPRISE, receiver.url("/apprise/s3cretpath", scheme="json") + "?token=t0ken"
        )
    )
    assert not outcome.ok
    assert outcome.retryable
    assert "s3cretpath" not in outcome.detail
    assert "t0ken" not in outcome.detail
    assert "json://127.0.0.1" in outcome.detail
    assert len(receiver.requests) == 1


async def test_apprise_to_127_0_0_1_is_refused_at_send_time_by_default(receiver: Receiver) -> None:
    outcome = await send(
        channel(ChannelType.APPRISE, receiver.url(scheme="json")), settings=GUARDED
    )
    assert not outcome.ok
    assert not outcome.retryable
    assert "127.0.0.1 is a loopback address" in outcome.detail
    assert receiver.requests == []


async def test_apprise_mailto_delivers_through_a_real_local_smtp_server() -> None:
    with smtp_server() as mailbox:
        target = f"mailto://127.0.0.1:{mailbox.port}?to=ops@example.com&from=monitor@example.com"
        outcome = await send(channel(ChannelType.APPRISE, target))
        assert outcome.ok, outcome.detail
        (mail,) = mailbox.messages
    assert mail["Subject"] == "DOWN: Shop front"
    assert mailbox.envelopes[0].rcpt_tos == ["ops@example.com"]
    texts = [part.get_payload(decode=True) for part in mail.walk() if not part.is_multipart()]
    assert any(b"connection refused" in text for text in texts if isinstance(text, bytes))


async def test_a_channel_with_an_unusable_target_fails_without_raising() -> None:
    for target in (
        channel(ChannelType.APPRISE, "slack://onlyonetoken"),
        channel(ChannelType.WEBHOOK, "http://127.0.0.1:1/x", secret=None),
        channel(ChannelType.WEBHOOK, "not a url at all", SECRET),
    ):
        outcome = await send(target)
        assert not outcome.ok, outcome
        assert not outcome.retryable, outcome


async def test_a_sealed_channel_unseals_for_sending() -> None:
    sealer = Sealer([new_key()])
    unsealed = UnsealedChannel.unseal(
        sealer,
        Channel(2, "hook", ChannelType.WEBHOOK, "…", False, True, None, 0.0),
        sealer.seal("https://hooks.example.com/in"),
        sealer.seal(SECRET),
    )
    assert (unsealed.target, unsealed.secret) == ("https://hooks.example.com/in", SECRET)


def test_the_webhook_body_is_what_was_signed_byte_for_byte() -> None:
    document = json.loads(DOWN.payload)
    assert json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode() == DOWN.payload
