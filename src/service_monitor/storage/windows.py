"""Stored windows: what makes a top list or the summary read one row per monitor.

The hourly rollups (rollups.py) make a window cost two rows per monitor plus the raw checks of up
to an hour at each end; the top lists and the summary rank every monitor, so at 10,000 monitors
that is still too much for every request. So after each cycle, `roll_up` also stores each window's counts per monitor as they stand then
(`windows`, with their bounds and totals in `window_bounds`), starting half a cycle ahead of where
the window will start during the next cycle. A request then reads one row per monitor and corrects
it with the few raw checks between the stored bounds and its own: those stored since, and those
between the stored start and `since` (a few minutes of checks, not hours).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .rollups import HOUR_MS, STATUS_COLUMN


@dataclass(frozen=True, slots=True)
class WindowBounds:
    """A stored window: every monitor's counts of the checks in [from_ms, to_ms), and their sum."""

    span: int  # seconds: the length of the windows it serves (Span.seconds)
    to_ms: int  # also the generation: a window is stored anew, beside the previous one
    from_ms: int
    success: int
    fail: int

    def raw_corrections(self, since_ms: int) -> list[tuple[int, int, int]]:
        """(sign, from_ms, to_ms) raw ranges that turn this window into the one from `since_ms`
        on: the checks stored after it, and those between its start and `since_ms`."""
        ranges = [(1, self.to_ms, MAX_MS)]
        if since_ms < self.from_ms:
            ranges.append((1, since_ms, self.from_ms))
        elif since_ms > self.from_ms:
            ranges.append((-1, self.from_ms, since_ms))
        return ranges


MAX_MS = 2**62  # later than any check, so a range "from t on" has an upper bound like the others
# A stored window serves a request whose window starts at most this far from its own start;
# farther (the compute stopped, say), the hourly rollups answer instead.
WINDOW_REACH_MS = HOUR_MS


# A row of span LOCK_SPAN is no window: MySQL's rollups' lock (SQLStorage.LOCK_ROLLUPS).
LOCK_SPAN = 0
WINDOW_BOUNDS_SQL = (
    f"SELECT span, to_ms, from_ms, success, fail FROM window_bounds WHERE span <> {LOCK_SPAN}"
)


def nearest_window(bounds: Sequence[Sequence[Any]], since_ms: int) -> WindowBounds | None:
    """The newest stored window whose start is nearest `since_ms`, if one is near enough."""
    windows = [WindowBounds(*(int(v) for v in row)) for row in bounds]
    usable = [
        w for w in windows if abs(w.from_ms - since_ms) <= WINDOW_REACH_MS and since_ms < w.to_ms
    ]
    return min(usable, key=lambda w: (abs(w.from_ms - since_ms), -w.to_ms), default=None)


def top_parts_from_window(
    status: int, window: WindowBounds, since_ms: int
) -> tuple[str, list[Any]]:
    """Like top_parts, from a stored window and its raw corrections."""
    column = STATUS_COLUMN[status]
    sql = f"SELECT monitor_id, {column} AS n FROM windows WHERE span = ? AND to_ms = ?"
    params: list[Any] = [window.span, window.to_ms]
    for sign, start, end in window.raw_corrections(since_ms):
        sql += (
            f" UNION ALL SELECT monitor_id, {'-' if sign < 0 else ''}COUNT(*) FROM checks"
            " WHERE status = ? AND checked_at >= ? AND checked_at < ? GROUP BY monitor_id"
        )
        params += [status, start, end]
    return sql, params


def summary_parts_from_window(window: WindowBounds, since_ms: int) -> tuple[str, list[Any]]:
    """Like count_parts for all monitors, from a stored window's totals and raw corrections."""
    sql = "SELECT ? AS s, ? AS f"
    params: list[Any] = [window.success, window.fail]
    for sign, start, end in window.raw_corrections(since_ms):
        minus = "-" if sign < 0 else ""
        sql += (
            f" UNION ALL SELECT {minus}SUM(status), {minus}SUM(1 - status) FROM checks"
            " WHERE status IN (0, 1) AND checked_at >= ? AND checked_at < ?"
        )
        params += [start, end]
    return sql, params


def late_for_window(
    rows: Sequence[Sequence[Any]], window: WindowBounds
) -> dict[int, tuple[int, int]]:
    """The (success, fail) per monitor of the rows a stored window should have counted."""
    counts: dict[int, tuple[int, int]] = {}
    for row in rows:
        if window.from_ms <= int(row[1]) < window.to_ms:
            ok, bad = counts.get(int(row[0]), (0, 0))
            counts[int(row[0])] = (ok + 1, bad) if row[2] == 1 else (ok, bad + 1)
    return counts
