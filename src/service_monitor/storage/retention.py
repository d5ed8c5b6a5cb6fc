"""Retention: raw checks, rollups, cycle records, resolved incidents and finished notifications are
removed once no window or history reaches them, in batches small enough that probing and the API never wait long."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from ..models import PruneReport
from . import rollups
from .outbox import FINISHED
from .rollups import to_ms
from .statements import Statements

# Raw checks are kept for the longest window (30 days) plus one hour: the partial hour at a
# window's old end is counted from them.
RAW_KEEP_MS = (30 * 24 + 1) * rollups.HOUR_MS
# Hourly rollups are kept for 31 days (the month window needs the hour at its old end, and a
# month's hourly history a day more); after that only the one at 00:00 UTC of each day stays, for
# the daily history, until the rollup retention (ROLLUP_RETENTION_DAYS).
HOURLY_KEEP_HOURS = 31 * rollups.DAY_HOURS


async def prune(db: Statements, now: float, *, rollup_days: int, batch: int) -> PruneReport:
    """Storage.prune, over any SQL backend's statements."""
    now_ms = to_ms(now)
    pruner = _Pruner(db, batch)
    checks = await pruner.delete(
        "SELECT id FROM checks WHERE status IN (0, 1) AND checked_at < ? LIMIT ?",
        (now_ms - RAW_KEEP_MS,),
        "DELETE FROM checks WHERE id IN",
    )
    # Hours leave rollup_hours first, so a query never picks an hour whose rows are going.
    doomed = doomed_hours(
        [int(row[0]) for row in await db.fetch("SELECT hour FROM rollup_hours")],
        now_ms,
        rollup_days,
    )
    removed_rollups = 0
    for hour in doomed:
        await db.execute("DELETE FROM rollup_hours WHERE hour = ?", (hour,))
        removed_rollups += await pruner.delete(
            "SELECT monitor_id FROM rollups WHERE hour = ? LIMIT ?",
            (hour,),
            f"DELETE FROM rollups WHERE hour = {int(hour)} AND monitor_id IN",
        )
    rollup_cutoff_ms = now_ms - rollup_days * 24 * rollups.HOUR_MS
    cycles = await pruner.delete(
        "SELECT id FROM cycles WHERE finished_at < ? LIMIT ?",
        (rollup_cutoff_ms,),
        "DELETE FROM cycles WHERE id IN",
    )
    # Incidents live as long as the rollups; an open one stays, however old. Notifications go
    # once finished (never a pending or held one), by when they were queued.
    incidents = await pruner.delete(
        "SELECT id FROM incidents WHERE resolved_at < ? LIMIT ?",
        (rollup_cutoff_ms,),
        "DELETE FROM incidents WHERE id IN",
    )
    notifications = await pruner.delete(
        "SELECT id FROM notifications WHERE state IN (?, ?, ?, ?) AND created_at < ? LIMIT ?",
        (*(state.value for state in FINISHED), rollup_cutoff_ms),
        "DELETE FROM notifications WHERE id IN",
    )
    return PruneReport(
        checks=checks,
        rollups=removed_rollups,
        cycles=cycles,
        incidents=incidents,
        notifications=notifications,
        batches=pruner.batches,
        longest_batch_s=pruner.longest_s,
    )


def doomed_hours(hours: Sequence[int], now_ms: int, rollup_days: int) -> list[int]:
    """The rolled-up hours retention removes: those older than HOURLY_KEEP_HOURS, but for one per
    day, the last at or before 00:00 UTC (it holds the totals as of midnight, since hours without
    checks are never rolled up), kept `rollup_days` for the daily history."""
    hourly_before = rollups.hour_of(now_ms) - HOURLY_KEEP_HOURS
    daily_before = rollups.hour_of(now_ms) - rollup_days * rollups.DAY_HOURS
    midnight_of: dict[int, int] = {}  # day boundary -> the last rolled hour at or before it
    for hour in hours:
        boundary = -(-hour // rollups.DAY_HOURS) * rollups.DAY_HOURS
        midnight_of[boundary] = max(hour, midnight_of.get(boundary, hour))
    daily = {hour for boundary, hour in midnight_of.items() if boundary >= daily_before}
    return sorted(h for h in hours if h < hourly_before and h not in daily)


class _Pruner:
    """Deletes in batches of keys, each batch its own short transaction, timing the slowest: rows
    are locked for one batch at a time, so probing and the API wait for one batch at most."""

    def __init__(self, db: Statements, batch: int) -> None:
        self._db = db
        self._batch = batch
        self.batches = 0
        self.longest_s = 0.0

    async def delete(self, select_keys: str, params: Sequence[Any], delete_in: str) -> int:
        """Run `select_keys` (params, then the batch size) and `delete_in (keys...)` until no key
        is left; returns how many rows went."""
        removed = 0
        while True:
            keys = [row[0] for row in await self._db.fetch(select_keys, (*params, self._batch))]
            if not keys:
                return removed
            started = time.perf_counter()
            done = await self._db.execute(f"{delete_in} ({', '.join('?' * len(keys))})", keys)
            self.longest_s = max(self.longest_s, time.perf_counter() - started)
            self.batches += 1
            removed += done.rowcount
            await asyncio.sleep(0)  # let the API and the probes in between batches
