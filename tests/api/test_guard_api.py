"""`POST /urls/` with the SSRF guard on: literal internal addresses answer 422 naming why."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from service_monitor.api.app import create_app
from service_monitor.services import Services


def with_settings(services: Services, **values: object) -> Services:
    return Services(
        services.settings.model_copy(update=values),
        services.storage,
        services.cache,
        clock=services.clock,
    )


@pytest.fixture
def services(services: Services) -> Services:
    """Each deployment of tests/conftest.py, with the guard back on (those settings open it, since
    most tests probe 127.0.0.1). The `client` fixture of tests/api/conftest.py is built on it."""
    return with_settings(services, ALLOW_PRIVATE_TARGETS=False, ALLOWED_TARGET_NETWORKS=[])


@asynccontextmanager
async def client_on(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/health", "127.0.0.1 is a loopback address (127.0.0.0/8)"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://169.254.170.2/v2/credentials", "169.254.170.2 is a link-local address"),
        ("http://10.0.0.5/", "10.0.0.5 is a private address (10.0.0.0/8)"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://[::ffff:169.254.169.254]/", "IPv4-mapped form of 169.254.169.254"),
        ("http://[fd00:ec2::254]/", "unique local (private) address"),
        ("http://2130706433/", "127.0.0.1 is a loopback address"),
        ("http://0x7f.1/", "127.0.0.1 is a loopback address"),
        ("http://127.1/", "127.0.0.1 is a loopback address"),
    ],
)
async def test_a_literal_internal_address_answers_422_naming_the_reason(
    client: httpx.AsyncClient, url: str, reason: str
) -> None:
    response = await client.post("/urls/", json={"name": "internal", "url": url})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("url: ")
    assert reason in body["detail"]
    assert "ALLOW_PRIVATE_TARGETS" in body["detail"]
    [error] = body["errors"]
    assert error["loc"] == ["body", "url"]
    assert error["type"] == "target_refused"
    assert body["detail"] == f"url: {error['msg']}"
    listed = (await client.get("/urls")).json()
    assert listed["total"] == 0  # nothing stored, nothing queued


async def test_names_are_accepted_and_checked_only_when_probed(
    client: httpx.AsyncClient,
) -> None:
    for url in ("http://localhost:8080/", "https://example.com/health"):
        response = await client.post("/urls/", json={"name": url, "url": url})
        assert response.status_code == 201, response.text


async def test_a_public_literal_address_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post("/urls/", json={"name": "dns", "url": "https://8.8.8.8/"})
    assert response.status_code == 201


async def test_allow_private_targets_opens_the_guard(services: Services) -> None:
    async with client_on(with_settings(services, ALLOW_PRIVATE_TARGETS=True)) as client:
        response = await client.post(
            "/urls/", json={"name": "local", "url": "http://127.0.0.1:8080/health"}
        )
    assert response.status_code == 201


async def test_the_allow_list_opens_its_ranges_only(services: Services) -> None:
    opened = with_settings(services, ALLOWED_TARGET_NETWORKS=[ipaddress.ip_network("10.1.0.0/16")])
    async with client_on(opened) as client:
        inside = await client.post("/urls/", json={"name": "in", "url": "http://10.1.2.3/"})
        outside = await client.post("/urls/", json={"name": "out", "url": "http://10.2.0.1/"})
    assert inside.status_code == 201
    assert outside.status_code == 422
    assert "10.2.0.1 is a private address" in outside.json()["detail"]
