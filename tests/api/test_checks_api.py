"""A monitor's check over HTTP, on each deployment: POST with the request and assertions, PATCH
(dry runs and `changed`), secrets redacted in every read and never logged, the 409 rule, every bad
field one 422 naming it, and what the checks' new fields (detail, degraded, TLS expiry) show."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from service_monitor.check_spec import REDACTED
from service_monitor.logs import configure_logging
from service_monitor.models import Cause, Check, Status
from service_monitor.services import Services

SECRET = "Bearer s3cr3t-token-value"
KEY_SECRET = "k-9f8e7d6c5b4a"
DAY = 86400

CHECKED: dict[str, Any] = {
    "name": "api",
    "url": "https://api.example.com/health",
    "request": {
        "method": "POST",
        "headers": {"Authorization": SECRET, "X-Api-Key": KEY_SECRET, "Accept": "text/plain"},
        "secret_headers": ["X-Api-Key"],
        "body": '{"ping": true}',
        "content_type": "application/json",
        "timeout_s": 5,
        "follow_redirects": False,
    },
    "assertions": [
        {"type": "status", "codes": ["2xx", 301]},
        {"type": "json", "path": "$.status", "op": "equals", "value": "ok"},
        {"type": "latency", "below_ms": 2000},
    ],
    "degraded_after_ms": 800,
    "owner": "team-a",
}


async def add(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/urls/", json=fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_bare_post_has_the_default_check_and_no_owner(client: httpx.AsyncClient) -> None:
    body = await add(client, name="a", url="http://a.com")
    assert body["request"] == {
        "method": "GET",
        "headers": {},
        "secret_headers": [],
        "body": None,
        "content_type": None,
        "timeout_s": None,
        "follow_redirects": True,
    }
    assert (body["assertions"], body["degraded_after_ms"], body["owner"]) == ([], None, None)


async def test_every_read_shows_the_check_with_secret_values_redacted(
    client: httpx.AsyncClient, services: Services
) -> None:
    created = await add(client, **CHECKED)
    redacted = {"Authorization": REDACTED, "X-Api-Key": REDACTED, "Accept": "text/plain"}
    assert created["request"]["headers"] == redacted
    one = (await client.get(f"/urls/{created['id']}")).json()
    listed = (await client.get("/urls")).json()["items"][0]
    overview = (await client.get("/urls/overview")).json()["items"][0]
    for shown in (created, one, listed, overview):
        assert shown["request"] == {**CHECKED["request"], "headers": redacted}
        assert shown["assertions"] == [
            {"type": "status", "codes": ["2xx", 301]},
            {"type": "json", "path": "$.status", "op": "equals", "value": "ok"},
            {"type": "latency", "below_ms": 2000},
        ]
        assert (shown["degraded_after_ms"], shown["owner"]) == (800, "team-a")
    # The store keeps the values the compute sends.
    stored = await services.monitors.get_monitor(created["id"])
    assert stored.check.request.headers["Authorization"] == SECRET
    assert stored.check.request.headers["X-Api-Key"] == KEY_SECRET


async def test_one_url_may_have_several_checks_and_only_the_same_check_is_409(
    client: httpx.AsyncClient,
) -> None:
    plain = await add(client, name="get", url="https://shop.example/")
    head = await add(client, name="head", url="https://shop.example/", request={"method": "HEAD"})
    assert head["id"] != plain["id"]
    again = await client.post(
        "/urls/",
        json={
            "name": "head again",
            "url": "HTTPS://SHOP.example:443/",
            "request": {"method": "HEAD"},
        },
    )
    assert again.status_code == 409
    assert again.json() == {
        "detail": "url 'HTTPS://SHOP.example:443/' is already monitored with the same check as"
        f" monitor {head['id']}",
        "id": head["id"],
    }
    # Spelling the default check out is the default check: the seed's 409 stands.
    spelled = await client.post(
        "/urls/",
        json={"name": "x", "url": "https://shop.example/", "request": {"method": "GET"}},
    )
    assert (spelled.status_code, spelled.json()["id"]) == (409, plain["id"])


BAD_FIELDS = [
    ({"request": {"method": "BREW"}}, "request.method", "'GET'"),
    ({"request": {"headers": {"X-A": "a\r\nInjected: 1"}}}, "request.headers", "line break"),
    ({"request": {"headers": {"Bad Name": "x"}}}, "request.headers", "not a valid HTTP header"),
    ({"request": {"timeout_s": 11}}, "request.timeout_s", "over TIMEOUT"),
    ({"request": {"timeout_s": 0}}, "request.timeout_s", "greater than 0"),
    ({"request": {"secret_headers": ["X-Nope"]}}, "request.secret_headers", "not set"),
    ({"request": {"method": "HEAD", "body": "x"}}, "request.body", "HEAD request sends no body"),
    ({"request": {"content_type": "text/plain"}}, "request.content_type", "needs a body"),
    ({"request": {"headers": {"Authorization": REDACTED}}}, "request.headers", "no value to keep"),
    ({"assertions": [{"type": "status", "codes": ["7xx"]}]}, "assertions.0.status.codes", "7xx"),
    (
        {"assertions": [{"type": "body", "op": "matches", "value": "(unclosed"}]},
        "assertions.0",
        "does not compile",
    ),
    (
        {"assertions": [{"type": "json", "path": "$.[", "op": "exists"}]},
        "assertions.0",
        "does not parse",
    ),
    (
        {"assertions": [{"type": "json", "path": "$.n", "op": "less_than", "value": "x"}]},
        "assertions.0",
        "needs a number",
    ),
    (
        {"assertions": [{"type": "smell"}]},
        "assertions.0",
        "does not match any of the expected tags",
    ),
    ({"assertions": [{"type": "tls", "min_days": 14}]}, "assertions", "https://"),
    (
        {
            "request": {"method": "HEAD"},
            "assertions": [{"type": "body", "op": "contains", "value": "x"}],
        },
        "assertions",
        "HEAD answer has no body",
    ),
    (
        {"assertions": [{"type": "latency", "below_ms": 500}], "degraded_after_ms": 500},
        "degraded_after_ms",
        "below the failure limit (500 ms)",
    ),
    ({"degraded_after_ms": 10_000}, "degraded_after_ms", "not below TIMEOUT"),
    ({"owner": ""}, "owner", "at least 1"),
    ({"owner": "a\nb"}, "owner", "printable"),
]


@pytest.mark.parametrize(("fields", "field", "reason"), BAD_FIELDS)
async def test_a_bad_check_is_one_422_naming_the_field_and_why(
    client: httpx.AsyncClient, fields: dict[str, Any], field: str, reason: str
) -> None:
    response = await client.post("/urls/", json={"name": "a", "url": "http://a.com", **fields})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"].startswith(f"{field}"), body
    assert reason in body["detail"]
    assert ".".join(str(p) for p in body["errors"][0]["loc"]).startswith(f"body.{field}")
    assert (await client.get("/urls")).json()["total"] == 0


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity"])
async def test_a_number_json_cannot_answer_is_refused(
    client: httpx.AsyncClient, number: bytes
) -> None:
    content = (
        b'{"name": "a", "url": "http://a.com", "assertions": [{"type": "json", "path": "$.n",'
        b' "op": "equals", "value": ' + number + b"}]}"
    )
    response = await client.post(
        "/urls/", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422), response.text
    assert (await client.get("/urls")).json()["total"] == 0


async def test_a_refused_secret_is_never_in_the_answer(client: httpx.AsyncClient) -> None:
    headers = {"Authorization": SECRET + "\n", "X-Long": KEY_SECRET * 1000}
    response = await client.post(
        "/urls/", json={"name": "a", "url": "http://a.com", "request": {"headers": headers}}
    )
    assert response.status_code == 422
    assert "s3cr3t" not in response.text
    assert KEY_SECRET not in response.text


async def test_patch_changes_only_the_fields_sent_and_says_which(
    client: httpx.AsyncClient, services: Services
) -> None:
    created = await add(client, **CHECKED)
    path = f"/urls/{created['id']}"
    renamed = await client.patch(path, json={"name": "api (EU)"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["changed"] == ["name"]
    assert renamed.json()["name"] == "api (EU)"
    assert renamed.json()["assertions"] == created["assertions"]

    new_assertions = [{"type": "status", "codes": [200]}]
    changed = await client.patch(
        path, json={"assertions": new_assertions, "degraded_after_ms": None, "owner": None}
    )
    assert changed.json()["changed"] == ["assertions", "degraded_after_ms", "owner"]
    stored = await services.monitors.get_monitor(created["id"])
    assert [a.model_dump() for a in stored.check.assertions] == new_assertions
    assert (stored.check.degraded_after_ms, stored.owner, stored.name) == (None, None, "api (EU)")
    # The secrets were not sent and are kept.
    assert stored.check.request.headers["Authorization"] == SECRET

    same = await client.patch(path, json={"name": "api (EU)", "assertions": new_assertions})
    assert same.json()["changed"] == []


async def test_patch_dry_run_answers_what_would_change_and_writes_nothing(
    client: httpx.AsyncClient, services: Services
) -> None:
    created = await add(client, **CHECKED)
    path = f"/urls/{created['id']}"
    dry = await client.patch(
        path, params={"dry_run": "true"}, json={"name": "other", "request": {"method": "GET"}}
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["changed"] == ["name", "request"]
    assert dry.json()["name"] == "other"
    stored = await services.monitors.get_monitor(created["id"])
    assert (stored.name, stored.check.request.method) == ("api", "POST")

    # The secrets are compared too: what `apply` asks to stay idempotent.
    request = CHECKED["request"]
    same = await client.patch(path, params={"dry_run": "1"}, json={"request": request})
    assert same.json()["changed"] == []
    other_secret = {**request, "headers": {**request["headers"], "Authorization": "Bearer new"}}
    differs = await client.patch(path, params={"dry_run": "1"}, json={"request": other_secret})
    assert differs.json()["changed"] == ["request"]
    kept = {**request, "headers": {**request["headers"], "Authorization": REDACTED}}
    redacted = await client.patch(path, params={"dry_run": "1"}, json={"request": kept})
    assert redacted.json()["changed"] == []
    assert redacted.json()["request"]["headers"]["Authorization"] == REDACTED


async def test_a_redacted_secret_sent_back_keeps_its_value_but_not_to_a_new_origin(
    client: httpx.AsyncClient, services: Services
) -> None:
    created = await add(client, **CHECKED)
    path = f"/urls/{created['id']}"
    shown = (await client.get(path)).json()["request"]
    shown["timeout_s"] = 3
    response = await client.patch(path, json={"request": shown})
    assert response.json()["changed"] == ["request"]
    stored = await services.monitors.get_monitor(created["id"])
    assert stored.check.request.timeout_s == 3
    assert stored.check.request.headers["X-Api-Key"] == KEY_SECRET

    same_origin = await client.patch(path, json={"url": "https://api.example.com/v2/health"})
    assert same_origin.json()["changed"] == ["url"]
    moved = await client.patch(path, json={"url": "https://collector.example.net/"})
    assert moved.status_code == 422
    assert moved.json()["detail"].startswith("request.headers: the URL moves to another origin")
    assert "Authorization, X-Api-Key" in moved.json()["detail"]
    fresh = {**CHECKED["request"], "headers": {"Accept": "text/plain"}, "secret_headers": []}
    moved = await client.patch(
        path, json={"url": "https://collector.example.net/", "request": fresh}
    )
    assert moved.json()["changed"] == ["url", "request"]


async def test_patch_refusals_name_the_field_or_the_monitor(client: httpx.AsyncClient) -> None:
    first = await add(client, name="a", url="https://a.example/")
    second = await add(client, name="b", url="https://b.example/")
    path = f"/urls/{second['id']}"
    conflict = await client.patch(path, json={"url": "https://A.example:443/"})
    assert conflict.status_code == 409
    assert conflict.json()["id"] == first["id"]
    for body, field in (
        ({"name": None}, "name"),
        ({"url": "ftp://x"}, "url"),
        ({"request": {"timeout_s": 60}}, "request.timeout_s"),
        ({"degraded_after_ms": 0}, "degraded_after_ms"),
        ({"colour": "red"}, "colour"),
    ):
        refused = await client.patch(path, json=body)
        assert refused.status_code == 422, body
        assert refused.json()["detail"].startswith(f"{field}:"), refused.json()
    assert (await client.patch("/urls/424242", json={"name": "x"})).status_code == 404
    assert (await client.patch(path, params={"dry_run": "maybe"}, json={})).status_code == 422
    assert (await client.get(path)).json()["name"] == "b"


async def test_list_filters_by_owner_exactly(client: httpx.AsyncClient) -> None:
    await add(client, name="a", url="https://a.example/", owner="team-a")
    await add(client, name="b", url="https://b.example/", owner="team-b")
    await add(client, name="c", url="https://c.example/", owner="team-a")
    await add(client, name="d", url="https://d.example/")
    page = (await client.get("/urls", params={"owner": "team-a"})).json()
    assert ([m["name"] for m in page["items"]], page["total"]) == (["a", "c"], 2)
    assert (await client.get("/urls", params={"owner": "team"})).json()["total"] == 0
    both = (await client.get("/urls", params={"owner": "team-a", "q": "c.ex"})).json()
    assert [m["name"] for m in both["items"]] == ["c"]


async def test_checks_show_their_detail_degraded_flag_and_certificate_expiry(
    client: httpx.AsyncClient, services: Services
) -> None:
    created = await add(client, name="a", url="https://a.example/", degraded_after_ms=500)
    monitor_id = created["id"]
    now = services.clock()
    expires = now + 20 * DAY + 3600
    await services.storage.add_checks(
        [
            Check(monitor_id, now - 300, Status.FAIL, None, 3, Cause.CONNECT,
                  detail="connect: connection refused"),
            Check(monitor_id, now - 200, Status.SUCCESS, 200, 900, degraded=True,
                  tls_expires_at=expires),
            Check(monitor_id, now - 100, Status.FAIL, 503, 40, Cause.ASSERTION,
                  detail="status 503 is not one of 2xx", tls_expires_at=expires),
            Check(monitor_id, now - 2 * DAY, Status.SUCCESS, 200, 700, degraded=True),
        ]
    )  # fmt: skip
    one = (await client.get(f"/urls/{monitor_id}")).json()
    newest = one["checks"][0]
    assert (newest["cause"], newest["detail"], newest["degraded"]) == (
        "assertion",
        "status 503 is not one of 2xx",
        False,
    )
    assert newest["tls_expires_at"] is not None
    assert one["checks"][1]["degraded"] is True
    assert one["checks"][2]["detail"] == "connect: connection refused"
    assert one["checks"][2]["tls_expires_at"] is None
    assert one["tls_days_left"] == 20
    assert one["counts"]["hour"] == {"success": 1, "fail": 2, "degraded": 1}
    assert one["counts"]["week"] == {"success": 2, "fail": 2, "degraded": 2}

    item = (await client.get("/urls/overview")).json()["items"][0]
    assert item["last_check"]["detail"] == "status 503 is not one of 2xx"
    assert item["tls_days_left"] == 20
    failures = (await client.get(f"/urls/{monitor_id}/history")).json()["failures"]
    assert [f["detail"] for f in failures] == [
        "status 503 is not one of 2xx",
        "connect: connection refused",
    ]


async def test_a_monitor_never_checked_over_https_has_no_tls_days(
    client: httpx.AsyncClient,
) -> None:
    created = await add(client, name="a", url="http://a.example/")
    assert (await client.get(f"/urls/{created['id']}")).json()["tls_days_left"] is None
    assert (await client.get("/urls/overview")).json()["items"][0]["tls_days_left"] is None


async def test_secret_values_are_never_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging("DEBUG")  # as a deployment with LOG_LEVEL=DEBUG logs
    caplog.set_level(logging.DEBUG)
    created = await add(client, **CHECKED)
    path = f"/urls/{created['id']}"
    await client.patch(path, json={"request": {**CHECKED["request"], "timeout_s": 4}})
    await client.patch(path, json={"url": "https://elsewhere.example/"})  # refused: secrets kept
    await client.get(path)
    await client.get("/urls")
    bad = {**CHECKED, "request": {**CHECKED["request"], "timeout_s": 99}}
    await client.post("/urls/", json=bad)
    assert caplog.records  # something was logged (the change), but never a secret
    assert "s3cr3t" not in caplog.text
    assert KEY_SECRET not in caplog.text
