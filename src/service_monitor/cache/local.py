"""The embedded cache and queue: tables in a SQLite file, so two local processes share them."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import aiosqlite

from ..errors import CacheUnavailable
from ..sqlite_file import connect_sqlite, migrate_sqlite
from . import CacheEntry

# Each entry is one schema version, applied once and in order; a released version is never edited:
# a change is a new entry at the end.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE IF NOT EXISTS cache_entries (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            stored_at REAL NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS url_queue (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            monitor_id INTEGER NOT NULL,
            claimed INTEGER NOT NULL DEFAULT 0
        )""",
    ],
    # 2: short locks shared by the processes on this file (Cache.try_lock); expires_at in seconds
    # since the epoch, UTC.
    [
        """CREATE TABLE IF NOT EXISTS cache_locks (
            name TEXT PRIMARY KEY,
            token TEXT NOT NULL,
            expires_at REAL NOT NULL
        )""",
    ],
    # 3: cumulative counters the processes on this file add to (SharedCounters: compute metrics).
    [
        """CREATE TABLE IF NOT EXISTS shared_counters (
            name TEXT PRIMARY KEY,
            value REAL NOT NULL
        )""",
    ],
]


class LocalCache:
    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._db = connection
        self._path = path
        self._lock = asyncio.Lock()  # one connection, shared by the coroutines of this process

    @classmethod
    async def open(cls, path: Path) -> LocalCache:
        connection = await connect_sqlite(path, unavailable=CacheUnavailable)
        try:
            await migrate_sqlite(connection, "cache_schema_version", MIGRATIONS)
        except BaseException:
            await connection.close()
            raise
        return cls(connection, path)

    def _failed(self, exc: Exception) -> CacheUnavailable:
        return CacheUnavailable(f"cache file {self._path} failed: {exc}")

    async def get(self, key: str) -> CacheEntry | None:
        try:
            async with self._db.execute(
                "SELECT value, stored_at FROM cache_entries WHERE key = ?", (key,)
            ) as cursor:
                row = await cursor.fetchone()
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc
        return CacheEntry(value=row[0], stored_at=float(row[1])) if row else None

    async def set(self, key: str, value: str, stored_at: float) -> None:
        await self._write(
            "INSERT INTO cache_entries (key, value, stored_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, stored_at = excluded.stored_at",
            (key, value, stored_at),
        )

    async def delete(self, key: str) -> None:
        await self._write("DELETE FROM cache_entries WHERE key = ?", (key,))

    async def try_lock(self, key: str, ttl: float) -> str | None:
        token = secrets.token_hex(16)
        # The wall clock, since the processes sharing the file share no other; one statement takes
        # a free lock or replaces an expired one, and changes nothing while it is held.
        now = time.time()
        changed = await self._write(
            "INSERT INTO cache_locks (name, token, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at"
            " WHERE cache_locks.expires_at <= ?",
            (key, token, now + ttl, now),
        )
        return token if changed else None

    async def unlock(self, key: str, token: str) -> None:
        await self._write("DELETE FROM cache_locks WHERE name = ? AND token = ?", (key, token))

    async def push(self, monitor_id: int) -> None:
        await self._write("INSERT INTO url_queue (monitor_id) VALUES (?)", (monitor_id,))

    async def claim(self, limit: int) -> list[int]:
        async with self._immediate():
            await self._db.execute(
                "UPDATE url_queue SET claimed = 1 WHERE seq IN"
                " (SELECT seq FROM url_queue WHERE claimed = 0 ORDER BY seq LIMIT ?)",
                (limit,),
            )
            async with self._db.execute(
                "SELECT monitor_id FROM url_queue WHERE claimed = 1 ORDER BY seq"
            ) as cursor:
                rows = await cursor.fetchall()
        return [int(row[0]) for row in rows]

    async def ack(self, monitor_ids: Sequence[int]) -> None:
        for start in range(0, len(monitor_ids), 500):  # bounded IN lists
            chunk = list(monitor_ids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            await self._write(
                f"DELETE FROM url_queue WHERE claimed = 1 AND monitor_id IN ({marks})", chunk
            )

    async def depth(self) -> int:
        try:
            async with self._db.execute("SELECT COUNT(*) FROM url_queue") as cursor:
                row = await cursor.fetchone()
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc
        return int(row[0]) if row else 0

    async def add_counters(self, increments: Mapping[str, float]) -> None:
        if not increments:
            return
        async with self._immediate():
            await self._db.executemany(
                "INSERT INTO shared_counters (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                list(increments.items()),
            )

    async def read_counters(self) -> dict[str, float]:
        try:
            async with self._db.execute("SELECT name, value FROM shared_counters") as cursor:
                rows = await cursor.fetchall()
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc
        return {str(name): float(value) for name, value in rows}

    async def ping(self) -> None:
        try:
            async with self._db.execute("SELECT 1") as cursor:
                await cursor.fetchone()
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc

    async def close(self) -> None:
        await self._db.close()

    @contextlib.asynccontextmanager
    async def _immediate(self) -> AsyncIterator[None]:
        """The block as one write transaction, taken at once (BEGIN IMMEDIATE) so another
        process's writer waits for it instead of failing half-way; CacheUnavailable on error."""
        try:
            async with self._lock:
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield
                except BaseException:
                    await self._db.rollback()
                    raise
                await self._db.commit()
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc

    async def _write(self, sql: str, params: Sequence[object]) -> int:
        """Run one statement and return how many rows it changed."""
        try:
            async with self._lock, self._db.execute(sql, params) as cursor:
                return cursor.rowcount
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc
