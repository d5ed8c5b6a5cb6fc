"""The production store: MySQL (or MariaDB) through an asyncmy connection pool."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncmy
from asyncmy import errors as mysql_errors

from ..config import Settings
from ..errors import StorageUnavailable
from ..migrations import apply_migrations
from .sql import SQLStorage
from .statements import Executed, Row, Transaction
from .windows import LOCK_SPAN

_TABLE_OPTIONS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

# Each entry is one schema version; a version is applied once, in order, and recorded. A released
# version is never edited (deployed databases have run it): a change is a new entry at the end.
# Binary collation: names and URLs compare byte for byte, as in SQLite (no case or accent folding).
MIGRATIONS: list[list[str]] = [
    [
        f"""CREATE TABLE IF NOT EXISTS monitors (
            id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
            name VARCHAR(100) NOT NULL,
            url VARCHAR(2048) NOT NULL,
            url_key BINARY(32) NOT NULL,
            created_at BIGINT NOT NULL,
            state TINYINT NOT NULL,
            UNIQUE KEY monitors_url_key (url_key),
            KEY monitors_state (state, id)
        ) {_TABLE_OPTIONS}""",
        f"""CREATE TABLE IF NOT EXISTS checks (
            id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
            monitor_id INT UNSIGNED NOT NULL,
            checked_at BIGINT NOT NULL,
            status TINYINT NOT NULL,
            http_status SMALLINT NULL,
            latency_ms INT NOT NULL,
            cause VARCHAR(24) NULL,
            KEY checks_status_time (status, checked_at, monitor_id),
            KEY checks_monitor_time (monitor_id, checked_at)
        ) {_TABLE_OPTIONS}""",
    ],
    # 2: the record of every cycle (Storage.record_cycle); times in ms like the checks.
    [
        f"""CREATE TABLE IF NOT EXISTS cycles (
            id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
            started_at BIGINT NOT NULL,
            finished_at BIGINT NOT NULL,
            outcome VARCHAR(16) NOT NULL,
            probed INT NOT NULL,
            success INT NOT NULL,
            fail INT NOT NULL,
            stored_checks INT NOT NULL,
            KEY cycles_finished (finished_at)
        ) {_TABLE_OPTIONS}""",
    ],
    # 3: hourly rollups, running totals per monitor (see storage/rollups.py), and the hours done.
    [
        f"""CREATE TABLE IF NOT EXISTS rollups (
            hour INT NOT NULL,
            monitor_id INT UNSIGNED NOT NULL,
            success BIGINT NOT NULL,
            fail BIGINT NOT NULL,
            success_latency_ms BIGINT NOT NULL,
            PRIMARY KEY (hour, monitor_id)
        ) {_TABLE_OPTIONS}""",
        f"""CREATE TABLE IF NOT EXISTS rollup_hours (
            hour INT NOT NULL PRIMARY KEY
        ) {_TABLE_OPTIONS}""",
    ],
    # 4: each window's counts per monitor as of the last cycle (see storage/rollups.py).
    [
        f"""CREATE TABLE IF NOT EXISTS windows (
            span INT NOT NULL,
            to_ms BIGINT NOT NULL,
            monitor_id INT UNSIGNED NOT NULL,
            success BIGINT NOT NULL,
            fail BIGINT NOT NULL,
            PRIMARY KEY (span, to_ms, monitor_id)
        ) {_TABLE_OPTIONS}""",
        f"""CREATE TABLE IF NOT EXISTS window_bounds (
            span INT NOT NULL,
            to_ms BIGINT NOT NULL,
            from_ms BIGINT NOT NULL,
            success BIGINT NOT NULL,
            fail BIGINT NOT NULL,
            PRIMARY KEY (span, to_ms)
        ) {_TABLE_OPTIONS}""",
    ],
    # 5: each monitor's check (canonical JSON, NULL for the default check) and owner label; each
    # check's degraded flag, failure detail and TLS expiry (ms, like checked_at). Columns added at
    # the end with defaults: MySQL 8.0.12+ and MariaDB 10.3+ add them in place without copying the
    # checks table (INSTANT), so a deployment with tens of millions of checks migrates in moments.
    # One ALTER per table: each is atomic on its own.
    [
        """ALTER TABLE monitors
            ADD COLUMN check_spec MEDIUMTEXT NULL,
            ADD COLUMN owner VARCHAR(100) NULL,
            ADD KEY monitors_owner (owner, id)""",
        """ALTER TABLE checks
            ADD COLUMN degraded TINYINT NOT NULL DEFAULT 0,
            ADD COLUMN detail VARCHAR(500) NULL,
            ADD COLUMN tls_expires_at BIGINT NULL""",
    ],
    # 6: alerting (alerts.py): per-monitor thresholds (NULL: the Settings defaults), each monitor's
    # health and streak, incidents, channels (targets sealed with Fernet), the channels a monitor
    # names, the outbox of notifications (dedup_key unique: one per incident, kind and channel) and
    # maintenance windows. Times in ms like the checks. monitor_health.checked_at is the newest check
    # that moved the streak (an older or replayed one moves nothing).
    [
        """ALTER TABLE monitors
            ADD COLUMN failure_threshold SMALLINT NULL,
            ADD COLUMN success_threshold SMALLINT NULL""",
        f"""CREATE TABLE IF NOT EXISTS monitor_health (
            monitor_id INT UNSIGNED NOT NULL PRIMARY KEY,
            health VARCHAR(8) NOT NULL,
            failures INT NOT NULL,
            successes INT NOT NULL,
            since BIGINT NULL,
            incident_id BIGINT UNSIGNED NULL,
            first_failure_at BIGINT NULL,
            first_cause VARCHAR(24) NULL,
            first_detail VARCHAR(500) NULL,
            checked_at BIGINT NULL,
            KEY monitor_health_health (health)
        ) {_TABLE_OPTIONS}""",
        f"""CREATE TABLE IF NOT EXISTS incidents (
            id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
            monitor_id INT UNSIGNED NOT NULL,
            started_at BIGINT NOT NULL,
            opened_at BIGINT NOT NULL,
            cause VARCHAR(24) NULL,
            detail VARCHAR(500) NULL,
            resolved_at BIGINT NULL,
            resolution VARCHAR(64) NULL,
            KEY incidents_open (resolved_at, id),
            KEY incidents_monitor (monitor_id, id)
        ) {_TABLE_OPTIONS}""",
        f"""CREATE TABLE IF NOT EXISTS channels (
            id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
            name VARCHAR(100) NOT NULL,
            type VARCHAR(16) NOT NULL,
            target_hint VARCHAR(300) NOT NULL,
            sealed_target BLOB NOT NULL,
            sealed_secret BLOB NULL,
            is_default TINYINT NOT NULL,
            send_resolved TINYINT NOT NULL,
            resend_every INT NULL,
            created_at BIGINT NOT NULL,
            UNIQUE KEY channels_name (name)
        ) {_TABLE_OPTIONS}""",
        f"""CREATE TABLE IF NOT EXISTS monitor_channels (
            monitor_id INT UNSIGNED NOT NULL,
            channel_id INT UNSIGNED NOT NULL,
            PRIMARY KEY (monitor_id, channel_id),
            KEY monitor_channels_channel (channel_id)
        ) {_TABLE_OPTIONS}""",
        f"""CREATE TABLE IF NOT EXISTS notifications (
            id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
            dedup_key VARCHAR(191) NOT NULL,
            kind VARCHAR(16) NOT NULL,
            channel_id INT UNSIGNED NOT NULL,
            incident_id BIGINT UNSIGNED NULL,
            monitor_id INT UNSIGNED NULL,
            state VARCHAR(16) NOT NULL,
            attempts INT NOT NULL,
            created_at BIGINT NOT NULL,
            next_attempt_at BIGINT NOT NULL,
            lease_until BIGINT NULL,
            lease_owner VARCHAR(64) NULL,
            sent_at BIGINT NULL,
            last_error VARCHAR(500) NULL,
            digest_id BIGINT UNSIGNED NULL,
            body MEDIUMTEXT NULL,
            UNIQUE KEY notifications_key (dedup_key),
            KEY notifications_due (state, next_attempt_at),
            KEY notifications_incident (incident_id),
            KEY notifications_channel (channel_id, state)
        ) {_TABLE_OPTIONS}""",
        f"""CREATE TABLE IF NOT EXISTS maintenance_windows (
            id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
            monitor_id INT UNSIGNED NULL,
            starts_at BIGINT NULL,
            cron VARCHAR(100) NULL,
            timezone VARCHAR(64) NOT NULL,
            duration INT NOT NULL,
            note VARCHAR(200) NOT NULL,
            created_at BIGINT NOT NULL,
            KEY maintenance_windows_monitor (monitor_id)
        ) {_TABLE_OPTIONS}""",
    ],
    # 7: the fleet (fleet/): each monitor's interval (NULL: CYCLE_INTERVAL), regions (NULL: all of
    # REGIONS), next due time and the planner slot it was last planned in (ms); each check's region
    # and the due time it was planned for (NULL for the whole-list cycle). The unique key makes a
    # redelivered shard store nothing twice. plan_slots is the planner's record of each slot.
    [
        """ALTER TABLE monitors
            ADD COLUMN interval_s INT NULL,
            ADD COLUMN regions VARCHAR(400) NULL,
            ADD COLUMN next_due_at BIGINT NULL,
            ADD COLUMN planned_slot BIGINT NULL,
            ADD KEY monitors_due (state, next_due_at),
            ADD KEY monitors_planned (planned_slot)""",
        """ALTER TABLE checks
            ADD COLUMN region VARCHAR(32) NOT NULL DEFAULT 'local',
            ADD COLUMN due_at BIGINT NULL,
            ADD UNIQUE KEY checks_due (monitor_id, due_at, region)""",
        f"""CREATE TABLE IF NOT EXISTS plan_slots (
            slot_ms BIGINT NOT NULL PRIMARY KEY,
            shards INT NOT NULL,
            monitors INT NOT NULL,
            planned_at BIGINT NOT NULL,
            deadline_at BIGINT NOT NULL,
            state VARCHAR(8) NOT NULL,
            finished_at BIGINT NULL,
            KEY plan_slots_state (state, slot_ms)
        ) {_TABLE_OPTIONS}""",
        # Each region's streak of a monitor probed from several: it is down when more than half
        # of its regions are (storage/health.py).
        f"""CREATE TABLE IF NOT EXISTS region_health (
            monitor_id INT UNSIGNED NOT NULL,
            region VARCHAR(32) NOT NULL,
            health VARCHAR(8) NOT NULL,
            failures INT NOT NULL,
            successes INT NOT NULL,
            checked_at BIGINT NOT NULL,
            PRIMARY KEY (monitor_id, region)
        ) {_TABLE_OPTIONS}""",
        # The rollups' lock row (SHARE_ROLLUPS below), made now so that writers lock a row from
        # the start, never the gap where it goes.
        "INSERT INTO window_bounds (span, to_ms, from_ms, success, fail) VALUES (0, 0, 0, 0, 0)"
        " ON DUPLICATE KEY UPDATE fail = fail",
    ],
]

_UNKNOWN_DATABASE = 1049  # ER_BAD_DB_ERROR
_DEADLOCK = 1213  # ER_LOCK_DEADLOCK: the server rolled the whole transaction back
_MIGRATION_LOCK = "service_monitor.migrate"
_MIGRATION_LOCK_WAIT_S = 60

# Errors that mean "the database is not there or not answering", as opposed to a bug in our SQL.
_UNAVAILABLE = (
    mysql_errors.OperationalError,
    mysql_errors.InterfaceError,
    OSError,
    asyncio.TimeoutError,
)


def cycle_lock_name(database: str) -> str:
    """The server-wide name of a database's cycle lock, so deployments sharing a server never skip
    each other's cycles: a digest of the database name, which keeps it within MySQL's 64 characters
    and exact where the server compares lock names case-insensitively."""
    return "service_monitor.cycle." + hashlib.sha256(database.encode()).hexdigest()[:40]


@functools.lru_cache(maxsize=256)
def _dialect(sql: str) -> str:
    """Our SQL is written with `?` placeholders; asyncmy takes `%s` (and `%%` for a modulo)."""
    return sql.replace("%", "%%").replace("?", "%s")


class MySQLStorage(SQLStorage):
    INSERT_MONITOR_IF_ABSENT = (
        "INSERT INTO monitors (name, url, url_key, created_at, state, check_spec, owner)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON DUPLICATE KEY UPDATE id = id"  # a no-op update: rowcount 0 tells us it existed
    )
    FOR_UPDATE = " FOR UPDATE"
    DUPLICATE_KEY_ERRORS = (mysql_errors.IntegrityError,)
    UPSERT_MONITOR = (
        "INSERT INTO monitors (name, url, url_key, created_at, state) VALUES (?, ?, ?, ?, ?)"
        " ON DUPLICATE KEY UPDATE name = VALUES(name), state = VALUES(state)"
    )
    ADD_TO_ROLLUPS_AFTER = (
        "INSERT INTO rollups (hour, monitor_id, success, fail, success_latency_ms)"
        " SELECT hour, ?, ?, ?, ? FROM rollup_hours WHERE hour > ?"
        " ON DUPLICATE KEY UPDATE success = success + VALUES(success),"
        " fail = fail + VALUES(fail),"
        " success_latency_ms = success_latency_ms + VALUES(success_latency_ms)"
    )
    ADD_TO_WINDOW = (
        "INSERT INTO windows (span, to_ms, monitor_id, success, fail) VALUES (?, ?, ?, ?, ?)"
        " ON DUPLICATE KEY UPDATE success = success + VALUES(success), fail = fail + VALUES(fail)"
    )

    # The rollups' lock (rollups.py) is one row of window_bounds, of span 0, which is no window
    # (windows.LOCK_SPAN): add_checks reads it in share mode; a rollup upserts it, which locks it
    # exclusively (schema version 7 makes it). A row, not a gap: a writer that comes while a
    # rollup waits queues behind it, so a steady stream of writers never starves the rollups.
    SHARE_ROLLUPS = (
        f"SELECT span FROM window_bounds WHERE span = {LOCK_SPAN} AND to_ms = 0 LOCK IN SHARE MODE"
    )
    LOCK_ROLLUPS = (
        "INSERT INTO window_bounds (span, to_ms, from_ms, success, fail)"
        f" VALUES ({LOCK_SPAN}, 0, 0, 0, 0) ON DUPLICATE KEY UPDATE fail = fail"
    )

    # Only a duplicate key is ignored (a no-op update, rowcount 0), never another error, as
    # INSERT IGNORE would (it turns a too-long value into a warning and a truncated row).
    INSERT_NOTIFICATION_IF_ABSENT = (
        "INSERT INTO notifications (dedup_key, kind, channel_id, incident_id, monitor_id, state,"
        " attempts, created_at, next_attempt_at, body) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)"
        " ON DUPLICATE KEY UPDATE id = id"
    )
    UPSERT_HEALTH = (
        "INSERT INTO monitor_health (monitor_id, health, failures, successes, since, incident_id,"
        " first_failure_at, first_cause, first_detail, checked_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON DUPLICATE KEY UPDATE health = VALUES(health), failures = VALUES(failures),"
        " successes = VALUES(successes), since = VALUES(since),"
        " incident_id = VALUES(incident_id), first_failure_at = VALUES(first_failure_at),"
        " first_cause = VALUES(first_cause), first_detail = VALUES(first_detail),"
        " checked_at = VALUES(checked_at)"
    )
    UPSERT_REGION_HEALTH = (
        "INSERT INTO region_health (monitor_id, region, health, failures, successes, checked_at)"
        " VALUES (?, ?, ?, ?, ?, ?)"
        " ON DUPLICATE KEY UPDATE health = VALUES(health), failures = VALUES(failures),"
        " successes = VALUES(successes), checked_at = VALUES(checked_at)"
    )
    # MariaDB 10.6+ and MySQL 8.0+: a second dispatcher skips the rows the first is claiming
    # instead of waiting for its transaction.
    FOR_UPDATE_SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"

    def __init__(self, pool: Any, where: str, settings: Settings) -> None:
        self._pool = pool
        self._where = where
        # Seconds a statement waits for a pooled connection (a new one included). Without it, when
        # the server stops answering, requests queue behind the MAX_POOL connections waiting out
        # their read timeouts, one batch after another: minutes for the last ones. With it, no
        # request waits longer than this plus DB_QUERY_TIMEOUT.
        self._acquire_timeout = settings.DB_CONNECT_TIMEOUT
        self._max_pool = settings.MAX_POOL
        self._lock_connect_args = _connect_args(settings)
        self._cycle_lock_name = cycle_lock_name(settings.DB_NAME)

    @classmethod
    async def open(cls, settings: Settings) -> MySQLStorage:
        where = f"{settings.DB_ADDRESS}:{settings.DB_PORT}/{settings.DB_NAME}"
        try:
            pool = await _create_pool(settings, database=settings.DB_NAME)
        except mysql_errors.OperationalError as exc:
            if exc.args and exc.args[0] == _UNKNOWN_DATABASE:
                await _create_database(settings)
                pool = await _create_pool(settings, database=settings.DB_NAME)
            else:
                raise StorageUnavailable(f"database {where} unreachable: {exc}") from exc
        except _UNAVAILABLE as exc:
            raise StorageUnavailable(f"database {where} unreachable: {exc!r}") from exc
        storage = cls(pool, where, settings)
        try:
            await storage._migrate()
        except BaseException:
            await storage.close()
            raise
        return storage

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        """A pooled connection, waited for at most DB_CONNECT_TIMEOUT seconds."""
        try:
            async with asyncio.timeout(self._acquire_timeout):
                connection = await self._pool.acquire()
        except TimeoutError as exc:
            raise StorageUnavailable(
                f"database {self._where} failed: no connection within {self._acquire_timeout:g} s"
                f" (DB_CONNECT_TIMEOUT; the {self._max_pool} of MAX_POOL busy or connecting)"
            ) from exc
        except _UNAVAILABLE as exc:
            raise StorageUnavailable(f"database {self._where} failed: {exc!r}") from exc
        try:
            yield connection
        finally:
            await self._pool.release(connection)

    @asynccontextmanager
    async def _cursor(self) -> AsyncIterator[Any]:
        try:
            async with self._connection() as connection, connection.cursor() as cursor:
                yield cursor
        except _UNAVAILABLE as exc:
            raise StorageUnavailable(f"database {self._where} failed: {exc!r}") from exc

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._cursor() as cursor:
            await cursor.execute(_dialect(sql), params)
            return list(await cursor.fetchall())

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Executed:
        async with self._cursor() as cursor:
            await cursor.execute(_dialect(sql), params)
            return Executed(cursor.rowcount, cursor.lastrowid)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Transaction]:
        try:
            async with self._connection() as connection:
                await connection.begin()
                try:
                    async with connection.cursor() as cursor:
                        yield _OnCursor(cursor)
                except BaseException:
                    await connection.rollback()
                    raise
                await connection.commit()
        except _UNAVAILABLE as exc:
            raise StorageUnavailable(f"database {self._where} failed: {exc!r}") from exc

    def _is_deadlock(self, error: BaseException) -> bool:
        cause = error.__cause__ if isinstance(error, StorageUnavailable) else error
        return isinstance(cause, mysql_errors.OperationalError) and bool(
            cause.args and cause.args[0] == _DEADLOCK
        )

    @asynccontextmanager
    async def cycle_lock(self) -> AsyncIterator[bool]:
        # A session of its own, not a pooled connection: the cycle it guards keeps the whole pool
        # (with MAX_POOL=1 a pooled lock would leave that cycle no connection, for ever), and no
        # connection ever goes back to the pool still holding the lock.
        try:
            connection = await asyncmy.connect(**self._lock_connect_args)
        except _UNAVAILABLE as exc:
            raise StorageUnavailable(f"database {self._where} unreachable: {exc!r}") from exc
        try:
            try:
                async with connection.cursor() as cursor:
                    await cursor.execute("SELECT GET_LOCK(%s, 0)", (self._cycle_lock_name,))
                    row = await cursor.fetchone()
            except _UNAVAILABLE as exc:
                raise StorageUnavailable(f"database {self._where} failed: {exc!r}") from exc
            # NULL, not 0: the server failed, e.g. the session was killed while it asked.
            if row is None or row[0] is None:
                raise StorageUnavailable(f"database {self._where} failed to take the cycle lock")
            held = bool(row[0])
            try:
                yield held
            finally:
                if held:
                    # Should this fail, ending the session below frees the lock all the same.
                    with contextlib.suppress(*_UNAVAILABLE):
                        async with connection.cursor() as cursor:
                            await cursor.execute(
                                "SELECT RELEASE_LOCK(%s)", (self._cycle_lock_name,)
                            )
        finally:
            await _end_session(connection)

    async def _migrate(self) -> None:
        async with self._cursor() as cursor:
            # A named lock: the API and the compute may start together against one database.
            await cursor.execute(
                "SELECT GET_LOCK(%s, %s)", (_MIGRATION_LOCK, _MIGRATION_LOCK_WAIT_S)
            )
            # "IF NOT EXISTS" on an existing table is a note, which the driver would log as a
            # warning at every start; notes are off for this connection's migration only.
            await cursor.execute("SET SESSION sql_notes = 0")
            try:
                await cursor.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL) "
                    + _TABLE_OPTIONS
                )
                await apply_migrations(_OnCursor(cursor), "schema_version", MIGRATIONS)
            finally:
                await cursor.execute("SET SESSION sql_notes = 1")
                await cursor.execute("SELECT RELEASE_LOCK(%s)", (_MIGRATION_LOCK,))

    async def close(self) -> None:
        self._pool.close()
        await self._pool.wait_closed()


class _OnCursor:
    """Statements on one cursor: a transaction's, or the migration's (a Session of the runner)."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        await self._cursor.execute(_dialect(sql), params)
        return list(await self._cursor.fetchall())

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Executed:
        await self._cursor.execute(_dialect(sql), params)
        return Executed(self._cursor.rowcount, self._cursor.lastrowid)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        # asyncmy folds INSERT ... VALUES into multi-row statements here.
        await self._cursor.executemany(_dialect(sql), rows)


