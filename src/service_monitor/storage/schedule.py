"""The fleet's part of the store: each monitor's interval and regions, the monitors due in a
planner slot and their next due times, and the planner's record of its slots (fleet/planner.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ..due import (
    MAX_INTERVAL_S,
    MIN_INTERVAL_S,
    OFFSET_STEP_MS,
    SLOT_MS,
    DueMonitor,
    PlanSlot,
    SlotState,
    join_regions,
    split_regions,
)
from ..errors import MonitorNotFound
from ..models import MonitorState
from .base import SQLBase, chunks, marks
from .statements import Row, Transaction

_ACTIVE = int(MonitorState.ACTIVE)
_DELETED = int(MonitorState.DELETED)
_SLOT_COLUMNS = "slot_ms, shards, monitors, planned_at, deadline_at, state, finished_at"

# due.next_due in SQL, for one interval `iv` (ms): the first due time at or after the bound `?`.
# Every intermediate is positive (ids are UNSIGNED on MySQL), where MySQL's and SQLite's % agree
# with Python's.
_NEXT_DUE = f"? + ((id * {OFFSET_STEP_MS}) % {{iv}} + {{iv}} - ? % {{iv}}) % {{iv}}"


def _due(row: Row) -> DueMonitor:
    return DueMonitor(int(row[0]), None if row[1] is None else int(row[1]), split_regions(row[2]))


def check_interval(interval: int | None) -> None:
    if interval is not None and not MIN_INTERVAL_S <= interval <= MAX_INTERVAL_S:
        raise ValueError(
            f"interval {interval} s is outside {MIN_INTERVAL_S} to {MAX_INTERVAL_S} seconds"
        )


async def stored_due_keys(
    fetch: Callable[[str, Sequence[Any]], Awaitable[list[Row]]],
    keys: Sequence[tuple[int, int]],
) -> set[tuple[int, int, str]]:
    """The (monitor, due time, region) of the checks stored for these (monitor, due time) keys,
    read on `fetch` (the store's, or a transaction's), 500 monitors a query on the unique key."""
    stored: set[tuple[int, int, str]] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        wanted = set(chunk)
        rows = await fetch(
            f"SELECT monitor_id, due_at, region FROM checks WHERE monitor_id IN"
            f" ({marks(len(chunk))}) AND due_at >= ? AND due_at <= ?",
            (
                *(monitor_id for monitor_id, _ in chunk),
                min(due for _, due in chunk),
                max(due for _, due in chunk),
            ),
        )
        stored.update((int(m), int(d), str(r)) for m, d, r in rows if (int(m), int(d)) in wanted)
    return stored


class ScheduleSQL(SQLBase):
    async def set_schedule(
        self,
        monitor_id: int,
        *,
        interval: int | None,
        regions: Sequence[str] | None,
    ) -> None:
        """Set a monitor's interval and regions (None: the defaults). It is due at once, so a
        shorter interval takes effect now rather than after the old one."""
        check_interval(interval)
        done = await self.execute(
            "UPDATE monitors SET interval_s = ?, regions = ?, next_due_at = NULL"
            " WHERE id = ? AND state <> ?",
            (
                interval,
                join_regions(None if regions is None else list(regions)),
                monitor_id,
                _DELETED,
            ),
        )
        if done.rowcount == 0:
            rows = await self.fetch(
                "SELECT 1 FROM monitors WHERE id = ? AND state <> ?", (monitor_id, _DELETED)
            )
            if not rows:
                raise MonitorNotFound(monitor_id)

    async def due_monitors(self, slot_end_ms: int) -> list[DueMonitor]:
        """The active monitors due before `slot_end_ms` (new ones have no due time: due now), by
        id, so planning the same slot twice makes the same shards."""
        rows = await self.fetch(
            "SELECT id, interval_s, regions FROM monitors WHERE state = ?"
            " AND (next_due_at IS NULL OR next_due_at < ?) ORDER BY id",
            (_ACTIVE, slot_end_ms),
        )
        return [_due(row) for row in rows]

    async def planned_in(self, slot_ms: int) -> list[DueMonitor]:
        """The active monitors that the slot starting at `slot_ms` planned, by id."""
        rows = await self.fetch(
            "SELECT id, interval_s, regions FROM monitors WHERE planned_slot = ? AND state = ?"
            " ORDER BY id",
            (slot_ms, _ACTIVE),
        )
        return [_due(row) for row in rows]

    @staticmethod
    async def _move_due(
        tx: Transaction,
        ids_by_interval: dict[int, list[int]],
        after_ms: int,
        *,
        planned_slot: int | None = None,
    ) -> None:
        """Move each monitor's next due time to its first at or after `after_ms` (due.next_due),
        one statement per interval and 500 monitors; with `planned_slot`, record it too."""
        slot_sql = "" if planned_slot is None else ", planned_slot = ?"
        slot_param = () if planned_slot is None else (planned_slot,)
        for interval_ms, ids in ids_by_interval.items():
            expression = _NEXT_DUE.format(iv=int(interval_ms))
            for chunk in chunks(list(ids)):
                await tx.execute(
                    f"UPDATE monitors SET next_due_at = {expression}{slot_sql}"
                    f" WHERE id IN ({marks(len(chunk))})",
                    (after_ms, after_ms, *slot_param, *chunk),
                )

    async def unchecked(self, due: Sequence[tuple[int, int]]) -> list[int]:
        """Of (monitor id, due time) pairs, the monitors with no check stored for that due time
        from any region, by id."""
        wanted = dict(due)
        stored = await stored_due_keys(self.fetch, sorted(wanted.items()))
        return sorted(set(wanted) - {monitor_id for monitor_id, _, _ in stored})

    async def due_now(self, monitor_ids: Sequence[int]) -> None:
        """Make these monitors due at once (the next slot plans them)."""
        async with self._transaction() as tx:
            for chunk in chunks(list(monitor_ids)):
                await tx.execute(
                    f"UPDATE monitors SET next_due_at = NULL WHERE id IN ({marks(len(chunk))})",
                    chunk,
                )

    # -- the planner's slots --
    async def record_plan(self, slot: PlanSlot, ids_by_interval: dict[int, list[int]]) -> bool:
        """Record a planned slot and, in the same transaction, mark its monitors (by interval, ms)
        planned in it: each is next due at its first due time at or after the slot's end (as
        due.next_due computes it), one statement per interval and 500 monitors. False, with
        nothing changed, when the slot was recorded already (planned twice)."""
        end = slot.slot_ms + SLOT_MS
        try:
            async with self._transaction() as tx:
                await tx.execute(
                    f"INSERT INTO plan_slots ({_SLOT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        slot.slot_ms,
                        slot.shards,
                        slot.monitors,
                        slot.planned_at,
                        slot.deadline_at,
                        slot.state.value,
                        slot.finished_at,
                    ),
                )
                await self._move_due(tx, ids_by_interval, end, planned_slot=slot.slot_ms)
        except self.DUPLICATE_KEY_ERRORS:
            return False
        return True

    async def open_plan_slots(self) -> list[PlanSlot]:
        """The slots still waiting for their shards, oldest first."""
        rows = await self.fetch(
            f"SELECT {_SLOT_COLUMNS} FROM plan_slots WHERE state = ? ORDER BY slot_ms",
            (SlotState.PLANNED.value,),
        )
        return [_slot(row) for row in rows]

    async def get_plan_slot(self, slot_ms: int) -> PlanSlot | None:
        rows = await self.fetch(
            f"SELECT {_SLOT_COLUMNS} FROM plan_slots WHERE slot_ms = ?", (slot_ms,)
        )
        return _slot(rows[0]) if rows else None

    async def finish_plan_slot(self, slot_ms: int, state: SlotState, finished_at: int) -> None:
        await self.execute(
            "UPDATE plan_slots SET state = ?, finished_at = ? WHERE slot_ms = ? AND state = ?",
            (state.value, finished_at, slot_ms, SlotState.PLANNED.value),
        )

    async def recent_plan_slots(self, limit: int) -> list[PlanSlot]:
        rows = await self.fetch(
            f"SELECT {_SLOT_COLUMNS} FROM plan_slots ORDER BY slot_ms DESC LIMIT ?", (limit,)
        )
        return [_slot(row) for row in rows]

    async def plan_slot_counts(self) -> dict[SlotState, int]:
        rows = await self.fetch("SELECT state, COUNT(*) FROM plan_slots GROUP BY state")
        counts = {state: 0 for state in SlotState}
        for state, count in rows:
            counts[SlotState(state)] = int(count)
        return counts


def _slot(row: Row) -> PlanSlot:
    return PlanSlot(
        slot_ms=int(row[0]),
        shards=int(row[1]),
        monitors=int(row[2]),
        planned_at=int(row[3]),
        deadline_at=int(row[4]),
        state=SlotState(row[5]),
        finished_at=None if row[6] is None else int(row[6]),
    )
