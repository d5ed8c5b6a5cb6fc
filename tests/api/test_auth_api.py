"""API keys and request bounds: who may write and read, 401/403/413/400 in JSON, on both deployments."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from service_monitor.api.app import create_app
from service_monitor.api.auth import Keys
from service_monitor.config import load_settings
from service_monitor.services import Services

KEY = "k-7f3a9c1e5b2d4f60"
OTHER_KEY = "k-second-key-for-rotation"

ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client_with(services: Services) -> ClientFactory:
    """An HTTP client on an app whose settings are the deployment's plus `overrides`."""

    @asynccontextmanager
    async def open_client(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        values = services.settings.model_dump() | overrides
        settings = load_settings(**values)
        app = create_app(
            services=Services(settings, services.storage, services.cache, clock=services.clock)
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http

    return open_client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


NEW = {"name": "shop", "url": "http://shop.example/health"}


async def test_writes_are_open_when_no_key_is_set(client_with: ClientFactory) -> None:
    async with client_with(API_KEYS="") as client:
        created = await client.post("/urls/", json=NEW)
        assert created.status_code == 201
        assert (await client.delete(f"/urls/{created.json()['id']}")).status_code == 204


async def test_a_write_without_a_key_is_401_saying_how_to_send_one(
    client_with: ClientFactory,
) -> None:
    async with client_with(API_KEYS=KEY) as client:
        response = await client.post("/urls/", json=NEW)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer <key>" in response.json()["detail"]
        # and nothing was stored
        assert (await client.get("/urls")).json()["total"] == 0


async def test_a_write_with_a_wrong_key_is_403_and_changes_nothing(
    client_with: ClientFactory,
) -> None:
    async with client_with(API_KEYS=KEY) as client:
        created = await client.post("/urls/", json=NEW, headers=bearer(KEY))
        assert created.status_code == 201
        monitor = created.json()["id"]
        for response in (
            await client.post(
                "/urls/", json=NEW | {"url": "http://b.example"}, headers=bearer("x")
            ),
            await client.delete(f"/urls/{monitor}", headers=bearer(KEY + "x")),
        ):
            assert response.status_code == 403
            assert response.json() == {"detail": "the API key sent is not valid"}
        assert (await client.get(f"/urls/{monitor}")).status_code == 200


async def test_any_of_several_keys_is_accepted(client_with: ClientFactory) -> None:
    async with client_with(API_KEYS=f"{KEY},{OTHER_KEY}") as client:
        first = await client.post("/urls/", json=NEW, headers=bearer(KEY))
        second = await client.delete(f"/urls/{first.json()['id']}", headers=bearer(OTHER_KEY))
        assert (first.status_code, second.status_code) == (201, 204)


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", KEY, f"Token {KEY}"]
)
async def test_a_malformed_authorization_header_is_401_without_echoing_it(
    client_with: ClientFactory, header: str
) -> None:
    async with client_with(API_KEYS=KEY) as client:
        response = await client.post("/urls/", json=NEW, headers={"Authorization": header})
        assert response.status_code == 401
        detail = response.json()["detail"]
        assert "dXNlcjpwYXNz" not in detail
        assert KEY not in detail


async def test_reads_stay_open_with_keys_unless_read_auth(client_with: ClientFactory) -> None:
    async with client_with(API_KEYS=KEY) as client:
        for path in ("/urls/top/fail/hour", "/urls/summary", "/urls", "/status"):
            assert (await client.get(path)).status_code == 200, path


@pytest.mark.parametrize(
    "path",
    [
        "/urls/top/fail/hour",
        "/urls/top/success/month?cache=false",
        "/urls/summary",
        "/urls/summary/",
        "/urls",
        "/urls/1",
    ],
)
async def test_read_auth_asks_a_key_of_every_read(client_with: ClientFactory, path: str) -> None:
    async with client_with(API_KEYS=KEY, READ_AUTH=True) as client:
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers=bearer("nope"))).status_code == 403
        allowed = await client.get(path, headers=bearer(KEY))
        assert allowed.status_code in (200, 404), allowed.text  # /urls/1 does not exist


async def test_status_and_the_schema_stay_open_with_read_auth(client_with: ClientFactory) -> None:
    async with client_with(API_KEYS=KEY, READ_AUTH=True) as client:
        assert (await client.get("/status")).status_code == 200
        assert (await client.get("/openapi.json")).status_code == 200


