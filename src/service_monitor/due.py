"""When each monitor is due: a stable offset per monitor spreads its checks evenly over its
interval, and the planner's one-minute slots decide which of them a slot probes; no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass

# The planner's slot, ms: it plans every minute the monitors due in the minute to come.
SLOT_MS = 60_000
# A monitor's offset within its interval is (id * OFFSET_STEP_MS) mod the interval: consecutive ids
# land about 8 s apart (wrapping round), so every part of an interval gets its share of monitors
# and a monitor's checks keep the same phase however often the planner runs. The store computes
# the same expression in SQL (storage/schedule.py), so keep the two together.
OFFSET_STEP_MS = 7919
MIN_INTERVAL_S = 60
MAX_INTERVAL_S = 86_400


def offset_ms(monitor_id: int, interval_ms: int) -> int:
    return (monitor_id * OFFSET_STEP_MS) % interval_ms


def next_due(monitor_id: int, interval_ms: int, at_or_after_ms: int) -> int:
    """The monitor's first due time at or after `at_or_after_ms`."""
    return at_or_after_ms + (offset_ms(monitor_id, interval_ms) - at_or_after_ms) % interval_ms


def due_in_slot(monitor_id: int, interval_ms: int, slot_end_ms: int) -> int:
    """The due time a slot ending at `slot_end_ms` probes the monitor for: its last due time
    before the slot's end (earlier than the slot's start when the monitor is overdue, or new)."""
    return next_due(monitor_id, interval_ms, slot_end_ms) - interval_ms


def slot_of(now_ms: int) -> int:
    """The start of the slot (ms) that `now_ms` falls in."""
    return now_ms - now_ms % SLOT_MS


def split_regions(text: str | None) -> tuple[str, ...] | None:
    """A monitor's regions as stored (comma-joined), or None for every known region."""
    return None if text is None else tuple(text.split(","))


def join_regions(regions: tuple[str, ...] | list[str] | None) -> str | None:
    return None if regions is None else ",".join(sorted(set(regions)))


class SlotState(enum.StrEnum):
    PLANNED = "planned"  # published; waiting for its shards
    DONE = "done"  # every shard acknowledged; maintained
    FAILED = "failed"  # its deadline passed with shards outstanding; maintained all the same


@dataclass(frozen=True, slots=True)
class DueMonitor:
    """What the planner needs of a monitor due in a slot."""

    id: int
    interval_s: int | None  # None: the default interval (CYCLE_INTERVAL)
    regions: tuple[str, ...] | None  # None: every known region


@dataclass(frozen=True, slots=True)
class PlanSlot:
    slot_ms: int  # the slot's start, ms since the epoch
    shards: int
    monitors: int
    planned_at: int  # ms
    deadline_at: int  # ms: by then every shard should be acknowledged
    state: SlotState
    finished_at: int | None = None  # ms
