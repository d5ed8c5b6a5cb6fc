"""The SQL both backends share, written once with `?` placeholders; each backend supplies its dialect.

A backend provides four primitives (fetch, execute, executemany in one transaction, and the two
dialect statements that differ: insert-if-absent and upsert) plus its DDL and its cycle lock, which
no shared SQL can express; everything else the Storage interface promises is built here on top of
them.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import DuplicateURL, MonitorNotFound
from ..models import (
    Cause,
    Check,
    Counts,
    CycleOutcome,
    CycleRecord,
    CycleTotals,
    Monitor,
    MonitorState,
    Status,
    Target,
    TopEntry,
    url_key,
)

Row = tuple[Any, ...]

# Times are stored as whole milliseconds since the epoch (UTC) in BIGINT columns: exact to compare,
# the same in every dialect, and cheap to bucket by hour or day.
MS_PER_S = 1000


def to_ms(seconds: float) -> int:
    return round(seconds * MS_PER_S)


@dataclass(frozen=True, slots=True)
class Executed:
    rowcount: int
    lastrowid: int | None


_MONITOR_COLUMNS = "id, name, url, created_at, state"
_CHECK_COLUMNS = "monitor_id, checked_at, status, http_status, latency_ms, cause"
_STATUS_CODE = {Status.SUCCESS: 1, Status.FAIL: 0}
_CODE_STATUS = {code: status for status, code in _STATUS_CODE.items()}
# `stored` is a reserved word in MySQL 5.7+, hence `stored_checks` for CycleRecord.stored.
_CYCLE_COLUMNS = "started_at, finished_at, outcome, probed, success, fail, stored_checks"
_SUCCESSFUL_OUTCOMES = (CycleOutcome.DONE.value, CycleOutcome.OVERRAN.value)


def _monitor(row: Row) -> Monitor:
    return Monitor(
        id=int(row[0]),
        name=row[1],
        url=row[2],
        created_at=row[3] / MS_PER_S,
        state=MonitorState(row[4]),
    )


def _check(row: Row) -> Check:
    return Check(
        monitor_id=int(row[0]),
        checked_at=row[1] / MS_PER_S,
        status=_CODE_STATUS[int(row[2])],
        http_status=row[3],
        latency_ms=int(row[4]),
        cause=Cause(row[5]) if row[5] is not None else None,
    )


def _cycle(row: Row) -> CycleRecord:
    return CycleRecord(
        started_at=row[0] / MS_PER_S,
        finished_at=row[1] / MS_PER_S,
        outcome=CycleOutcome(row[2]),
        probed=int(row[3]),
        success=int(row[4]),
        fail=int(row[5]),
        stored=int(row[6]),
    )


class SQLStorage(abc.ABC):
    """Implements the Storage interface over a backend's primitives."""

    # Dialect statements: insert a monitor unless its url_key exists (rowcount 0 then), and
    # insert-or-update a monitor by url_key (name and state from the new row).
    INSERT_MONITOR_IF_ABSENT: str
    UPSERT_MONITOR: str

    # -- primitives, per backend --
    @abc.abstractmethod
    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    @abc.abstractmethod
    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> Executed: ...

    @abc.abstractmethod
    async def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run the statement for every row in one transaction."""

    @abc.abstractmethod
    def cycle_lock(self) -> contextlib.AbstractAsyncContextManager[bool]:
        """See Storage.cycle_lock: a lock of the server or of the OS, never a row, so that it dies
        with its holder."""

    # -- monitors --
    async def add_monitor(self, name: str, url: str, now: float) -> Monitor:
        key = url_key(url)
        created = to_ms(now)
        params = (name, url, key, created, int(MonitorState.PENDING))
        done = await self._execute(self.INSERT_MONITOR_IF_ABSENT, params)
        if done.rowcount == 1 and done.lastrowid:
            return Monitor(done.lastrowid, name, url, created / MS_PER_S, MonitorState.PENDING)
        rows = await self._fetch("SELECT id, state FROM monitors WHERE url_key = ?", (key,))
        existing_id, state = int(rows[0][0]), MonitorState(rows[0][1])
        if state is MonitorState.DELETED:
            # Re-adding a deleted URL brings its monitor (and its history) back under a new name.
            revived = await self._execute(
                "UPDATE monitors SET name = ?, state = ? WHERE id = ? AND state = ?",
                (name, int(MonitorState.PENDING), existing_id, int(MonitorState.DELETED)),
            )
            if revived.rowcount == 1:
                return await self.get_monitor(existing_id)
        raise DuplicateURL(url, existing_id)

    async def import_monitors(self, rows: Iterable[tuple[str, str]], now: float) -> int:
        created = to_ms(now)
        active = int(MonitorState.ACTIVE)
        params = [(name, url, url_key(url), created, active) for name, url in rows]
        if params:
            await self._executemany(self.UPSERT_MONITOR, params)
        return len(params)

    async def get_monitor(self, monitor_id: int) -> Monitor:
        rows = await self._fetch(
            f"SELECT {_MONITOR_COLUMNS} FROM monitors WHERE id = ? AND state <> ?",
            (monitor_id, int(MonitorState.DELETED)),
        )
        if not rows:
            raise MonitorNotFound(monitor_id)
        return _monitor(rows[0])

    async def list_monitors(self, limit: int, offset: int) -> tuple[list[Monitor], int]:
        deleted = int(MonitorState.DELETED)
        rows = await self._fetch(
            f"SELECT {_MONITOR_COLUMNS} FROM monitors WHERE state <> ? ORDER BY id LIMIT ? OFFSET ?",
            (deleted, limit, offset),
        )
        total = await self._fetch("SELECT COUNT(*) FROM monitors WHERE state <> ?", (deleted,))
        return [_monitor(row) for row in rows], int(total[0][0])

    async def delete_monitor(self, monitor_id: int) -> None:
        done = await self._execute(
            "UPDATE monitors SET state = ? WHERE id = ? AND state <> ?",
            (int(MonitorState.DELETED), monitor_id, int(MonitorState.DELETED)),
        )
        if done.rowcount == 0:
            raise MonitorNotFound(monitor_id)

    async def activate(self, monitor_ids: Sequence[int] | None = None) -> int:
        pending, active = int(MonitorState.PENDING), int(MonitorState.ACTIVE)
        if monitor_ids is None:
            sql = "UPDATE monitors SET state = ? WHERE state = ?"
            return (await self._execute(sql, (active, pending))).rowcount
        count = 0
        for start in range(0, len(monitor_ids), 500):  # bounded IN lists
            chunk = list(monitor_ids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            sql = f"UPDATE monitors SET state = ? WHERE state = ? AND id IN ({marks})"
            count += (await self._execute(sql, (active, pending, *chunk))).rowcount
        return count

    async def targets(self) -> list[Target]:
        rows = await self._fetch(
            "SELECT id, url FROM monitors WHERE state = ? ORDER BY id", (int(MonitorState.ACTIVE),)
        )
        return [Target(int(row[0]), row[1]) for row in rows]

    # -- checks --
    async def add_checks(self, checks: Sequence[Check]) -> None:
        if not checks:
            return
        rows = [
            (
                c.monitor_id,
                to_ms(c.checked_at),
                _STATUS_CODE[c.status],
                c.http_status,
                c.latency_ms,
                c.cause.value if c.cause else None,
            )
            for c in checks
        ]
        await self._executemany(
            f"INSERT INTO checks ({_CHECK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", rows
        )

    async def recent_checks(self, monitor_id: int, limit: int) -> list[Check]:
        rows = await self._fetch(
            f"SELECT {_CHECK_COLUMNS} FROM checks WHERE monitor_id = ?"
            " ORDER BY checked_at DESC, id DESC LIMIT ?",
            (monitor_id, limit),
        )
        return [_check(row) for row in rows]

    async def monitor_counts(self, monitor_id: int, since: Sequence[float]) -> list[Counts]:
        if not since:
            return []
        bounds = [to_ms(s) for s in since]
        sums = ", ".join(
            "COALESCE(SUM(CASE WHEN checked_at >= ? THEN 1 ELSE 0 END), 0)" for _ in bounds
        )
        rows = await self._fetch(
            f"SELECT status, {sums} FROM checks WHERE monitor_id = ? AND checked_at >= ?"
            " GROUP BY status",
            (*bounds, monitor_id, min(bounds)),
        )
        by_status = {int(row[0]): row[1:] for row in rows}
        ok = by_status.get(1, (0,) * len(bounds))
        bad = by_status.get(0, (0,) * len(bounds))
        return [Counts(success=int(s), fail=int(f)) for s, f in zip(ok, bad, strict=True)]

    async def top(self, status: Status, since: float, limit: int) -> list[TopEntry]:
        # Count per monitor first (a covering range scan of the (status, checked_at, monitor_id)
        # index), then join the few winners' names; deleted monitors are not listed.
        rows = await self._fetch(
            "SELECT m.name, m.url, t.n FROM ("
            "  SELECT monitor_id, COUNT(*) AS n FROM checks"
            "  WHERE status = ? AND checked_at >= ? GROUP BY monitor_id"
            ") t JOIN monitors m ON m.id = t.monitor_id"
            " WHERE m.state <> ?"
            " ORDER BY t.n DESC, m.name, m.url LIMIT ?",
            (_STATUS_CODE[status], to_ms(since), int(MonitorState.DELETED), limit),
        )
        return [TopEntry(name=row[0], url=row[1], count=int(row[2])) for row in rows]

    async def summary(self, since: float) -> Counts:
        rows = await self._fetch(
            "SELECT status, COUNT(*) FROM checks WHERE checked_at >= ? GROUP BY status",
            (to_ms(since),),
        )
        by_status = {int(row[0]): int(row[1]) for row in rows}
        return Counts(success=by_status.get(1, 0), fail=by_status.get(0, 0))

    # -- cycles --
    async def record_cycle(self, record: CycleRecord) -> None:
        await self._execute(
            f"INSERT INTO cycles ({_CYCLE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                to_ms(record.started_at),
                to_ms(record.finished_at),
                record.outcome.value,
                record.probed,
                record.success,
                record.fail,
                record.stored,
            ),
        )

    async def cycle_totals(self) -> CycleTotals:
        counted = await self._fetch("SELECT outcome, COUNT(*) FROM cycles GROUP BY outcome")
        by_outcome = dict.fromkeys(CycleOutcome, 0)
        for outcome, count in counted:
            by_outcome[CycleOutcome(outcome)] = int(count)
        # Newest by when it ended (the finished_at index), not by insertion: a skip recorded while
        # a long cycle still ran is older than that cycle's record.
        last = await self._fetch(
            f"SELECT {_CYCLE_COLUMNS} FROM cycles ORDER BY finished_at DESC, id DESC LIMIT 1"
        )
        success = await self._fetch(
            "SELECT MAX(finished_at) FROM cycles WHERE outcome IN (?, ?)", _SUCCESSFUL_OUTCOMES
        )
        success_ms = success[0][0] if success else None
        return CycleTotals(
            by_outcome=by_outcome,
            last=_cycle(last[0]) if last else None,
            last_success_at=success_ms / MS_PER_S if success_ms is not None else None,
        )

    async def ping(self) -> None:
        await self._fetch("SELECT 1")
