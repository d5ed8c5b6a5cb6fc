"""The embedded store and the embedded cache share one SQLite file, so how to open it (pragmas, WAL) and migrate tables in it lives here, beside both."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from .errors import Unavailable
from .migrations import Migrations, apply_migrations

# How long (ms) a writer waits for another process's transaction: the API and the compute may
# share this file.
BUSY_TIMEOUT_MS = 5000


async def connect_sqlite(path: Path, *, unavailable: type[Unavailable]) -> aiosqlite.Connection:
    """Open the file in autocommit mode with WAL, shared safely by several processes; a file that
    cannot be opened or used raises `unavailable` (the store's error, or the cache's)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(path, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise unavailable(f"cannot open database file {path}: {exc}") from exc
    try:
        await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await _switch_to_wal(connection)
        # NORMAL is durable against process crashes in WAL mode; only a power loss can drop the
        # last transactions, which is the usual trade for an embedded store.
        await connection.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error as exc:
        await connection.close()
        raise unavailable(f"cannot use database file {path}: {exc}") from exc
    return connection


async def _switch_to_wal(connection: aiosqlite.Connection) -> None:
    """Turn WAL on. Two processes opening a new file at once can make SQLite refuse the switch at
    once, without waiting out busy_timeout (it would deadlock otherwise), so retry it for as long."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            await connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.01)


async def migrate_sqlite(
    connection: aiosqlite.Connection, version_table: str, migrations: Migrations
) -> None:
    """Apply the versions not yet recorded in `version_table`, under one write lock."""
    await connection.execute(
        f"CREATE TABLE IF NOT EXISTS {version_table} (version INTEGER NOT NULL)"
    )
    await connection.execute("BEGIN IMMEDIATE")  # serialises two processes starting at once
    try:
        await apply_migrations(_Session(connection), version_table, migrations)
    except BaseException:
        await connection.rollback()
        raise
    await connection.commit()


class _Session:
    """The connection as the migration runner's Session: SQLite takes `?` placeholders as they are."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self._db.execute_fetchall(sql, params)]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self._db.execute(sql, params)