async def test_the_schema_names_the_key_only_where_this_deployment_asks_for_it(
    client_with: ClientFactory,
) -> None:
    async with client_with(API_KEYS=KEY) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
    assert "security" in paths["/urls/"]["post"]
    assert {"401", "403"} <= paths["/urls/"]["post"]["responses"].keys()
    assert "security" not in paths["/urls/summary"]["get"]
    async with client_with(API_KEYS="") as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
    assert "security" not in paths["/urls/"]["post"]


async def test_keys_never_reach_the_log(
    client_with: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with client_with(API_KEYS=f"{KEY},{OTHER_KEY}") as client:
        await client.post("/urls/", json=NEW, headers=bearer(KEY))
        await client.post("/urls/", json=NEW, headers=bearer("wrong-" + KEY))
    assert KEY not in caplog.text
    assert OTHER_KEY not in caplog.text


async def test_no_keys_is_one_warning_that_writes_are_open(
    client_with: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    async with client_with(API_KEYS=""):
        pass
    open_warnings = [r for r in caplog.records if "API_KEYS is not set" in r.message]
    assert len(open_warnings) == 1
    assert open_warnings[0].levelno == logging.WARNING
    caplog.clear()
    async with client_with(API_KEYS=KEY):
        pass
    assert "API_KEYS is not set" not in caplog.text


def test_keys_compare_whole_keys() -> None:
    keys = Keys([KEY, OTHER_KEY])
    assert keys.accepts(KEY)
    assert keys.accepts(OTHER_KEY)
    for near in (KEY[:-1], KEY + "0", KEY.upper(), "", " " + KEY):
        assert not keys.accepts(near), near


async def test_a_body_over_the_limit_is_413_before_it_is_read(
    client_with: ClientFactory,
) -> None:
    async with client_with(MAX_REQUEST_BYTES=2048) as client:
        big = {"name": "a", "url": "http://a.example/?" + "x" * 3000}
        response = await client.post("/urls/", json=big)
        assert response.status_code == 413
        assert "MAX_REQUEST_BYTES" in response.json()["detail"]
        assert (await client.get("/urls")).json()["total"] == 0


async def test_a_chunked_body_over_the_limit_is_413_too(client_with: ClientFactory) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "a", "url": "http://a.example/?'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    async with client_with(MAX_REQUEST_BYTES=2048) as client:
        response = await client.post(
            "/urls/", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert (await client.get("/urls")).json()["total"] == 0


async def test_a_body_within_the_limit_is_accepted(client_with: ClientFactory) -> None:
    async with client_with(MAX_REQUEST_BYTES=4096) as client:
        response = await client.post("/urls/", json={"name": "a", "url": "http://a.example/?q=1"})
        assert response.status_code == 201


@pytest.mark.parametrize("body", [b"{", b"not json", b'{"name": "a", "url": }', b"\xff\xfe"])
async def test_a_body_that_is_not_json_is_400(client_with: ClientFactory, body: bytes) -> None:
    async with client_with() as client:
        response = await client.post(
            "/urls/", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert response.json()["detail"].startswith("the body is not valid JSON")


@pytest.mark.parametrize("body", ["[]", '[{"name": "a", "url": "http://a.example"}]', '"a"', "1"])
async def test_json_that_is_not_an_object_is_422(client_with: ClientFactory, body: str) -> None:
    async with client_with() as client:
        response = await client.post(
            "/urls/", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"]


async def test_every_answer_says_it_is_not_to_be_sniffed(client_with: ClientFactory) -> None:
    async with client_with() as client:
        for response in (
            await client.get("/urls/summary"),
            await client.get("/urls/999"),
            await client.post("/urls/", content=b"{", headers={"content-type": "application/json"}),
        ):
            assert response.headers["x-content-type-options"] == "nosniff"


async def test_every_documented_error_answer_is_in_the_schema(client_with: ClientFactory) -> None:
    async with client_with(API_KEYS=KEY, READ_AUTH=True) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
    codes = {code for path in paths.values() for op in path.values() for code in op["responses"]}
    assert {"400", "401", "403", "404", "409", "413", "422", "503"} <= codes
    for path, operations in paths.items():
        for method, operation in operations.items():
            if path != "/status":
                assert {"401", "403"} <= operation["responses"].keys(), (method, path)
