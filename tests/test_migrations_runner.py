"""The one migration runner: the versions after the recorded one run once, in order, each recorded;
here through the SQLite file's migration, the way the embedded store and cache call it."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from service_monitor.cache import CacheEntry
from service_monitor.cache.local import MIGRATIONS as CACHE_MIGRATIONS
from service_monitor.cache.local import LocalCache
from service_monitor.errors import CacheUnavailable, StorageUnavailable
from service_monitor.migrations import Migrations
from service_monitor.sqlite_file import connect_sqlite, migrate_sqlite

# Each version notes itself in `applied`: a version run twice, or out of order, shows there.
VERSIONS: Migrations = [
    ["CREATE TABLE applied (seq INTEGER PRIMARY KEY, version INTEGER NOT NULL)"],
    ["INSERT INTO applied (version) VALUES (2)"],
    ["INSERT INTO applied (version) VALUES (3)", "INSERT INTO applied (version) VALUES (3)"],
]


@pytest.fixture
async def connection(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    opened = await connect_sqlite(tmp_path / "f.sqlite3", unavailable=StorageUnavailable)
    yield opened
    await opened.close()


async def _rows(connection: aiosqlite.Connection, sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in await connection.execute_fetchall(sql)]


async def test_only_the_versions_after_the_recorded_one_run_in_order_and_each_is_recorded(
    connection: aiosqlite.Connection,
) -> None:
    await migrate_sqlite(connection, "versions", VERSIONS[:1])
    await migrate_sqlite(connection, "versions", VERSIONS)
    await migrate_sqlite(connection, "versions", VERSIONS)  # nothing left to run
    applied = await _rows(connection, "SELECT version FROM applied ORDER BY seq")
    assert applied == [(2,), (3,), (3,)]
    recorded = await _rows(connection, "SELECT version FROM versions ORDER BY version")
    assert recorded == [(1,), (2,), (3,)]


async def test_a_version_that_fails_leaves_the_sqlite_file_at_the_version_it_had(
    connection: aiosqlite.Connection,
) -> None:
    await migrate_sqlite(connection, "versions", VERSIONS[:1])
    with pytest.raises(sqlite3.OperationalError):
        await migrate_sqlite(connection, "versions", [*VERSIONS, ["INSERT INTO nowhere"]])
    assert await _rows(connection, "SELECT version FROM versions") == [(1,)]
    assert await _rows(connection, "SELECT COUNT(*) FROM applied") == [(0,)]


async def test_a_version_1_cache_file_is_upgraded_keeping_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "deployed.sqlite3"
    deployed = await connect_sqlite(path, unavailable=CacheUnavailable)
    await migrate_sqlite(deployed, "cache_schema_version", CACHE_MIGRATIONS[:1])
    await deployed.execute(
        "INSERT INTO cache_entries (key, value, stored_at) VALUES ('summary', '[]', 1800000000)"
    )
    await deployed.close()
    upgraded = await LocalCache.open(path)
    try:
        assert await upgraded.get("summary") == CacheEntry("[]", 1_800_000_000.0)
        assert await upgraded.try_lock("stats:summary", 10.0) is not None  # version 2
        await upgraded.add_counters({"probes": 1.0})  # version 3
        assert await upgraded.read_counters() == {"probes": 1.0}
    finally:
        await upgraded.close()
