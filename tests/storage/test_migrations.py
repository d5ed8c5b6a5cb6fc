"""The schema is created and versioned at start-up, idempotently, even by two processes at once,
and a database deployed at an older version is brought up to date with its data kept: every row
of every table, read as it was."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from service_monitor.check_spec import DEFAULT_CHECK
from service_monitor.config import Settings
from service_monitor.errors import DuplicateURL
from service_monitor.models import (
    Cause,
    Check,
    Counts,
    CycleOutcome,
    CycleRecord,
    Monitor,
    MonitorState,
    Status,
    Target,
    url_key,
)
from service_monitor.storage.mysql import MIGRATIONS as MYSQL_MIGRATIONS
from service_monitor.storage.mysql import MySQLStorage
from service_monitor.storage.rollups import to_ms
from service_monitor.storage.sql import SQLStorage
from service_monitor.storage.sqlite import MIGRATIONS as SQLITE_MIGRATIONS
from service_monitor.storage.sqlite import SQLiteStorage
from service_monitor.storage.statements import Row
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


async def _open_sqlite_at(
    path: Path, version: int, monkeypatch: pytest.MonkeyPatch
) -> SQLiteStorage:
    with monkeypatch.context() as deployed:
        deployed.setattr("service_monitor.storage.sqlite.MIGRATIONS", SQLITE_MIGRATIONS[:version])
        return await SQLiteStorage.open(path)


async def _open_mysql_at(
    settings: Settings, version: int, monkeypatch: pytest.MonkeyPatch
) -> MySQLStorage:
    with monkeypatch.context() as deployed:
        deployed.setattr("service_monitor.storage.mysql.MIGRATIONS", MYSQL_MIGRATIONS[:version])
        return await MySQLStorage.open(settings)


async def _add_monitor_as_version_1_did(old: SQLStorage, name: str, url: str, state: int) -> int:
    """A monitor row as the version-1 schema holds it: written by SQL of that version, since the
    code of today writes columns that version lacks."""
    done = await old.execute(
        "INSERT INTO monitors (name, url, url_key, created_at, state) VALUES (?, ?, ?, ?, ?)",
        (name, url, url_key(url), to_ms(NOW), state),
    )
    assert done.lastrowid is not None
    return int(done.lastrowid)


async def test_a_version_1_sqlite_database_is_upgraded_keeping_its_monitors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "deployed.sqlite3"
    old = await _open_sqlite_at(path, 1, monkeypatch)
    monitor_id = await _add_monitor_as_version_1_did(old, "a", "http://a.com", 0)
    await old.close()
    upgraded = await SQLiteStorage.open(path)
    try:
        rows = await upgraded.fetch("SELECT version FROM schema_version ORDER BY version")
        assert rows == [(v,) for v in range(1, len(SQLITE_MIGRATIONS) + 1)]
        expected = Monitor(monitor_id, "a", "http://a.com", NOW, MonitorState.PENDING)
        assert await upgraded.get_monitor(monitor_id) == expected
        await upgraded.record_cycle(CycleRecord(NOW, NOW, CycleOutcome.SKIPPED))  # version 2
        assert (await upgraded.cycle_totals()).by_outcome[CycleOutcome.SKIPPED] == 1
    finally:
        await upgraded.close()


@pytest.mark.usefixtures("require_mysql")
async def test_a_version_1_mysql_database_is_upgraded_keeping_its_monitors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = production_settings(DB_NAME=f"{MYSQL_DATABASE}_up_{uuid.uuid4().hex[:8]}")
    old = await _open_mysql_at(settings, 1, monkeypatch)
    monitor_id = await _add_monitor_as_version_1_did(old, "a", "http://a.com", 0)
    await old.close()
    upgraded = await MySQLStorage.open(settings)
    try:
        rows = await upgraded.fetch("SELECT version FROM schema_version ORDER BY version")
        assert rows == [(v,) for v in range(1, len(MYSQL_MIGRATIONS) + 1)]
        expected = Monitor(monitor_id, "a", "http://a.com", NOW, MonitorState.PENDING)
        assert await upgraded.get_monitor(monitor_id) == expected
        await upgraded.record_cycle(CycleRecord(NOW, NOW, CycleOutcome.SKIPPED))  # version 2
        assert (await upgraded.cycle_totals()).by_outcome[CycleOutcome.SKIPPED] == 1
    finally:
        await upgraded.execute(f"DROP DATABASE `{settings.DB_NAME}`")
        await upgraded.close()


# Every table of version 4 and the columns it had then: what the upgrade must keep, row for row.
_VERSION_4_TABLES = {
    "monitors": "id, name, url, url_key, created_at, state",
    "checks": "id, monitor_id, checked_at, status, http_status, latency_ms, cause",
    "cycles": "id, started_at, finished_at, outcome, probed, success, fail, stored_checks",
    "rollups": "hour, monitor_id, success, fail, success_latency_ms",
    "rollup_hours": "hour",
    "windows": "span, to_ms, monitor_id, success, fail",
    "window_bounds": "span, to_ms, from_ms, success, fail",
}


async def _fill_version_4(old: SQLStorage) -> dict[str, list[Row]]:
    """Monitors in every state, checks of both outcomes over three hours, a cycle, rollups and
    stored windows, written by SQL of version 4; returns every table's rows."""
    ids = [
        await _add_monitor_as_version_1_did(old, "pending", "http://pending.example", 0),
        await _add_monitor_as_version_1_did(old, "active", "https://active.example/health", 1),
        await _add_monitor_as_version_1_did(old, "deleted", "http://deleted.example", 2),
    ]
    rows = [
        (monitor_id, to_ms(NOW + minute * 60), status, code, 20 + minute, cause)
        for monitor_id in ids
        for minute in range(0, 180, 20)
        for status, code, cause in ((1, 200, None), (0, None, "connect"))
    ]
    for row in rows:
        await old.execute(
            "INSERT INTO checks (monitor_id, checked_at, status, http_status, latency_ms, cause)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            row,
        )
    await old.record_cycle(CycleRecord(NOW, NOW + 5, CycleOutcome.DONE, 3, 3, 0, 3))
    await old.roll_up(NOW + 3 * 3600)  # rollups of the first hours, and the stored windows
    return await _table_rows(old)


