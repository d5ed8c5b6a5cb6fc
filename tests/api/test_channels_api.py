"""`/channels` over HTTP on each deployment: targets sealed and never shown, the webhook secret shown
once, every bad field a 422 naming it, and test messages sent to a real receiver on 127.0.0.1."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from service_monitor.alerting.senders import verify_signature
from service_monitor.api.app import create_app
from service_monitor.services import Services
from tests.alerting.receiver import Receiver, receiving

TOKEN = "t0k3n-s3cr3t-path"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as running:
        yield running


def webhook(receiver: Receiver, name: str = "hook", **fields: object) -> dict[str, object]:
    return {"name": name, "type": "webhook", "url": receiver.url(f"/{TOKEN}"), **fields}


async def app_client(services: Services, **settings: object) -> httpx.AsyncClient:
    """A client of an app on the same services with some settings changed."""
    changed = dataclasses.replace(services, settings=services.settings.model_copy(update=settings))
    transport = httpx.ASGITransport(app=create_app(services=changed))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_a_webhook_channel_shows_its_secret_once_and_its_target_never(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    made = await client.post("/channels", json=webhook(receiver, is_default=True))
    assert made.status_code == 201, made.text
    body = made.json()
    assert made.headers["location"] == f"/channels/{body['id']}"
    assert body["secret"]
    assert len(body["secret"]) >= 32
    assert body["target_hint"] == f"http://127.0.0.1:{receiver.base.rsplit(':', 1)[1]}/…"
    assert (body["type"], body["is_default"], body["send_resolved"]) == ("webhook", True, True)
    assert (body["resend_every"], body["monitors"]) == (None, 0)
    assert TOKEN not in made.text

    for read in (
        await client.get(f"/channels/{body['id']}"),
        await client.get("/channels"),
    ):
        assert read.status_code == 200
        assert TOKEN not in read.text
        assert body["secret"] not in read.text
        assert "secret" not in read.text
    listed = (await client.get("/channels")).json()
    assert listed["total"] == 1
    assert listed["items"][0]["name"] == "hook"


async def test_an_apprise_channel_has_no_secret(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    url = receiver.url(f"/{TOKEN}", scheme="json")
    made = await client.post("/channels", json={"name": "json", "type": "apprise", "url": url})
    assert made.status_code == 201, made.text
    assert made.json()["secret"] is None
    assert made.json()["target_hint"].startswith("json://127.0.0.1:")
    assert TOKEN not in made.text


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"type": "webhook", "url": "http://h.example/x"}, "name", "required"),
        ({"name": "", "type": "webhook", "url": "http://h.example/x"}, "name", "at least 1"),
        ({"name": "a\nb", "type": "webhook", "url": "http://h.example/x"}, "name", "printable"),
        ({"name": "a", "type": "sms", "url": "http://h.example/x"}, "type", "apprise"),
        ({"name": "a", "type": "webhook"}, "url", "required"),
        ({"name": "a", "type": "webhook", "url": "ftp://h.example/x"}, "url", "http"),
        ({"name": "a", "type": "webhook", "url": "http://h.example/ x"}, "url", "spaces"),
        ({"name": "a", "type": "apprise", "url": "nosuchservice://x"}, "url", "Apprise"),
        ({"name": "a", "type": "apprise", "url": "https://h.example/"}, "url", "webhook"),
        ({"name": "a", "type": "apprise", "url": "not a url"}, "url", "spaces"),
        (
            {"name": "a", "type": "webhook", "url": "http://h.example/", "resend_every": 10},
            "resend_every",
            "greater than or equal to 60",
        ),
        (
            {"name": "a", "type": "webhook", "url": "http://h.example/", "is_default": "maybe"},
            "is_default",
            "boolean",
        ),
        ({"name": "a", "type": "webhook", "url": "http://h.example/", "x": 1}, "x", "permitted"),
    ],
)
async def test_a_bad_channel_is_422_naming_the_field_and_why(
    client: httpx.AsyncClient, payload: dict[str, object], field: str, reason: str
) -> None:
    answer = await client.post("/channels", json=payload)
    assert answer.status_code == 422, answer.text
    assert f"{field}:" in answer.json()["detail"]
    assert reason in answer.json()["detail"]
    assert (await client.get("/channels")).json()["total"] == 0


async def test_an_internal_target_is_refused_unless_the_guard_allows_it(
    services: Services,
) -> None:
    hook = {"name": "internal", "type": "webhook", "url": f"http://127.0.0.1:9/{TOKEN}"}
    async with await app_client(services, ALLOW_PRIVATE_TARGETS=False) as guarded:
        refused = await guarded.post("/channels", json=hook)
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"].startswith("url: ")
        assert "ALLOW_PRIVATE_TARGETS" in refused.json()["detail"]
        assert TOKEN not in refused.text
        apprise = {**hook, "type": "apprise", "url": f"json://10.1.2.3/{TOKEN}"}
        also = await guarded.post("/channels", json=apprise)
        assert also.status_code == 422, also.text
        assert TOKEN not in also.text
    async with await app_client(services, ALLOW_PRIVATE_TARGETS=True) as opened:
        assert (await opened.post("/channels", json=hook)).status_code == 201


async def test_a_name_taken_is_409_with_the_channel_that_has_it(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    first = (await client.post("/channels", json=webhook(receiver))).json()
    again = await client.post("/channels", json=webhook(receiver))
    assert again.status_code == 409
    assert again.json()["id"] == first["id"]
    assert "'hook'" in again.json()["detail"]
    other = (await client.post("/channels", json=webhook(receiver, name="other"))).json()
    renamed = await client.patch(f"/channels/{other['id']}", json={"name": "hook"})
    assert renamed.status_code == 409
    assert renamed.json()["id"] == first["id"]


async def test_patch_changes_what_is_sent_and_says_which_fields_changed(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    made = (await client.post("/channels", json=webhook(receiver))).json()
    path = f"/channels/{made['id']}"
    reminded = await client.patch(path, json={"resend_every": 3600, "send_resolved": True})
    assert reminded.status_code == 200, reminded.text
    assert reminded.json()["changed"] == ["resend_every"]
    assert reminded.json()["resend_every"] == 3600
    assert reminded.json()["secret"] is None

    same = await client.patch(path, json={"resend_every": 3600})
    assert same.json()["changed"] == []
    off = await client.patch(path, json={"resend_every": None, "is_default": True})
    assert off.json()["changed"] == ["is_default", "resend_every"]
    assert (await client.get(path)).json()["resend_every"] is None

    moved = await client.patch(path, json={"url": receiver.url(f"/{TOKEN}/2")})
    assert moved.json()["changed"] == ["url"]
    assert TOKEN not in moved.text


async def test_rotating_a_webhook_secret_returns_the_new_one_once(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    made = (await client.post("/channels", json=webhook(receiver))).json()
    rotated = await client.patch(f"/channels/{made['id']}", json={"rotate_secret": True})
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["changed"] == ["secret"]
    new_secret = rotated.json()["secret"]
    assert new_secret
    assert new_secret != made["secret"]

    tested = await client.post(f"/channels/{made['id']}/test")
    assert tested.json()["ok"] is True, tested.text
    sent = receiver.requests[-1]
    assert verify_signature(new_secret, sent.body, sent.headers.get("X-Signature"))
    assert not verify_signature(made["secret"], sent.body, sent.headers.get("X-Signature"))


@pytest.mark.parametrize(
    ("patch", "field", "reason"),
    [
        ({"type": "apprise"}, "type", "permitted"),
        ({"name": None}, "name", "string"),
        ({"url": "ftp://h.example/"}, "url", "http"),
        ({"resend_every": 59}, "resend_every", "60"),
        ({"send_resolved": None}, "send_resolved", "boolean"),
    ],
)
async def test_a_bad_patch_is_422_naming_the_field(
    client: httpx.AsyncClient,
    receiver: Receiver,
    patch: dict[str, object],
    field: str,
    reason: str,
) -> None:
    made = (await client.post("/channels", json=webhook(receiver))).json()
    answer = await client.patch(f"/channels/{made['id']}", json=patch)
    assert answer.status_code == 422, answer.text
    assert f"{field}:" in answer.json()["detail"]
    assert reason in answer.json()["detail"]


async def test_rotating_the_secret_of_an_apprise_channel_is_422(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    url = receiver.url("/x", scheme="json")
    made = (
        await client.post("/channels", json={"name": "j", "type": "apprise", "url": url})
    ).json()
    answer = await client.patch(f"/channels/{made['id']}", json={"rotate_secret": True})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("rotate_secret: only webhook channels")


async def test_deleting_a_channel_monitors_name_is_409_until_forced(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    made = (await client.post("/channels", json=webhook(receiver))).json()
    for name in ("a", "b"):
        monitor = {"name": name, "url": f"https://{name}.example/", "channels": ["hook"]}
        assert (await client.post("/urls/", json=monitor)).status_code == 201
    path = f"/channels/{made['id']}"
    assert (await client.get(path)).json()["monitors"] == 2

    refused = await client.delete(path)
    assert refused.status_code == 409
    assert refused.json()["monitors"] == 2
    assert "?force=true" in refused.json()["detail"]
    assert (await client.get(path)).status_code == 200

    forced = await client.delete(path, params={"force": "true"})
    assert forced.status_code == 204
    assert (await client.get(path)).status_code == 404
    monitors = (await client.get("/urls")).json()["items"]
    assert [m["channels"] for m in monitors] == [[], []]


async def test_an_unused_channel_is_deleted_at_once(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    made = (await client.post("/channels", json=webhook(receiver))).json()
    assert (await client.delete(f"/channels/{made['id']}")).status_code == 204
    assert (await client.get("/channels")).json() == {"items": [], "total": 0}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/channels/999"),
        ("PATCH", "/channels/999"),
        ("DELETE", "/channels/999"),
        ("POST", "/channels/999/test"),
    ],
)
async def test_an_unknown_channel_is_404(client: httpx.AsyncClient, method: str, path: str) -> None:
    answer = await client.request(method, path, json={} if method == "PATCH" else None)
    assert answer.status_code == 404
    assert answer.json()["detail"] == "channel 999 not found"


async def test_a_test_message_reaches_the_webhook_signed(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    made = (await client.post("/channels", json=webhook(receiver))).json()
    tested = await client.post(f"/channels/{made['id']}/test")
    assert tested.status_code == 200
    assert tested.json()["ok"] is True, tested.text
    assert len(receiver.requests) == 1
    sent = receiver.requests[0]
    assert sent.path == f"/{TOKEN}"
    assert verify_signature(made["secret"], sent.body, sent.headers.get("X-Signature"))


async def test_a_test_message_through_apprise_json_reaches_the_receiver(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    url = receiver.url("/apprise", scheme="json")
    made = (
        await client.post("/channels", json={"name": "j", "type": "apprise", "url": url})
    ).json()
    tested = await client.post(f"/channels/{made['id']}/test")
    assert tested.json()["ok"] is True, tested.text
    assert [r.path for r in receiver.requests] == ["/apprise"]
    assert "hook" not in receiver.requests[0].body.decode()  # it names channel j
    assert "'j'" in receiver.requests[0].body.decode()


async def test_a_failed_test_message_is_its_outcome_in_a_200(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    made = (await client.post("/channels", json=webhook(receiver))).json()
    receiver.status = 500
    tested = await client.post(f"/channels/{made['id']}/test")
    assert tested.status_code == 200
    assert tested.json()["ok"] is False
    assert "500" in tested.json()["detail"]
    assert TOKEN not in tested.text


async def test_channel_writes_need_the_key_and_reads_do_not(
    services: Services, receiver: Receiver
) -> None:
    async with await app_client(services, API_KEYS=[SecretStr("k-channels-1")]) as keyed:
        refused = await keyed.post("/channels", json=webhook(receiver))
        assert refused.status_code == 401
        allowed = await keyed.post(
            "/channels",
            json=webhook(receiver),
            headers={"Authorization": "Bearer k-channels-1"},
        )
        assert allowed.status_code == 201
        channel_id = allowed.json()["id"]
        assert (await keyed.get("/channels")).status_code == 200
        for method, path in (
            ("PATCH", f"/channels/{channel_id}"),
            ("DELETE", f"/channels/{channel_id}"),
            ("POST", f"/channels/{channel_id}/test"),
        ):
            answer = await keyed.request(method, path, json={} if method == "PATCH" else None)
            assert answer.status_code == 401, (method, path)
    assert not receiver.requests
