"""The schema is created and versioned at start-up, idempotently, even by two processes at once."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from service_monitor.storage.mysql import MIGRATIONS as MYSQL_MIGRATIONS
from service_monitor.storage.mysql import MySQLStorage
from service_monitor.storage.sqlite import MIGRATIONS as SQLITE_MIGRATIONS
from service_monitor.storage.sqlite import SQLiteStorage
from tests.conftest import MYSQL_DATABASE, production_settings


async def test_sqlite_schema_is_versioned_once_whoever_starts_first(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite3"
    first, second = await asyncio.gather(SQLiteStorage.open(path), SQLiteStorage.open(path))
    third = await SQLiteStorage.open(path)
    try:
        rows = await third._fetch("SELECT version FROM schema_version ORDER BY version")
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
        rows = await third._fetch("SELECT version FROM schema_version ORDER BY version")
        assert rows == [(v,) for v in range(1, len(MYSQL_MIGRATIONS) + 1)]
    finally:
        await third._execute(f"DROP DATABASE `{settings.DB_NAME}`")
        for storage in (first, second, third):
            await storage.close()
