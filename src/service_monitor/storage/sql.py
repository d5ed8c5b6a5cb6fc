"""The SQL both backends share, written once with `?` placeholders; each backend supplies its dialect.

A backend provides four primitives (fetch, execute, executemany in one transaction, and the two
dialect statements that differ: insert-if-absent and upsert) plus its DDL and its cycle lock, which
no shared SQL can express; everything else the Storage interface promises is built here on top of
them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from ..check_spec import DEFAULT_CHECK, CheckSpec, ValidationError, monitor_key
from ..due import split_regions
from ..errors import DuplicateURL, MonitorNotFound, StorageUnavailable
from ..models import (
    MAX_DETAIL_LENGTH,
    Bucket,
    Cause,
    Check,
    Counts,
    CycleOutcome,
    CycleRecord,
    CycleTotals,
    Monitor,
    MonitorState,
    PruneReport,
    RegionChecks,
    Span,
    Status,
    Target,
    TopEntry,
    url_key,
)
from . import Storage, history, retention, rollups, windows
from .base import SQLBase, chunks, marks
from .channels import ChannelSQL
from .health import HealthSQL
from .maintenance_windows import WindowSQL
from .outbox import OutboxSQL
from .rollups import MS_PER_S, to_ms
from .schedule import ScheduleSQL, stored_due_keys
from .statements import Row, Statements, Transaction

log = logging.getLogger(__name__)

# check_spec is NULL for the default check: most monitors have it, and their rows stay as small as
# before checks had settings.
_MONITOR_COLUMNS = "id, name, url, created_at, state, check_spec, owner, interval_s, regions"
# The first six in the order rollups.late_checks and windows.late_for_window read them.
_CHECK_COLUMNS = (
    "monitor_id, checked_at, status, http_status, latency_ms, cause, degraded, detail,"
    " tls_expires_at, region, due_at"
)
_INSERT_CHECK = f"INSERT INTO checks ({_CHECK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
# Tries of one add_checks transaction: a duplicate key once, and deadlocks.
_ADD_CHECKS_ATTEMPTS = 4
# Where a check's row holds its region and due time (see _CHECK_COLUMNS).
_REGION, _DUE_AT = 9, 10
# A cut detail ends in this, so a reader knows there was more.
_CUT = "\u2026"
_STATUS_CODE = {Status.SUCCESS: 1, Status.FAIL: 0}
_CODE_STATUS = {code: status for status, code in _STATUS_CODE.items()}
# `stored` is a reserved word in MySQL 5.7+, hence `stored_checks` for CycleRecord.stored.
_CYCLE_COLUMNS = "started_at, finished_at, outcome, probed, success, fail, stored_checks"
_SUCCESSFUL_OUTCOMES = (CycleOutcome.DONE.value, CycleOutcome.OVERRAN.value)
_LIKE_SPECIAL = re.compile(r"[!%_]")


class _Specs:
    """Parses each distinct stored spec text once: monitors with the same check then share one
    CheckSpec object, so a list of 100,000 holds one per distinct check, not one each.

    `known` are the specs of an earlier read, taken over unparsed when their text comes again: a
    cycle's targets then hold the very objects of the cycle before, which is what the compute's
    cache of compiled checks finds them by, and no spec is parsed twice while it stays the same.
    """

    def __init__(self, known: Mapping[str, CheckSpec] = MappingProxyType({})) -> None:
        self._known = known
        self.parsed: dict[str, CheckSpec] = {}

    def __call__(self, text: str | None) -> CheckSpec:
        if text is None:
            return DEFAULT_CHECK
        spec = self.parsed.get(text)
        if spec is None:
            spec = self._known.get(text)
            if spec is None:
                spec = CheckSpec.from_json(text)
            self.parsed[text] = spec
        return spec


def _spec_text(check: CheckSpec) -> str | None:
    """What the store keeps of a check: NULL for the default one, else its canonical JSON."""
    return None if check.is_default else check.to_json()


def _monitor(row: Row, specs: _Specs) -> Monitor:
    return Monitor(
        id=int(row[0]),
        name=row[1],
        url=row[2],
        created_at=row[3] / MS_PER_S,
        state=MonitorState(row[4]),
        check=specs(row[5]),
        owner=row[6],
        interval=None if row[7] is None else int(row[7]),
        regions=split_regions(row[8]),
    )


def _tombstone_key(monitor_id: int) -> bytes:
    """The key a deleted monitor is given when a live one takes its own: unique to the row, and
    never a URL's or a check's (those hash other text)."""
    return hashlib.sha256(f"deleted monitor {monitor_id}".encode()).digest()


def _check(row: Row) -> Check:
    return Check(
        monitor_id=int(row[0]),
        checked_at=row[1] / MS_PER_S,
        status=_CODE_STATUS[int(row[2])],
        http_status=row[3],
        latency_ms=int(row[4]),
        cause=Cause(row[5]) if row[5] is not None else None,
        degraded=bool(row[6]),
        detail=row[7],
        tls_expires_at=row[8] / MS_PER_S if row[8] is not None else None,
        region=row[9],
        due_at_ms=None if row[10] is None else int(row[10]),
    )


def _storable_detail(detail: str) -> str:
    """The detail as the store can keep it: at most MAX_DETAIL_LENGTH characters (code points, as
    MySQL's utf8mb4 VARCHAR counts them; strict mode refuses a longer one), and encodable as UTF-8.
    A detail quotes what a server sent, and text decoded with surrogateescape (aiohttp's headers)
    or a JSON "\\ud800" holds lone surrogates, which neither driver can encode: one such check
    would fail its whole batch, so each becomes '?'."""
    if len(detail) > MAX_DETAIL_LENGTH:
        detail = detail[: MAX_DETAIL_LENGTH - len(_CUT)] + _CUT
    if not detail.isascii():
        detail = detail.encode("utf-8", "replace").decode("utf-8")
    return detail


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


class SQLStorage(HealthSQL, ScheduleSQL, ChannelSQL, WindowSQL, OutboxSQL, Storage, SQLBase):
    """Implements every role of Storage over a backend's primitives; its Statements (fetch and
    execute) are also what retention.py runs on. The alerting roles are mixins in modules of their
    own (health.py, channels.py, maintenance_windows.py, outbox.py)."""

    # Dialect statements: insert a monitor unless its url_key exists (rowcount 0 then), params
    # (name, url, url_key, created_at, state, check_spec, owner); and insert-or-update a monitor by
    # url_key (name and state from the new row), params (name, url, url_key, created_at, state).
    INSERT_MONITOR_IF_ABSENT: str
    UPSERT_MONITOR: str
    # FOR_UPDATE, DUPLICATE_KEY_ERRORS and the alerting's dialect statements: see base.SQLBase.
    # The specs the last targets() read, by stored text: replaced by each read.
    _target_specs: Mapping[str, CheckSpec] = MappingProxyType({})
    # Add late checks' (success, fail, success latency) to every rollup of one monitor after an
    # hour: params (monitor_id, success, fail, success_latency_ms, hour); rows missing are made.
    ADD_TO_ROLLUPS_AFTER: str
    # Add late checks to one monitor's row of a stored window: params (span, to_ms, monitor_id,
    # success, fail); the row is made when missing.
    ADD_TO_WINDOW: str
    # The rollups' lock, which keeps add_checks and the rollups from interleaving (rollups.py):
    # SHARE_ROLLUPS is the first statement of every add_checks transaction (shared: writers do not
    # wait for each other) and LOCK_ROLLUPS the first of every transaction that rolls up an hour or
    # stores a window (exclusive: it waits for the writers in flight, and writers arriving meanwhile
    # wait for it). Empty where a write transaction already holds the whole database (SQLite).
    SHARE_ROLLUPS: str
    LOCK_ROLLUPS: str

    # -- per backend: fetch and execute (Statements), _transaction (SQLBase), close, and
    # cycle_lock (a lock of the server or of the OS, never a row, so that it dies with its
    # holder) --
    async def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run the statement for every row in one transaction."""
        async with self._transaction() as tx:
            await tx.executemany(sql, rows)

    # -- monitors --
    async def add_monitor(
        self,
        name: str,
        url: str,
        now: float,
        *,
        check: CheckSpec = DEFAULT_CHECK,
        owner: str | None = None,
    ) -> Monitor:
        key = monitor_key(url_key(url), check)
        created = to_ms(now)
        params = (name, url, key, created, int(MonitorState.PENDING), _spec_text(check), owner)
        done = await self.execute(self.INSERT_MONITOR_IF_ABSENT, params)
        if done.rowcount == 1 and done.lastrowid:
            return Monitor(
                done.lastrowid, name, url, created / MS_PER_S, MonitorState.PENDING, check, owner
            )
        rows = await self.fetch("SELECT id, state FROM monitors WHERE url_key = ?", (key,))
        existing_id, state = int(rows[0][0]), MonitorState(rows[0][1])
        if state is MonitorState.DELETED:
            # Re-adding a deleted monitor brings it (and its history) back under a new name and
            # owner; its check is this one, as the key says.
            revived = await self.execute(
                "UPDATE monitors SET name = ?, state = ?, owner = ? WHERE id = ? AND state = ?",
                (name, int(MonitorState.PENDING), owner, existing_id, int(MonitorState.DELETED)),
            )
            if revived.rowcount == 1:
                return await self.get_monitor(existing_id)
        raise DuplicateURL(url, existing_id)

    async def update_monitor(
        self,
        monitor_id: int,
        *,
        name: str | None = None,
        url: str | None = None,
        check: CheckSpec | None = None,
        owner: str | None = None,
        clear_owner: bool = False,
    ) -> Monitor:
        if owner is not None and clear_owner:
            raise ValueError("give either owner or clear_owner, not both")
        try:
            async with self._transaction() as tx:
                return await self._update_monitor(
                    tx, monitor_id, name, url, check, None if clear_owner else owner, clear_owner
                )
        except self.DUPLICATE_KEY_ERRORS:
            # Another transaction took the key between our read and our write (MySQL only:
            # SQLite's transaction holds the whole database).
            current = await self.get_monitor(monitor_id)
            new_url = url if url is not None else current.url
            key = monitor_key(url_key(new_url), check if check is not None else current.check)
            rows = await self.fetch("SELECT id FROM monitors WHERE url_key = ?", (key,))
            raise DuplicateURL(new_url, int(rows[0][0]) if rows else monitor_id) from None

    async def _update_monitor(
        self,
        tx: Transaction,
        monitor_id: int,
        name: str | None,
        url: str | None,
        check: CheckSpec | None,
        owner: str | None,
        clear_owner: bool,
    ) -> Monitor:
        deleted = int(MonitorState.DELETED)
        rows = await tx.fetch(
            f"SELECT {_MONITOR_COLUMNS}, url_key FROM monitors WHERE id = ? AND state <> ?"
            + self.FOR_UPDATE,
            (monitor_id, deleted),
        )
        if not rows:
            raise MonitorNotFound(monitor_id)
        current = _monitor(rows[0], _Specs())
        wanted = Monitor(
            id=current.id,
            name=current.name if name is None else name,
            url=current.url if url is None else url,
            created_at=current.created_at,
            state=current.state,
            check=current.check if check is None else check,
            owner=None if clear_owner else (current.owner if owner is None else owner),
            interval=current.interval,
            regions=current.regions,
        )
        # Compared as stored: two specs that store the same text are the same check.
        spec_text = _spec_text(wanted.check)
        if (wanted.name, wanted.url, wanted.owner, spec_text) == (
            current.name,
            current.url,
            current.owner,
            rows[0][5],
        ):
            return current
        key = monitor_key(url_key(wanted.url), wanted.check)
        if key != bytes(rows[0][9]):
            # A plain read, not a locking one: on MySQL, two updates locking the same absent key
            # would each hold its gap and deadlock. A key taken after this read still fails the
            # UPDATE below on the unique index, which update_monitor answers as a duplicate.
            holders = await tx.fetch("SELECT id, state FROM monitors WHERE url_key = ?", (key,))
            for holder_id, state in holders:
                if int(state) != deleted:
                    raise DuplicateURL(wanted.url, int(holder_id))
                # A deleted monitor gives its key up to a live one; re-adding the URL later then
                # makes a new monitor rather than reviving this one.
                await tx.execute(
                    "UPDATE monitors SET url_key = ? WHERE id = ?",
                    (_tombstone_key(int(holder_id)), int(holder_id)),
                )
        await tx.execute(
            "UPDATE monitors SET name = ?, url = ?, url_key = ?, check_spec = ?, owner = ?"
            " WHERE id = ?",
            (wanted.name, wanted.url, key, spec_text, wanted.owner, monitor_id),
        )
        return wanted

    async def import_monitors(self, rows: Iterable[tuple[str, str]], now: float) -> int:
        created = to_ms(now)
        active = int(MonitorState.ACTIVE)
        params = [(name, url, url_key(url), created, active) for name, url in rows]
        if params:
            await self._executemany(self.UPSERT_MONITOR, params)
        return len(params)

    async def get_monitor(self, monitor_id: int) -> Monitor:
        rows = await self.fetch(
            f"SELECT {_MONITOR_COLUMNS} FROM monitors WHERE id = ? AND state <> ?",
            (monitor_id, int(MonitorState.DELETED)),
        )
        if not rows:
            raise MonitorNotFound(monitor_id)
        return _monitor(rows[0], _Specs())

    async def list_monitors(
        self, limit: int, offset: int, search: str | None = None, *, owner: str | None = None
    ) -> tuple[list[Monitor], int]:
        where = "state <> ?"
        params: list[Any] = [int(MonitorState.DELETED)]
        if owner is not None:
            where += " AND owner = ?"  # the (owner, id) index
            params.append(owner)
        if search:
            # LOWER on both sides: the same answer from MySQL's collations and SQLite's ASCII-only
            # case folding. '!' escapes the pattern's own % and _ (a backslash means different
            # things in the two dialects' string literals).
            pattern = "%" + _LIKE_SPECIAL.sub(r"!\g<0>", search.lower()) + "%"
            where += " AND (LOWER(name) LIKE ? ESCAPE '!' OR LOWER(url) LIKE ? ESCAPE '!')"
            params += [pattern, pattern]
        rows = await self.fetch(
            f"SELECT {_MONITOR_COLUMNS} FROM monitors WHERE {where} ORDER BY id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        total = await self.fetch(f"SELECT COUNT(*) FROM monitors WHERE {where}", params)
        specs = _Specs()
        return [_monitor(row, specs) for row in rows], int(total[0][0])

    async def delete_monitor(self, monitor_id: int) -> None:
        done = await self.execute(
            "UPDATE monitors SET state = ? WHERE id = ? AND state <> ?",
            (int(MonitorState.DELETED), monitor_id, int(MonitorState.DELETED)),
        )
        if done.rowcount == 0:
            raise MonitorNotFound(monitor_id)

    async def activate(self, monitor_ids: Sequence[int] | None = None) -> int:
        pending, active = int(MonitorState.PENDING), int(MonitorState.ACTIVE)
        if monitor_ids is None:
            sql = "UPDATE monitors SET state = ? WHERE state = ?"
            return (await self.execute(sql, (active, pending))).rowcount
        count = 0
        for chunk in chunks(list(monitor_ids)):
            sql = f"UPDATE monitors SET state = ? WHERE state = ? AND id IN ({marks(len(chunk))})"
            count += (await self.execute(sql, (active, pending, *chunk))).rowcount
        return count

    async def targets_of(self, monitor_ids: Sequence[int]) -> list[Target]:
        rows: list[Row] = []
        for chunk in chunks(list(monitor_ids)):
            rows += await self.fetch(
                "SELECT id, url, check_spec FROM monitors WHERE state = ?"
                f" AND id IN ({marks(len(chunk))}) ORDER BY id",
                (int(MonitorState.ACTIVE), *chunk),
            )
        return self._targets(rows)

    async def targets(
        self, *, now: float | None = None, cycle_s: int | None = None
    ) -> list[Target]:
        active = int(MonitorState.ACTIVE)
        if now is None or cycle_s is None:
            rows = await self.fetch(
                "SELECT id, url, check_spec FROM monitors WHERE state = ? ORDER BY id", (active,)
            )
            return self._targets(rows)
        # The whole-list cycle probes every monitor each run, but those whose interval is longer
        # than the cycle's only when due: within half a cycle from now, the nearest run to it.
        due_by = to_ms(now) + cycle_s * MS_PER_S // 2
        async with self._transaction() as tx:
            rows = await tx.fetch(
                "SELECT id, url, check_spec, interval_s FROM monitors WHERE state = ?"
                " AND (interval_s IS NULL OR interval_s <= ? OR next_due_at IS NULL"
                " OR next_due_at <= ?) ORDER BY id",
                (active, cycle_s, due_by),
            )
            longer: dict[int, list[int]] = {}
            for monitor_id, _, _, interval in rows:
                if interval is not None and int(interval) > cycle_s:
                    longer.setdefault(int(interval) * MS_PER_S, []).append(int(monitor_id))
            # Past the due time just served (the last at or before due_by): the next one on.
            await self._move_due(tx, longer, due_by + 1)
        return self._targets([row[:3] for row in rows])

    def _targets(self, rows: Sequence[Row]) -> list[Target]:
        # Only the specs of this read are kept for the next: memory follows the monitors of now,
        # not every spec the process has ever read.
        specs = _Specs(self._target_specs)
        targets: list[Target] = []
        unreadable: set[str] = set()
        for monitor_id, url, text in rows:
            if text in unreadable:
                continue
            try:
                spec = specs(text)
            except ValidationError as exc:
                # Only a spec stored by a newer version that this one cannot read: that monitor
                # waits for the newer version, the other monitors are probed all the same.
                unreadable.add(text)
                log.error("monitor %d not probed: its check cannot be read: %s", monitor_id, exc)
                continue
            targets.append(Target(int(monitor_id), url, spec))
        self._target_specs = specs.parsed
        return targets

    # -- checks --
    async def add_checks(self, checks: Sequence[Check]) -> None:
        if not checks:
            return
        # One executemany per batch: the compute's hot path (MySQL folds it into multi-row
        # INSERTs). tls_expires_at is kept in ms, like checked_at.
        rows = [
            (
                c.monitor_id,
                to_ms(c.checked_at),
                _STATUS_CODE[c.status],
                c.http_status,
                c.latency_ms,
                c.cause.value if c.cause else None,
                1 if c.degraded else 0,
                c.detail if c.detail is None else _storable_detail(c.detail),
                None if c.tls_expires_at is None else to_ms(c.tls_expires_at),
                c.region,
                c.due_at_ms,
            )
            for c in checks
        ]
        planned = any(row[_DUE_AT] is not None for row in rows)
        duplicates_seen = False
        for attempt in range(1, _ADD_CHECKS_ATTEMPTS + 1):
            try:
                async with self._transaction() as tx:
                    if self.SHARE_ROLLUPS:  # first: see rollups.py (before the insert: no deadlock)
                        await tx.fetch(self.SHARE_ROLLUPS)
                    if planned:
                        # A shard delivered again (its worker was taken over) stores nothing twice.
                        rows = await self._not_stored_yet(tx, rows)
                        if not rows:
                            return
                    await tx.executemany(_INSERT_CHECK, rows)
                    await self._count_late_checks(tx, rows)
                    # The health, incidents and notifications they move, committed with them.
                    await self._judge_checks(tx, rows)
                return
            except self.DUPLICATE_KEY_ERRORS:
                # Another worker stored one of these keys between our read and our insert (the
                # unique key refused it, and the transaction is rolled back): read again.
                if duplicates_seen or not planned or attempt == _ADD_CHECKS_ATTEMPTS:
                    raise
                duplicates_seen = True
            except StorageUnavailable as exc:
                # Two batches of monitors new to monitor_health can deadlock on the gap their rows
                # go in (MySQL rolls one back whole): run it again, a moment later.
                if not self._is_deadlock(exc) or attempt == _ADD_CHECKS_ATTEMPTS:
                    raise
                await asyncio.sleep(random.uniform(0.005, 0.05) * attempt)

    @staticmethod
    async def _not_stored_yet(tx: Transaction, rows: Sequence[Row]) -> list[Row]:
        """The rows whose (monitor, due time, region) key is not stored yet, nor repeated earlier
        in `rows`; rows without a due time are all kept."""
        keyed = [(int(row[0]), int(row[_DUE_AT])) for row in rows if row[_DUE_AT] is not None]
        stored = await stored_due_keys(tx.fetch, keyed)
        kept: list[Row] = []
        for row in rows:
            if row[_DUE_AT] is not None:
                key = (int(row[0]), int(row[_DUE_AT]), str(row[_REGION]))
                if key in stored:
                    continue
                stored.add(key)
            kept.append(row)
        return kept

    async def _count_late_checks(self, tx: Transaction, rows: Sequence[Row]) -> None:
        """Add checks made before what is already rolled up (rollups, stored windows) to it.

        The transaction holds the rollups' shared lock (SHARE_ROLLUPS) since its first statement:
        no rollup or window is being made, and these reads (its snapshot starts at the first one)
        see every one made before. Rows are changed in one order, by monitor and hour, then by
        window and monitor, so concurrent late writers never lock them in opposite orders."""
        oldest_ms = min(int(row[1]) for row in rows)
        newest = (await tx.fetch("SELECT MAX(hour) FROM rollup_hours"))[0][0]
        if newest is not None and oldest_ms < newest * rollups.HOUR_MS:
            by_key = sorted(rollups.late_checks(rows, int(newest)), key=rollups.Late.key)
            for late in by_key:
                await tx.execute(
                    self.ADD_TO_ROLLUPS_AFTER,
                    (late.monitor_id, late.success, late.fail, late.success_latency_ms, late.hour),
                )
        stored = await tx.fetch(
            windows.WINDOW_BOUNDS_SQL + " AND to_ms > ? ORDER BY span, to_ms", (oldest_ms,)
        )
        for bounds in stored:
            window = windows.WindowBounds(*(int(v) for v in bounds))
            counted = windows.late_for_window(rows, window)
            for monitor_id, (ok, bad) in sorted(counted.items()):
                await tx.execute(
                    self.ADD_TO_WINDOW, (window.span, window.to_ms, monitor_id, ok, bad)
                )
            if counted:
                await tx.execute(
                    "UPDATE window_bounds SET success = success + ?, fail = fail + ?"
                    " WHERE span = ? AND to_ms = ?",
                    (
                        sum(ok for ok, _ in counted.values()),
                        sum(bad for _, bad in counted.values()),
                        window.span,
                        window.to_ms,
                    ),
                )

    async def recent_checks(
        self,
        monitor_id: int,
        limit: int,
        *,
        status: Status | None = None,
        since: float | None = None,
        region: str | None = None,
    ) -> list[Check]:
        where = "monitor_id = ?"
        params: list[Any] = [monitor_id]
        if status is not None:
            where += " AND status = ?"
            params.append(_STATUS_CODE[status])
        if since is not None:
            where += " AND checked_at >= ?"
            params.append(to_ms(since))
        if region is not None:
            where += " AND region = ?"
            params.append(region)
        rows = await self.fetch(
            f"SELECT {_CHECK_COLUMNS} FROM checks WHERE {where}"
            " ORDER BY checked_at DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return [_check(row) for row in rows]

    async def last_checks(self, monitor_ids: Sequence[int]) -> dict[int, Check]:
        if not monitor_ids:
            return {}
        # One round trip of one backward index seek per monitor: each derived table reads a single
        # entry of (monitor_id, checked_at). A GROUP BY MAX or a correlated MAX reads every check
        # of the page's monitors instead (MariaDB: 33 ms and 15 s over 43 million checks).
        newest = (
            f"SELECT * FROM (SELECT {_CHECK_COLUMNS}, id FROM checks WHERE monitor_id = ?"
            " ORDER BY checked_at DESC, id DESC LIMIT 1) n"
        )
        rows = await self.fetch(
            " UNION ALL ".join(f"{newest}{i}" for i in range(len(monitor_ids))),
            tuple(monitor_ids),
        )
        return {check.monitor_id: check for check in map(_check, rows)}

    async def history(
        self, monitor_ids: Sequence[int], bounds: Sequence[float], *, region: str | None = None
    ) -> dict[int, list[Bucket]]:
        ids = list(monitor_ids)
        bounds_ms = [to_ms(b) for b in bounds]
        if not ids or len(bounds_ms) < 2:
            return {monitor_id: [] for monitor_id in ids}
        if region is not None:
            # The rollups count every region together: one region's buckets are counted from the
            # raw checks (kept 30 days and an hour, so a month's buckets are exact too).
            parts = history.raw_parts(bounds_ms, set(), ids, region)
            counted = await self.fetch(*parts) if parts is not None else []
            return history.assemble(ids, len(bounds_ms) - 1, counted)
        id_marks = ", ".join("?" * len(ids))
        hours = history.hours_of(bounds_ms)
        rolled: set[int] = set()
        if hours:
            found = await self.fetch(
                f"SELECT hour FROM rollup_hours WHERE hour IN ({', '.join('?' * len(hours))})",
                hours,
            )
            rolled = {int(row[0]) for row in found}
        pairs = history.rolled_pairs(bounds_ms, rolled)
        rows: list[history.BucketRow] = []
        if pairs:
            used = sorted({h for _, start, end in pairs for h in (start, end)})
            rollup_rows = await self.fetch(
                "SELECT hour, monitor_id, success, fail, success_latency_ms FROM rollups"
                f" WHERE hour IN ({', '.join('?' * len(used))}) AND monitor_id IN ({id_marks})",
                (*used, *ids),
            )
            rows += history.from_rollups(rollup_rows, pairs)
        raw = history.raw_parts(bounds_ms, {index for index, _, _ in pairs}, ids)
        if raw is not None:
            rows += await self.fetch(*raw)
        return history.assemble(ids, len(bounds_ms) - 1, rows)

    async def region_checks(
        self, monitor_id: int, since: float, counts_since: float
    ) -> list[RegionChecks]:
        """In one query: for each region the monitor was checked from since `since`, its newest
        check and its counts from `counts_since` on (at or after `since`), by region."""
        since_ms, counts_ms = to_ms(since), to_ms(counts_since)
        recent = f"CASE WHEN checked_at >= {counts_ms:d} THEN {{}} ELSE 0 END"
        rows = await self.fetch(
            f"SELECT {_CHECK_COLUMNS}, n_success, n_fail, n_degraded FROM ("
            f" SELECT {_CHECK_COLUMNS}, ROW_NUMBER() OVER"
            " (PARTITION BY region ORDER BY checked_at DESC, id DESC) AS newest,"
            f" SUM({recent.format('status')}) OVER (PARTITION BY region) AS n_success,"
            f" SUM({recent.format('1 - status')}) OVER (PARTITION BY region) AS n_fail,"
            f" SUM({recent.format('degraded')}) OVER (PARTITION BY region) AS n_degraded"
            " FROM checks WHERE monitor_id = ? AND checked_at >= ?"
            ") per_region WHERE newest = 1 ORDER BY region",
            (monitor_id, since_ms),
        )
        found = []
        for row in rows:
            counts = Counts(int(row[-3] or 0), int(row[-2] or 0), int(row[-1] or 0))
            check = _check(row[:-3])
            found.append(RegionChecks(check.region, check, counts))
        return found

    async def monitor_counts(self, monitor_id: int, since: Sequence[float]) -> list[Counts]:
        counts = [await self._counts(to_ms(s), monitor_id) for s in since]
        degraded = await self._degraded_counts(monitor_id, [to_ms(s) for s in since])
        return [Counts(c.success, c.fail, d) for c, d in zip(counts, degraded, strict=True)]

    async def _degraded_counts(self, monitor_id: int, since_ms: Sequence[int]) -> list[int]:
        """The monitor's degraded checks from each of `since_ms` on, in one pass over its raw
        checks from the earliest (the (monitor_id, checked_at) index: at most 30 days of one
        monitor, 4,320 rows at the 600 s cycle)."""
        if not since_ms:
            return []
        columns = ", ".join("SUM(CASE WHEN checked_at >= ? THEN 1 ELSE 0 END)" for _ in since_ms)
        rows = await self.fetch(
            f"SELECT {columns} FROM checks"
            " WHERE monitor_id = ? AND checked_at >= ? AND degraded = 1",
            (*since_ms, monitor_id, min(since_ms)),
        )
        return [int(value or 0) for value in rows[0]]

    async def top(self, status: Status, since: float, limit: int) -> list[TopEntry]:
        # Count per monitor first (a stored window's row and a few minutes of raw checks each, or
        # two hourly rollups and an hour or two of raw checks), rank, then join the winners'
        # names; deleted monitors are not listed.
        since_ms, code = to_ms(since), _STATUS_CODE[status]
        window = windows.nearest_window(await self.fetch(windows.WINDOW_BOUNDS_SQL), since_ms)
        if window is not None:
            parts, params = windows.top_parts_from_window(code, window, since_ms)
        else:
            parts, params = rollups.top_parts(code, since_ms, await self._edges(since_ms))
        rows = await self.fetch(
            "SELECT m.name, m.url, t.total FROM ("
            f"  SELECT monitor_id, SUM(n) AS total FROM ({parts}) p GROUP BY monitor_id"
            "   HAVING SUM(n) > 0 AND monitor_id NOT IN (SELECT id FROM monitors WHERE state = ?)"
            "   ORDER BY total DESC, monitor_id LIMIT ?"
            ") t JOIN monitors m ON m.id = t.monitor_id"
            " ORDER BY t.total DESC, t.monitor_id",
            (*params, int(MonitorState.DELETED), limit),
        )
        return [TopEntry(name=row[0], url=row[1], count=int(row[2])) for row in rows]

    async def summary(self, since: float) -> Counts:
        since_ms = to_ms(since)
        window = windows.nearest_window(await self.fetch(windows.WINDOW_BOUNDS_SQL), since_ms)
        if window is None:
            return await self._counts(since_ms, None)
        parts, params = windows.summary_parts_from_window(window, since_ms)
        return await self._sum_counts(parts, params)

    async def _counts(self, since_ms: int, monitor_id: int | None) -> Counts:
        parts, params = rollups.count_parts(since_ms, await self._edges(since_ms), monitor_id)
        return await self._sum_counts(parts, params)

    async def _sum_counts(self, parts: str, params: Sequence[Any]) -> Counts:
        rows = await self.fetch(f"SELECT SUM(s), SUM(f) FROM ({parts}) p", params)
        success, fail = rows[0] if rows else (None, None)
        return Counts(success=int(success or 0), fail=int(fail or 0))

    async def _edges(self, since_ms: int, db: Statements | None = None) -> rollups.Edges | None:
        rows = await (self if db is None else db).fetch(
            rollups.EDGES_SQL, (rollups.first_hour_from(since_ms),)
        )
        return rollups.edges(since_ms, rows[0])

    # -- rollups and retention --
    async def roll_up(self, now: float, *, lead_s: float = 300.0) -> int:
        added = await self._roll_up_hours(to_ms(now))
        await self._store_windows(to_ms(now), to_ms(lead_s))
        return added

    @contextlib.asynccontextmanager
    async def _rollup_transaction(self) -> AsyncIterator[Transaction]:
        """A transaction that makes rollups or windows: it takes the rollups' exclusive lock
        first, so its reads see every add_checks that began before it, and none that has not
        ended (rollups.py)."""
        async with self._transaction() as tx:
            if self.LOCK_ROLLUPS:
                await tx.execute(self.LOCK_ROLLUPS)
            yield tx

    async def _store_windows(self, now_ms: int, lead_ms: int) -> None:
        """Store every window's counts per monitor as they stand at `now_ms`, starting `lead_ms`
        later than a window ending now would, so that requests until the next cycle start near
        it; then drop the generation before the previous one (the previous one stays for a
        request that read its bounds a moment ago). One transaction per span, under the
        rollups' lock: add_checks waits for one span at a time."""
        for span in Span:
            # Unlocked first: storing nothing needs no lock, and checks written meanwhile cannot
            # make a window due.
            if not await self._window_due(self, span, now_ms):
                continue
            async with self._rollup_transaction() as tx:
                if await self._window_due(tx, span, now_ms):
                    await self._store_window(tx, span, now_ms, lead_ms)

    async def _window_due(self, db: Statements, span: Span, now_ms: int) -> bool:
        newest = await db.fetch(
            "SELECT MAX(to_ms) FROM window_bounds WHERE span = ?", (span.seconds,)
        )
        # Not when already stored as of now or later.
        return newest[0][0] is None or int(newest[0][0]) < now_ms

    async def _store_window(self, tx: Transaction, span: Span, now_ms: int, lead_ms: int) -> None:
        """Rows, bounds and totals appear together, and the stale generations go with them."""
        from_ms = now_ms - span.seconds * MS_PER_S + lead_ms
        parts, params = rollups.per_monitor_parts(from_ms, now_ms, await self._edges(from_ms, tx))
        await tx.execute(
            "INSERT INTO windows (span, to_ms, monitor_id, success, fail)"
            f" SELECT ?, ?, monitor_id, SUM(s), SUM(f) FROM ({parts}) p"
            " GROUP BY monitor_id HAVING SUM(s) <> 0 OR SUM(f) <> 0",
            (span.seconds, now_ms, *params),
        )
        totals = await tx.fetch(
            "SELECT COALESCE(SUM(success), 0), COALESCE(SUM(fail), 0) FROM windows"
            " WHERE span = ? AND to_ms = ?",
            (span.seconds, now_ms),
        )
        await tx.execute(
            "INSERT INTO window_bounds (span, to_ms, from_ms, success, fail)"
            " VALUES (?, ?, ?, ?, ?)",
            (span.seconds, now_ms, from_ms, int(totals[0][0]), int(totals[0][1])),
        )
        stale = await tx.fetch(
            "SELECT to_ms FROM window_bounds WHERE span = ? ORDER BY to_ms DESC LIMIT 10 OFFSET 2",
            (span.seconds,),
        )
        for (to_ms_stale,) in stale:
            await tx.execute(
                "DELETE FROM window_bounds WHERE span = ? AND to_ms = ?",
                (span.seconds, to_ms_stale),
            )
            await tx.execute(
                "DELETE FROM windows WHERE span = ? AND to_ms = ?", (span.seconds, to_ms_stale)
            )

    async def _roll_up_hours(self, now_ms: int) -> int:
        """Roll up each hour before the one of `now_ms` that has checks, one transaction per hour
        under the rollups' lock: add_checks waits for one hour at a time."""
        target = rollups.hour_of(now_ms)
        added = 0
        # Unlocked first: rolling up nothing needs no lock, and checks written meanwhile are
        # rolled up next time (a late one is added to the hours rolled up by then).
        while await self._next_hour(self, target) is not None:
            async with self._rollup_transaction() as tx:
                upcoming = await self._next_hour(tx, target)
                if upcoming is None:
                    break
                previous, hour = upcoming
                if previous is not None:
                    from_ms = previous * rollups.HOUR_MS
                    await tx.execute(
                        rollups.ROLL_UP_HOUR_SQL,
                        (hour, previous, from_ms, hour * rollups.HOUR_MS),
                    )
                await tx.execute("INSERT INTO rollup_hours (hour) VALUES (?)", (hour,))
            added += 1
        return added

    async def _next_hour(self, db: Statements, target: int) -> tuple[int | None, int] | None:
        """(the newest rolled-up hour, the next hour to roll up) before `target`, None when there
        is none. The first is None when nothing is rolled up yet: the oldest check's hour comes
        first, with no rows (nothing was made before it, its rollup is all zeros)."""
        newest = (await db.fetch("SELECT MAX(hour) FROM rollup_hours"))[0][0]
        if newest is None:
            oldest = (await db.fetch(rollups.NEXT_CHECK_SQL, (0, 0)))[0][0]
            if oldest is None or rollups.hour_of(int(oldest)) > target:
                return None  # no check before the target hour yet: nothing to roll up
            return None, rollups.hour_of(int(oldest))
        previous = int(newest)
        if previous >= target:
            return None
        from_ms = previous * rollups.HOUR_MS
        upcoming = (await db.fetch(rollups.NEXT_CHECK_SQL, (from_ms, from_ms)))[0][0]
        if upcoming is None or rollups.hour_of(int(upcoming)) >= target:
            return None  # no check before the target hour: nothing new to roll up
        # The hours between without checks are skipped: their rollups would repeat this one.
        return previous, rollups.hour_of(int(upcoming)) + 1

    async def prune(self, now: float, *, rollup_days: int, batch: int = 5000) -> PruneReport:
        return await retention.prune(self, now, rollup_days=rollup_days, batch=batch)

    # -- cycles --
    async def record_cycle(self, record: CycleRecord) -> None:
        await self.execute(
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
        counted = await self.fetch("SELECT outcome, COUNT(*) FROM cycles GROUP BY outcome")
        by_outcome = dict.fromkeys(CycleOutcome, 0)
        for outcome, count in counted:
            by_outcome[CycleOutcome(outcome)] = int(count)
        last = await self.recent_cycles(1)
        success = await self.fetch(
            "SELECT MAX(finished_at) FROM cycles WHERE outcome IN (?, ?)", _SUCCESSFUL_OUTCOMES
        )
        success_ms = success[0][0] if success else None
        return CycleTotals(
            by_outcome=by_outcome,
            last=last[0] if last else None,
            last_success_at=success_ms / MS_PER_S if success_ms is not None else None,
        )

    async def recent_cycles(self, limit: int) -> list[CycleRecord]:
        # Newest by when it ended (the finished_at index), not by insertion: a skip recorded while
        # a long cycle still ran is older than that cycle's record.
        rows = await self.fetch(
            f"SELECT {_CYCLE_COLUMNS} FROM cycles ORDER BY finished_at DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [_cycle(row) for row in rows]

    async def ping(self) -> None:
        await self.fetch("SELECT 1")