async def _table_rows(store: SQLStorage) -> dict[str, list[Row]]:
    found: dict[str, list[Row]] = {}
    for table, columns in _VERSION_4_TABLES.items():
        found[table] = [
            tuple(bytes(v) if isinstance(v, bytearray) else v for v in row)
            for row in await store.fetch(f"SELECT {columns} FROM {table} ORDER BY {columns}")
        ]
    return found


async def _assert_upgraded_keeps_every_row(
    upgraded: SQLStorage, before: dict[str, list[Row]]
) -> None:
    assert await _table_rows(upgraded) == before
    assert all(before[table] for table in ("monitors", "checks", "rollups", "windows"))
    pending_id, active_id, deleted_id = (int(row[0]) for row in before["monitors"])
    # Old monitors have the default check and no owner, and keep their keys: the same URL is
    # still a duplicate, and the deleted one is still brought back by adding its URL.
    active = await upgraded.get_monitor(active_id)
    assert (active.check, active.owner) == (DEFAULT_CHECK, None)
    assert await upgraded.targets() == [Target(active_id, active.url, DEFAULT_CHECK)]
    with pytest.raises(DuplicateURL):
        await upgraded.add_monitor("again", "http://PENDING.example:80/", NOW)
    revived = await upgraded.add_monitor("back", "http://deleted.example", NOW)
    assert revived.id == deleted_id
    # Old checks read as what they were: no detail, not degraded, no TLS expiry recorded.
    newest = await upgraded.recent_checks(pending_id, 100)
    assert len(newest) == 18
    assert {(c.detail, c.degraded, c.tls_expires_at) for c in newest} == {(None, False, None)}
    # New checks keep what the new columns hold, beside the old ones.
    later = NOW + 4 * 3600
    await upgraded.add_checks(
        [
            Check(active_id, later, Status.SUCCESS, 200, 900, degraded=True, tls_expires_at=later),
            Check(active_id, later + 1, Status.FAIL, 503, 5, Cause.ASSERTION, "status 503"),
        ]
    )
    assert [(c.degraded, c.detail) for c in await upgraded.recent_checks(active_id, 2)] == [
        (False, "status 503"),
        (True, None),
    ]
    counts = await upgraded.monitor_counts(active_id, [NOW])
    assert counts == [Counts(success=10, fail=10, degraded=1)]


async def test_a_version_4_sqlite_database_with_monitors_and_checks_keeps_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "deployed.sqlite3"
    old = await _open_sqlite_at(path, 4, monkeypatch)
    before = await _fill_version_4(old)
    await old.close()
    upgraded = await SQLiteStorage.open(path)
    try:
        await _assert_upgraded_keeps_every_row(upgraded, before)
    finally:
        await upgraded.close()


@pytest.mark.usefixtures("require_mysql")
async def test_a_version_4_mysql_database_with_monitors_and_checks_keeps_every_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = production_settings(DB_NAME=f"{MYSQL_DATABASE}_v4_{uuid.uuid4().hex[:8]}")
    old = await _open_mysql_at(settings, 4, monkeypatch)
    before = await _fill_version_4(old)
    await old.close()
    upgraded = await MySQLStorage.open(settings)
    try:
        await _assert_upgraded_keeps_every_row(upgraded, before)
    finally:
        await upgraded.execute(f"DROP DATABASE `{settings.DB_NAME}`")
        await upgraded.close()
