"""The API with MariaDB or Redis down, or answering nothing at all (a black hole), through a proxy
the test controls: statistics fall back to the database, writes stay durable, every answer comes
within the timeouts, and everything resumes by itself when the server is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from service_monitor.api.app import create_app
from service_monitor.cache.redis import RedisCache
from service_monitor.errors import StorageUnavailable
from service_monitor.models import MonitorState
from service_monitor.services import Services
from service_monitor.storage.mysql import MySQLStorage
from tests.conftest import (
    MYSQL_HOST,
    MYSQL_PORT,
    REDIS_HOST,
    REDIS_PORT,
    open_mysql_storage,
    production_settings,
    redis_cleanup,
)
from tests.faults import Mode, TCPProxy, tcp_proxy

pytestmark = pytest.mark.usefixtures("require_mysql", "require_redis")

STATS = ["/urls/top/success/hour", "/urls/top/fail/week", "/urls/summary"]


@dataclass
class Faulty:
    """An API on MariaDB and Redis, each reached through a proxy the test can cut."""

    client: httpx.AsyncClient
    services: Services
    db: TCPProxy
    redis: TCPProxy


@pytest.fixture
async def faulty(request: pytest.FixtureRequest) -> AsyncIterator[Faulty]:
    overrides: dict[str, Any] = getattr(request, "param", {})
    async with tcp_proxy(MYSQL_HOST, MYSQL_PORT) as db, tcp_proxy(REDIS_HOST, REDIS_PORT) as redis:
        settings = production_settings(
            DB_PORT=db.port,
            CACHE_PORT=redis.port,
            CACHE_OP_TIMEOUT=0.5,
            CACHE_RETRY_AFTER=1.0,
            CACHE_LOCAL_TTL=0,  # every request asks Redis: what is under test
            DB_CONNECT_TIMEOUT=1.0,
            DB_QUERY_TIMEOUT=1.0,
            **overrides,
        )
        storage = await open_mysql_storage(settings)
        cache = await RedisCache.open(settings)
        services = Services(settings, storage, cache)
        transport = httpx.ASGITransport(app=create_app(services=services))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                yield Faulty(client, services, db, redis)
        finally:
            await cache.close()
            await storage.close()
            await redis_cleanup(settings.CACHE_KEY_PREFIX)


async def timed(client: httpx.AsyncClient, method: str, path: str, **kw: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = await client.request(method, path, **kw)
    return response, time.monotonic() - started


async def test_stats_answer_from_the_database_while_redis_is_down(faulty: Faulty) -> None:
    for path in STATS:  # cached while Redis is up
        assert (await faulty.client.get(path)).status_code == 200
    await faulty.redis.set_mode(Mode.CUT)

    for path in STATS:
        response, took = await timed(faulty.client, "GET", path)
        assert response.status_code == 200, response.text
        assert response.headers["cached"] == "false"  # from the database
        assert took < 2.0

    posted = await faulty.client.post("/urls/", json={"name": "a", "url": "http://a.example/"})
    assert posted.status_code == 201  # stored durably; the next cycle takes it in from there
    monitor = await faulty.services.storage.get_monitor(posted.json()["id"])
    assert monitor.state is MonitorState.PENDING

    status = await faulty.client.get("/status")
    assert status.status_code == 503
    assert status.json()["cache"] == "down"
    assert status.json()["database"] == "ok"
    assert f"cache 127.0.0.1:{faulty.redis.port}" in status.json()["detail"]


async def test_queue_and_cache_resume_by_themselves_when_redis_is_back(faulty: Faulty) -> None:
    await faulty.redis.set_mode(Mode.CUT)
    assert (await faulty.client.get("/status")).status_code == 503
    await faulty.redis.set_mode(Mode.PASS)
    await asyncio.sleep(1.1)  # CACHE_RETRY_AFTER: Redis is then tried again

    assert (await faulty.client.get("/status")).status_code == 200
    first = await faulty.client.get("/urls/summary")
    again = await faulty.client.get("/urls/summary")
    assert (first.headers["cached"], again.headers["cached"]) == ("false", "true")
    posted = await faulty.client.post("/urls/", json={"name": "b", "url": "http://b.example/"})
    assert posted.status_code == 201
    assert await faulty.services.cache.depth() == 1  # queued again, no restart needed


async def test_a_redis_black_hole_costs_one_timeout_per_retry_period_not_one_per_request(
    faulty: Faulty,
) -> None:
    await faulty.redis.set_mode(Mode.BLACK_HOLE)

    # 20 requests at once while nobody knows yet: each waits at most the one timeout (0.5 s).
    answers = await asyncio.gather(*(timed(faulty.client, "GET", STATS[i % 3]) for i in range(20)))
    assert {r.status_code for r, _ in answers} == {200}
    assert max(took for _, took in answers) < 1.2  # waiting out each Redis call: 1.5 s

    # Now Redis is skipped: answers come from the database at once, and /status says since when.
    response, took = await timed(faulty.client, "GET", "/urls/summary")
    assert (response.status_code, response.headers["cached"]) == (200, "false")
    assert took < 0.4  # below the 0.5 s timeout: not asked
    status, took = await timed(faulty.client, "GET", "/status")
    assert status.status_code == 503
    assert took < 3.0
    assert "down since" in status.json()["detail"]
    assert "CACHE_RETRY_AFTER" in status.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/urls/top/fail/hour?cache=false", None),
        ("GET", "/urls/summary?cache=false", None),
        ("GET", "/urls", None),
        ("GET", "/urls/1", None),
        ("DELETE", "/urls/1", None),
        ("POST", "/urls/", {"name": "a", "url": "http://a.example/"}),
    ],
)
@pytest.mark.parametrize("mode", [Mode.CUT, Mode.BLACK_HOLE], ids=["cut", "black-hole"])
async def test_mysql_down_is_a_503_naming_the_database_within_the_timeouts(
    faulty: Faulty, mode: Mode, method: str, path: str, body: object
) -> None:
    await faulty.db.set_mode(mode)
    response, took = await timed(faulty.client, method, path, json=body)
    assert response.status_code == 503, response.text
    assert response.json()["detail"].startswith("database unavailable: database 127.0.0.1:")
    # DB_CONNECT_TIMEOUT (1 s) to get a connection, DB_QUERY_TIMEOUT (1 s) for the answer
    assert took < 3.0

    await faulty.db.set_mode(Mode.PASS)  # and back by itself
    assert (await faulty.client.get("/urls")).status_code == 200


@pytest.mark.parametrize("faulty", [{"MAX_POOL": 2}], indirect=True)
async def test_requests_never_queue_behind_a_database_black_hole(faulty: Faulty) -> None:
    """Two connections hang on the black hole; the other requests must not wait for them, one
    read timeout after another (20 requests would take 10 s)."""
    await faulty.db.set_mode(Mode.BLACK_HOLE)
    answers = await asyncio.gather(*(timed(faulty.client, "GET", "/urls") for _ in range(20)))
    assert {r.status_code for r, _ in answers} == {503}
    assert max(took for _, took in answers) < 3.0

    status, took = await timed(faulty.client, "GET", "/status")
    assert status.status_code == 503
    assert status.json()["database"] == "down"
    assert took < 3.0


async def test_status_names_the_database_when_it_is_cut(faulty: Faulty) -> None:
    await faulty.db.set_mode(Mode.CUT)
    status = await faulty.client.get("/status")
    assert status.status_code == 503
    assert (status.json()["database"], status.json()["cache"]) == ("down", "ok")
    assert f"database 127.0.0.1:{faulty.db.port}/" in status.json()["detail"]


async def test_a_store_opened_directly_fails_at_once_without_retrying() -> None:
    """Start-up retries live in startup.py; MySQLStorage.open itself still fails fast."""
    async with tcp_proxy(MYSQL_HOST, MYSQL_PORT) as db:
        await db.set_mode(Mode.CUT)
        started = time.monotonic()
        with pytest.raises(StorageUnavailable, match="unreachable"):
            await MySQLStorage.open(production_settings(DB_PORT=db.port, STARTUP_TIMEOUT=60))
        assert time.monotonic() - started < 2.0
