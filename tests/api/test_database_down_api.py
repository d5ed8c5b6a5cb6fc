"""When the database fails, the API answers 503 in JSON naming the database, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from service_monitor.api.app import create_app
from service_monitor.cache.local import LocalCache
from service_monitor.config import load_settings
from service_monitor.errors import StorageUnavailable
from service_monitor.services import Services
from service_monitor.storage.sqlite import SQLiteStorage
from service_monitor.storage.statements import Executed, Row
from tests.conftest import FakeClock


class FailingSQLite(SQLiteStorage):
    """A real SQLite store whose every statement fails the way a lost server does."""

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise StorageUnavailable(f"database {self.path} failed: server has gone away")

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Executed:
        raise StorageUnavailable(f"database {self.path} failed: server has gone away")


@pytest.fixture
async def client(tmp_path: Path, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    path = tmp_path / "db.sqlite3"
    storage = await FailingSQLite.open(path)
    cache = await LocalCache.open(path)
    services = Services(load_settings(SQLITE_PATH=path), storage, cache, clock=clock)
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    await cache.close()
    await storage.close()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/urls/top/fail/hour", None),
        ("GET", "/urls/summary", None),
        ("GET", "/urls", None),
        ("GET", "/urls/1", None),
        ("DELETE", "/urls/1", None),
        ("POST", "/urls/", {"name": "a", "url": "http://a.com"}),
    ],
)
async def test_database_failure_is_503_naming_the_database(
    client: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    response = await client.request(method, path, json=body)
    assert response.status_code == 503
    assert response.json()["detail"].startswith("database unavailable: ")
    assert "server has gone away" in response.json()["detail"]


async def test_status_names_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/status")
    assert response.status_code == 503
    assert response.json()["database"] == "down"
    assert response.json()["cache"] == "ok"