def _connect_args(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.DB_ADDRESS,
        "port": settings.DB_PORT,
        "user": settings.DB_USER,
        "password": settings.DB_PASSWORD,
        "connect_timeout": settings.DB_CONNECT_TIMEOUT,
        "read_timeout": settings.DB_QUERY_TIMEOUT,
        "autocommit": True,
        "charset": "utf8mb4",
        # Strict: a value that does not fit is an error, never silently truncated.
        "sql_mode": "'TRADITIONAL'",  # asyncmy sends it unquoted
        "binary_prefix": True,  # url_key is raw bytes, not text in the connection's charset
    }


async def _end_session(connection: Any) -> None:
    """Say QUIT, or at least drop the socket: either way the server ends the session and frees
    every lock it held."""
    try:
        with contextlib.suppress(*_UNAVAILABLE):
            await connection.ensure_closed()
    finally:
        connection.close()  # a no-op after a clean QUIT


async def _create_pool(settings: Settings, database: str) -> Any:
    return await asyncmy.create_pool(
        minsize=settings.MIN_POOL,
        maxsize=settings.MAX_POOL,
        db=database,
        **_connect_args(settings),
    )


async def _create_database(settings: Settings) -> None:
    """Create DB_NAME on first start, so a fresh server needs no manual step."""
    quoted = "`" + settings.DB_NAME.replace("`", "``") + "`"
    try:
        connection = await asyncmy.connect(**_connect_args(settings))
        try:
            async with connection.cursor() as cursor:
                await cursor.execute(
                    f"CREATE DATABASE IF NOT EXISTS {quoted} CHARACTER SET utf8mb4"
                )
        finally:
            connection.close()
    except _UNAVAILABLE as exc:
        raise StorageUnavailable(f"cannot create database {settings.DB_NAME}: {exc!r}") from exc
