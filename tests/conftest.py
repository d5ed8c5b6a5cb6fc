"""Fixtures that build each backend for real: SQLite files, MariaDB and Redis on this machine.

Every contract test takes `storage`, `cache` or `services`, parametrised over the backends, so adding a
backend adds a parameter here. A test that needs MariaDB or Redis skips with the reason when the
server is unreachable, and fails instead under REQUIRE_SERVICES=1 (what CI sets).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncmy
import httpx
import pytest
import redis.asyncio as aioredis

from service_monitor.api.app import create_app
from service_monitor.cache import CacheBackend
from service_monitor.cache.local import LocalCache
from service_monitor.cache.redis import RedisCache
from service_monitor.config import Settings, load_settings
from service_monitor.services import Services
from service_monitor.storage import Storage
from service_monitor.storage.mysql import MySQLStorage
from service_monitor.storage.sqlite import SQLiteStorage

MYSQL_HOST = os.environ.get("TEST_DB_ADDRESS", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("TEST_DB_PORT", "3306"))
MYSQL_USER = os.environ.get("TEST_DB_USER", "root")
MYSQL_PASSWORD = os.environ.get("TEST_DB_PASSWORD", "")
REDIS_HOST = os.environ.get("TEST_CACHE_ADDRESS", "127.0.0.1")
REDIS_PORT = int(os.environ.get("TEST_CACHE_PORT", "6379"))
# One database per test session, so parallel sessions on one server never meet.
MYSQL_DATABASE = f"sm_test_{os.getpid()}"


def service_missing(reason: str) -> None:
    """Skip, or fail under REQUIRE_SERVICES=1: CI must never pass by skipping the real backends."""
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


class FakeClock:
    """A clock the test moves by hand: window edges are tested to the second, not to luck."""

    def __init__(self, now: float | None = None) -> None:
        # Starts at the real time (whole seconds) so checks the prober stamps fall in the windows.
        self.now = float(int(time.time())) if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# The key channel targets are sealed with on MySQL (CHANNEL_KEYS), as Secrets Manager gives it on
# AWS; the embedded deployment keeps its own key file beside the SQLite file.
TEST_CHANNEL_KEY = "PmtqnzdoUOtK0XpKRzqQ4aNE6AEMYW0R0UUdsZBKvmU="

# Tests probe servers on 127.0.0.1, which the SSRF guard refuses: these settings open it unless a
# test says otherwise (the guard's own tests turn it back on).
GUARD_OPEN: dict[str, Any] = {"ALLOW_PRIVATE_TARGETS": True}


def embedded_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values = {**GUARD_OPEN, **overrides}
    return load_settings(SQLITE_PATH=tmp_path / "service-monitor.sqlite3", **values)


def production_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DB_ADDRESS": MYSQL_HOST,
        "DB_PORT": MYSQL_PORT,
        "DB_USER": MYSQL_USER,
        "DB_PASSWORD": MYSQL_PASSWORD,
        "DB_NAME": MYSQL_DATABASE,
        "DB_CONNECT_TIMEOUT": 2,
        "CACHE_ADDRESS": REDIS_HOST,
        "CACHE_PORT": REDIS_PORT,
        "CACHE_KEY_PREFIX": f"sm-test:{uuid.uuid4().hex}:",
        **GUARD_OPEN,
    }
    values.update(overrides)
    return load_settings(**values)


async def _mysql_reachable() -> str | None:
    try:
        connection = await asyncmy.connect(
            host=MYSQL_HOST,
            port=MYSQL_PORT,
            user=MYSQL_USER,
            password=MYSQL_PASSWORD,
            connect_timeout=2,
        )
    except Exception as exc:
        return f"MariaDB/MySQL at {MYSQL_HOST}:{MYSQL_PORT} unreachable: {exc!r}"
    connection.close()
    return None


async def _redis_reachable() -> str | None:
    client = aioredis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        return f"Redis at {REDIS_HOST}:{REDIS_PORT} unreachable: {exc!r}"
    finally:
        await client.aclose()
    return None


def run_aside(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to completion on its own loop in a thread: session fixtures are set up
    from inside a test's running loop, where asyncio.run cannot be called."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def mysql_available() -> Iterator[str | None]:
    """None when MariaDB answers (and the session's database is dropped at the end), else why not."""
    problem = run_aside(_mysql_reachable())
    yield problem
    if problem is None:
        run_aside(_drop_test_database())


async def _drop_test_database() -> None:
    connection = await asyncmy.connect(
        host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_USER, password=MYSQL_PASSWORD
    )
    try:
        async with connection.cursor() as cursor:
            # The session's database and those made from its name (end-to-end, migration tests).
            await cursor.execute(
                "SHOW DATABASES LIKE %s", (MYSQL_DATABASE.replace("_", r"\_") + "%",)
            )
            for (name,) in await cursor.fetchall():
                await cursor.execute(f"DROP DATABASE `{name}`")
    finally:
        connection.close()


@pytest.fixture(scope="session")
def redis_available() -> str | None:
    problem: str | None = run_aside(_redis_reachable())
    return problem


@pytest.fixture
def require_mysql(mysql_available: str | None) -> None:
    if mysql_available:
        service_missing(mysql_available)


@pytest.fixture
def require_redis(redis_available: str | None) -> None:
    if redis_available:
        service_missing(redis_available)


async def open_mysql_storage(settings: Settings) -> MySQLStorage:
    storage = await MySQLStorage.open(settings)
    # Each test starts from empty tables; the schema itself is migrated once and kept.
    for table in (
        "checks",
        "monitors",
        "cycles",
        "rollups",
        "rollup_hours",
        "windows",
        "window_bounds",
        "monitor_health",
        "incidents",
        "channels",
        "monitor_channels",
        "notifications",
        "maintenance_windows",
        "plan_slots",
        "region_health",
    ):
        await storage.execute(f"TRUNCATE TABLE {table}")
    await storage.execute(MySQLStorage.LOCK_ROLLUPS)  # the lock row schema version 7 makes
    return storage


async def redis_cleanup(prefix: str) -> None:
    """Remove every key a test made under its own prefix."""
    client = aioredis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(params=["sqlite", "mysql"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    if request.param == "mysql":
        request.getfixturevalue("require_mysql")
        opened: Storage = await open_mysql_storage(production_settings())
    else:
        opened = await SQLiteStorage.open(tmp_path / "store.sqlite3")
    yield opened
    await opened.close()


@pytest.fixture(params=["local", "redis"])
async def cache(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CacheBackend]:
    if request.param == "redis":
        request.getfixturevalue("require_redis")
        settings = production_settings()
        opened: CacheBackend = await RedisCache.open(settings)
        yield opened
        await opened.close()
        await redis_cleanup(settings.CACHE_KEY_PREFIX)
    else:
        opened = await LocalCache.open(tmp_path / "cache.sqlite3")
        yield opened
        await opened.close()


@pytest.fixture(params=["embedded", "mysql+redis"])
async def services(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Services]:
    """Storage and cache as deployed: both embedded in one SQLite file, or MariaDB with Redis."""
    if request.param == "mysql+redis":
        request.getfixturevalue("require_mysql")
        request.getfixturevalue("require_redis")
        settings = production_settings(CHANNEL_KEYS=TEST_CHANNEL_KEY)
        storage: Storage = await open_mysql_storage(settings)
        cache: CacheBackend = await RedisCache.open(settings)
    else:
        settings = embedded_settings(tmp_path)
        storage = await SQLiteStorage.open(settings.SQLITE_PATH)
        cache = await LocalCache.open(settings.SQLITE_PATH)
    yield Services(settings, storage, cache, clock=clock)
    await cache.close()
    await storage.close()
    if request.param == "mysql+redis":
        await redis_cleanup(settings.CACHE_KEY_PREFIX)


@pytest.fixture(params=["embedded", "mysql+redis"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of server processes (tests/servers.py): one SQLite file, or MariaDB and
    Redis."""
    from tests.servers import deployment_env

    yield from deployment_env(request.param, tmp_path, request, "e2e")


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the ASGI app, built on each deployment's services."""
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
