"""The embedded store: one SQLite file in WAL mode, so `make run` needs no server at all."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from ..errors import StorageUnavailable
from ..sqlite_file import connect_sqlite, migrate_sqlite
from .sql import SQLStorage
from .statements import Executed, Row, Transaction

# Each entry is one schema version; a version is applied once, in order, and recorded. A released
# version is never edited (deployed databases have run it): a change is a new entry at the end.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE IF NOT EXISTS monitors (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            url TEXT NOT NULL,
            url_key BLOB NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            state INTEGER NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS monitors_state ON monitors (state, id)",
        """CREATE TABLE IF NOT EXISTS checks (
            id INTEGER PRIMARY KEY,
            monitor_id INTEGER NOT NULL,
            checked_at INTEGER NOT NULL,
            status INTEGER NOT NULL,
            http_status INTEGER,
            latency_ms INTEGER NOT NULL,
            cause TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS checks_status_time ON checks (status, checked_at, monitor_id)",
        "CREATE INDEX IF NOT EXISTS checks_monitor_time ON checks (monitor_id, checked_at)",
    ],
    # 2: the record of every cycle (Storage.record_cycle); times in ms like the checks.
    [
        """CREATE TABLE IF NOT EXISTS cycles (
            id INTEGER PRIMARY KEY,
            started_at INTEGER NOT NULL,
            finished_at INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            probed INTEGER NOT NULL,
            success INTEGER NOT NULL,
            fail INTEGER NOT NULL,
            stored_checks INTEGER NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS cycles_finished ON cycles (finished_at)",
    ],
    # 3: hourly rollups, running totals per monitor (see storage/rollups.py), and the hours done.
    [
        """CREATE TABLE IF NOT EXISTS rollups (
            hour INTEGER NOT NULL,
            monitor_id INTEGER NOT NULL,
            success INTEGER NOT NULL,
            fail INTEGER NOT NULL,
            success_latency_ms INTEGER NOT NULL,
            PRIMARY KEY (hour, monitor_id)
        ) WITHOUT ROWID""",
        "CREATE TABLE IF NOT EXISTS rollup_hours (hour INTEGER PRIMARY KEY)",
    ],
    # 4: each window's counts per monitor as of the last cycle (see storage/rollups.py).
    [
        """CREATE TABLE IF NOT EXISTS windows (
            span INTEGER NOT NULL,
            to_ms INTEGER NOT NULL,
            monitor_id INTEGER NOT NULL,
            success INTEGER NOT NULL,
            fail INTEGER NOT NULL,
            PRIMARY KEY (span, to_ms, monitor_id)
        ) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS window_bounds (
            span INTEGER NOT NULL,
            to_ms INTEGER NOT NULL,
            from_ms INTEGER NOT NULL,
            success INTEGER NOT NULL,
            fail INTEGER NOT NULL,
            PRIMARY KEY (span, to_ms)
        )""",
    ],
    # 5: each monitor's check (canonical JSON, NULL for the default check) and owner label; each
    # check's degraded flag, failure detail and TLS expiry (ms, like checked_at). SQLite adds a
    # column by editing the schema alone, whatever the table's size; the migration's transaction
    # makes the version all or nothing.
    [
        "ALTER TABLE monitors ADD COLUMN check_spec TEXT",
        "ALTER TABLE monitors ADD COLUMN owner TEXT",
        "CREATE INDEX IF NOT EXISTS monitors_owner ON monitors (owner, id)",
        "ALTER TABLE checks ADD COLUMN degraded INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE checks ADD COLUMN detail TEXT",
        "ALTER TABLE checks ADD COLUMN tls_expires_at INTEGER",
    ],
    # 6: alerting (alerts.py), as in mysql.py: thresholds, health, incidents, channels, the
    # channels a monitor names, the outbox of notifications and maintenance windows.
    [
        "ALTER TABLE monitors ADD COLUMN failure_threshold INTEGER",
        "ALTER TABLE monitors ADD COLUMN success_threshold INTEGER",
        """CREATE TABLE IF NOT EXISTS monitor_health (
            monitor_id INTEGER PRIMARY KEY,
            health TEXT NOT NULL,
            failures INTEGER NOT NULL,
            successes INTEGER NOT NULL,
            since INTEGER,
            incident_id INTEGER,
            first_failure_at INTEGER,
            first_cause TEXT,
            first_detail TEXT,
            checked_at INTEGER
        )""",
        "CREATE INDEX IF NOT EXISTS monitor_health_health ON monitor_health (health)",
        """CREATE TABLE IF NOT EXISTS incidents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            monitor_id INTEGER NOT NULL,
            started_at INTEGER NOT NULL,
            opened_at INTEGER NOT NULL,
            cause TEXT,
            detail TEXT,
            resolved_at INTEGER,
            resolution TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS incidents_open ON incidents (resolved_at, id)",
        "CREATE INDEX IF NOT EXISTS incidents_monitor ON incidents (monitor_id, id)",
        """CREATE TABLE IF NOT EXISTS channels (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            target_hint TEXT NOT NULL,
            sealed_target BLOB NOT NULL,
            sealed_secret BLOB,
            is_default INTEGER NOT NULL,
            send_resolved INTEGER NOT NULL,
            resend_every INTEGER,
            created_at INTEGER NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS monitor_channels (
            monitor_id INTEGER NOT NULL,
            channel_id INTEGER NOT NULL,
            PRIMARY KEY (monitor_id, channel_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX IF NOT EXISTS monitor_channels_channel ON monitor_channels (channel_id)",
        """CREATE TABLE IF NOT EXISTS notifications (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            dedup_key TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            channel_id INTEGER NOT NULL,
            incident_id INTEGER,
            monitor_id INTEGER,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            lease_until INTEGER,
            lease_owner TEXT,
            sent_at INTEGER,
            last_error TEXT,
            digest_id INTEGER,
            body TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS notifications_due ON notifications (state, next_attempt_at)",
        "CREATE INDEX IF NOT EXISTS notifications_incident ON notifications (incident_id)",
        "CREATE INDEX IF NOT EXISTS notifications_channel ON notifications (channel_id, state)",
        """CREATE TABLE IF NOT EXISTS maintenance_windows (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            monitor_id INTEGER,
            starts_at INTEGER,
            cron TEXT,
            timezone TEXT NOT NULL,
            duration INTEGER NOT NULL,
            note TEXT NOT NULL,
            created_at INTEGER NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS maintenance_windows_monitor ON maintenance_windows (monitor_id)",
    ],
    # 7: the fleet (fleet/), as in mysql.py: intervals, regions, due times, each check's region and
    # planned due time (unique: a redelivered shard stores nothing twice), and the planner's slots.
    [
        "ALTER TABLE monitors ADD COLUMN interval_s INTEGER",
        "ALTER TABLE monitors ADD COLUMN regions TEXT",
        "ALTER TABLE monitors ADD COLUMN next_due_at INTEGER",
        "ALTER TABLE monitors ADD COLUMN planned_slot INTEGER",
        "CREATE INDEX IF NOT EXISTS monitors_due ON monitors (state, next_due_at)",
        "CREATE INDEX IF NOT EXISTS monitors_planned ON monitors (planned_slot)",
        "ALTER TABLE checks ADD COLUMN region TEXT NOT NULL DEFAULT 'local'",
        "ALTER TABLE checks ADD COLUMN due_at INTEGER",
        "CREATE UNIQUE INDEX IF NOT EXISTS checks_due ON checks (monitor_id, due_at, region)",
        """CREATE TABLE IF NOT EXISTS plan_slots (
            slot_ms INTEGER PRIMARY KEY,
            shards INTEGER NOT NULL,
            monitors INTEGER NOT NULL,
            planned_at INTEGER NOT NULL,
            deadline_at INTEGER NOT NULL,
            state TEXT NOT NULL,
            finished_at INTEGER
        )""",
        "CREATE INDEX IF NOT EXISTS plan_slots_state ON plan_slots (state, slot_ms)",
        """CREATE TABLE IF NOT EXISTS region_health (
            monitor_id INTEGER NOT NULL,
            region TEXT NOT NULL,
            health TEXT NOT NULL,
            failures INTEGER NOT NULL,
            successes INTEGER NOT NULL,
            checked_at INTEGER NOT NULL,
            PRIMARY KEY (monitor_id, region)
        ) WITHOUT ROWID""",
    ],
]

# The cycle lock is a file of its own beside the database, never the database file: SQLite keeps
# POSIX locks on that one, and closing any descriptor of it in this process would drop them.
CYCLE_LOCK_SUFFIX = ".cycle-lock"


class SQLiteStorage(SQLStorage):
    INSERT_MONITOR_IF_ABSENT = (
        "INSERT INTO monitors (name, url, url_key, created_at, state, check_spec, owner)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url_key) DO NOTHING"
    )
    FOR_UPDATE = ""  # BEGIN IMMEDIATE already holds the database's write lock
    DUPLICATE_KEY_ERRORS = (sqlite3.IntegrityError,)
    UPSERT_MONITOR = (
        "INSERT INTO monitors (name, url, url_key, created_at, state) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (url_key) DO UPDATE SET name = excluded.name, state = excluded.state"
    )
    # The WHERE is required: without it SQLite would read ON CONFLICT as a join's ON.
    ADD_TO_ROLLUPS_AFTER = (
        "INSERT INTO rollups (hour, monitor_id, success, fail, success_latency_ms)"
        " SELECT hour, ?, ?, ?, ? FROM rollup_hours WHERE hour > ?"
        " ON CONFLICT (hour, monitor_id) DO UPDATE SET success = success + excluded.success,"
        " fail = fail + excluded.fail,"
        " success_latency_ms = success_latency_ms + excluded.success_latency_ms"
    )
    ADD_TO_WINDOW = (
        "INSERT INTO windows (span, to_ms, monitor_id, success, fail) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (span, to_ms, monitor_id) DO UPDATE SET"
        " success = success + excluded.success, fail = fail + excluded.fail"
    )
    # No rollups' lock: BEGIN IMMEDIATE already makes add_checks and the rollups take turns.
    SHARE_ROLLUPS = ""
    LOCK_ROLLUPS = ""

    # ON CONFLICT on the key alone, not INSERT OR IGNORE, which would also ignore a NOT NULL
    # violation.
    INSERT_NOTIFICATION_IF_ABSENT = (
        "INSERT INTO notifications (dedup_key, kind, channel_id, incident_id, monitor_id, state,"
        " attempts, created_at, next_attempt_at, body) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)"
        " ON CONFLICT (dedup_key) DO NOTHING"
    )
    UPSERT_HEALTH = (
        "INSERT INTO monitor_health (monitor_id, health, failures, successes, since, incident_id,"
        " first_failure_at, first_cause, first_detail, checked_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (monitor_id) DO UPDATE SET health = excluded.health,"
        " failures = excluded.failures, successes = excluded.successes, since = excluded.since,"
        " incident_id = excluded.incident_id, first_failure_at = excluded.first_failure_at,"
        " first_cause = excluded.first_cause, first_detail = excluded.first_detail,"
        " checked_at = excluded.checked_at"
    )
    UPSERT_REGION_HEALTH = (
        "INSERT INTO region_health (monitor_id, region, health, failures, successes, checked_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (monitor_id, region) DO UPDATE SET"
        " health = excluded.health, failures = excluded.failures,"
        " successes = excluded.successes, checked_at = excluded.checked_at"
    )
    FOR_UPDATE_SKIP_LOCKED = ""  # BEGIN IMMEDIATE: one claimer at a time

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        # One connection serves every coroutine of the process, and SQLite transactions belong to
        # the connection: writes take turns so one coroutine's rollback never undoes another's.
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> SQLiteStorage:
        connection = await connect_sqlite(path, unavailable=StorageUnavailable)
        storage = cls(connection, path)
        try:
            await migrate_sqlite(connection, "schema_version", MIGRATIONS)
        except BaseException:
            await connection.close()
            raise
        return storage

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            async with self._db.execute(sql, params) as cursor:
                return [tuple(row) for row in await cursor.fetchall()]
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable(f"database {self.path} failed: {exc}") from exc

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Executed:
        try:
            async with self._write_lock, self._db.execute(sql, params) as cursor:
                return Executed(cursor.rowcount, cursor.lastrowid)
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable(f"database {self.path} failed: {exc}") from exc

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Transaction]:
        try:
            async with self._write_lock:
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield _SQLiteTransaction(self._db)
                except BaseException:
                    await self._db.rollback()
                    raise
                await self._db.commit()
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable(f"database {self.path} failed: {exc}") from exc

    @asynccontextmanager
    async def cycle_lock(self) -> AsyncIterator[bool]:
        # flock belongs to the open file description: the OS frees it when the holder dies, and a
        # second open in this same process is refused like another process would be.
        lock_path = self.path.with_name(self.path.name + CYCLE_LOCK_SUFFIX)
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageUnavailable(f"cannot open cycle lock file {lock_path}: {exc}") from exc
        held = False
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
            except BlockingIOError:
                pass  # another holder: refused at once
            except OSError as exc:
                raise StorageUnavailable(f"cannot lock {lock_path}: {exc}") from exc
            yield held
        finally:
            # Unlock before closing, in case a forked child shares the descriptor. The file stays:
            # unlinking it would let two processes lock two different files of the same name.
            if held:
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    async def close(self) -> None:
        await self._db.close()


class _SQLiteTransaction:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._db.execute(sql, params) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Executed:
        async with self._db.execute(sql, params) as cursor:
            return Executed(cursor.rowcount, cursor.lastrowid)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._db.executemany(sql, rows)
