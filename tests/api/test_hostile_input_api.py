"""Hostile names and URLs: refused with a 422 that says why, or stored and returned byte for byte,
never interpreted (SQL, HTML), on both deployments."""

from __future__ import annotations

import httpx
import pytest

SQL = "x'); DROP TABLE monitors; --"
HTML = '<script>alert("x")</script>&amp;'

STORED_AS_SENT = [
    pytest.param(
        {"name": "café ☕ 東京 🚀", "url": "http://xn--caf-dma.example/☕?q=東京"}, id="unicode"
    ),
    pytest.param({"name": SQL, "url": "http://a.example/?id=1%27%20OR%20%271%27=%271"}, id="sql"),
    pytest.param({"name": HTML, "url": "http://a.example/?q=<script>alert(1)</script>"}, id="html"),
    pytest.param({"name": "n" * 100, "url": "http://a.example/" + "p" * 2000}, id="longest"),
    pytest.param({"name": "%s %d {0} \\N", "url": "http://a.example/%25s?x=%s"}, id="formats"),
    pytest.param({"name": "a", "url": "http://a.example/?q=\"';--"}, id="quotes"),
]


@pytest.mark.parametrize("body", STORED_AS_SENT)
async def test_meta_characters_are_stored_and_returned_byte_for_byte(
    client: httpx.AsyncClient, body: dict[str, str]
) -> None:
    created = await client.post("/urls/", json=body)
    assert created.status_code == 201, created.text
    assert (created.json()["name"], created.json()["url"]) == (body["name"], body["url"])
    one = (await client.get(f"/urls/{created.json()['id']}")).json()
    assert (one["name"], one["url"]) == (body["name"], body["url"])
    listed = (await client.get("/urls")).json()["items"]
    assert [(m["name"], m["url"]) for m in listed] == [(body["name"], body["url"])]
    # and the tables are still there, holding exactly this one monitor
    assert (await client.get("/urls")).json()["total"] == 1


REFUSED = [
    pytest.param({"name": "a\x00b", "url": "http://a.example"}, "name", id="nul-in-name"),
    pytest.param({"name": "a\nb", "url": "http://a.example"}, "name", id="newline-in-name"),
    pytest.param({"name": "a\u202eb", "url": "http://a.example"}, "name", id="bidi-override"),
    pytest.param({"name": "x" * 10_000, "url": "http://a.example"}, "name", id="10kb-name"),
    pytest.param({"name": "a", "url": "http://a.example/" + "x" * 10_000}, "url", id="10kb-url"),
    pytest.param({"name": "a", "url": "http://a.example/\x00"}, "url", id="nul-in-url"),
    pytest.param({"name": "a", "url": "http://a.example/\r\nX-Injected: 1"}, "url", id="crlf"),
    pytest.param({"name": "a", "url": "javascript:alert(1)"}, "url", id="javascript-url"),
    pytest.param({"name": "a", "url": "file:///etc/passwd"}, "url", id="file-url"),
    pytest.param({"name": "   ", "url": "http://a.example"}, "name", id="blank-name"),
    pytest.param({"name": "a", "url": "http://a.example", "admin": True}, "admin", id="extra"),
    pytest.param({"name": 1, "url": "http://a.example"}, "name", id="number-name"),
    pytest.param({"name": "a", "url": ["http://a.example"]}, "url", id="list-url"),
]


@pytest.mark.parametrize(("body", "field"), REFUSED)
async def test_hostile_input_is_refused_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await client.post("/urls/", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"{field}: ")
    assert (await client.get("/urls")).json()["total"] == 0


@pytest.mark.parametrize(
    "path",
    [
        "/urls?offset=67587318019645486661632",  # past MySQL's LIMIT: was a 500
        "/urls?limit=0",
        "/urls?limit=1001",
        "/urls/0",
        "/urls/99999999999999999999",
        "/urls/top/fail/hour?cahce=false",  # a misspelt parameter is not silently ignored
        "/urls/summary?=1",
    ],
)
async def test_out_of_range_or_unknown_parameters_are_422(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 422, response.text
    assert response.json()["errors"]
