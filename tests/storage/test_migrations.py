"""The schema is created and versioned at start-up, idempotently, even by two processes at once,
and a database deployed at an older version is brought up to date with its data kept."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from service_monitor.models import CycleOutcome, CycleRecord
from service_monitor.storage.mysql import MIGRATIONS as MYSQL_MIGRATIONS
from service_monitor.storage.mysql import MySQLStorage
from service_monitor.storage.sqlite import MIGRATIONS as SQLITE_MIGRATIONS
from service_monitor.storage.sqlite import SQLiteStorage
from tests.conftest import MYSQL_DATABASE, production_settings

NOW = 1_800_000_000.0


async def test_sqlite_schema_is_versioned_once_whoever_starts_first(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite3"
    first, second = await asyncio.gather(SQLiteStorage.open(path), SQLiteStorage.open(path))
    third = await SQLiteStorage.open(path)
    try:
        rows = await third.fetch("SELECT version FROM schema_version ORDER BY version")
        assert rows == [(v,) for v in range(1, len(SQLITE_MIGRATIONS) + 1)]
    finally:
        for storage in (first, second, third):
            await storage.close()


@pytest.mark.usefixtures("require_mysql")
async def test_mysql_database_is_created_and_schema_versioned_once() -> None:
    settings = production_settings(DB_NAME=f"{MYSQL_DATABASE}_mig_{uuid.uuid4().hex[:8]}")
    first, second = await asyncio.gather(MySQLStorage.open(settings), MySQLStorage.open(settings))
    third = await MySQLStorage.open(settings)
    try:
        rows = await third.fetch("SELECT version FROM schema_version ORDER BY version")
        assert rows == [(v,) for v in range(1, len(MYSQL_MIGRATIONS) + 1)]
    finally:
        await third.execute(f"DROP DATABASE `{settings.DB_NAME}`")
        for storage in (first, second, third):
            await storage.close()


def test_both_backends_are_at_the_same_schema_version() -> None:
    # sql.py is shared: a table one backend lacks is a query that fails on it alone.
    assert len(SQLITE_MIGRATIONS) == len(MYSQL_MIGRATIONS)


async def test_a_version_1_sqlite_database_is_upgraded_keeping_its_monitors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "deployed.sqlite3"
    with monkeypatch.context() as deployed:
        deployed.setattr("service_monitor.storage.sqlite.MIGRATIONS", SQLITE_MIGRATIONS[:1])
        old = await SQLiteStorage.open(path)
        monitor = await old.add_monitor("a", "http://a.com", NOW)
        await old.close()
    upgraded = await SQLiteStorage.open(path)
    try:
        rows = await upgraded.fetch("SELECT version FROM schema_version ORDER BY version")
        assert rows == [(v,) for v in range(1, len(SQLITE_MIGRATIONS) + 1)]
        assert await upgraded.get_monitor(monitor.id) == monitor
        await upgraded.record_cycle(CycleRecord(NOW, NOW, CycleOutcome.SKIPPED))  # version 2
        assert (await upgraded.cycle_totals()).by_outcome[CycleOutcome.SKIPPED] == 1
    finally:
        await upgraded.close()


@pytest.mark.usefixtures("require_mysql")
async def test_a_version_1_mysql_database_is_upgraded_keeping_its_monitors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = production_settings(DB_NAME=f"{MYSQL_DATABASE}_up_{uuid.uuid4().hex[:8]}")
    with monkeypatch.context() as deployed:
        deployed.setattr("service_monitor.storage.mysql.MIGRATIONS", MYSQL_MIGRATIONS[:1])
        old = await MySQLStorage.open(settings)
        monitor = await old.add_monitor("a", "http://a.com", NOW)
        await old.close()
    upgraded = await MySQLStorage.open(settings)
    try:
        rows = await upgraded.fetch("SELECT version FROM schema_version ORDER BY version")
        assert rows == [(v,) for v in range(1, len(MYSQL_MIGRATIONS) + 1)]
        assert await upgraded.get_monitor(monitor.id) == monitor
        await upgraded.record_cycle(CycleRecord(NOW, NOW, CycleOutcome.SKIPPED))  # version 2
        assert (await upgraded.cycle_totals()).by_outcome[CycleOutcome.SKIPPED] == 1
    finally:
        await upgraded.execute(f"DROP DATABASE `{settings.DB_NAME}`")
        await upgraded.close()
