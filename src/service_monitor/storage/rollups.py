"""Hourly rollups: how a window's counts cost one row per monitor instead of one row per check.

A rollup row `(hour, monitor_id)` holds the monitor's *running totals* of every check made before
that hour boundary (success, fail, and the summed latency of its successes). For a window that
starts at `since`, with L the newest rolled-up hour and H the first rolled-up hour at or after
`since`:

    count(checked_at >= since) = rollup(L) - rollup(H)      (whole hours, one row each)
                               + raw checks from L on       (at most about an hour and a cycle)
                               + raw checks in [since, H)   (the partial hour at the old end)

which is exact to the check at both edges, whatever the window. The difference of two rollups is
also what an hour or a day of history holds, so one table serves both.

Rolled-up hours may have gaps (hours without checks are skipped, old ones pruned): H is then the
next one there is, and the raw part from `since` grows only by hours that had no checks.

The invariant that makes it exact: rollup(h) counts every stored check before h (and a stored
window, windows.py, every stored check within its bounds), however checks and rollups interleave.
`add_checks` adds a late check (one older than the newest rolled-up hour, or within a stored window)
to every rollup after it and every window holding it, in the transaction that stores it; and the
two take turns, so that each check is counted once, by whichever came second:

- each transaction that rolls up an hour or stores a window takes the rollups' lock exclusively
  before it reads anything (SQLStorage.LOCK_ROLLUPS), and holds it until it commits;
- each add_checks transaction takes it shared as its first statement (SHARE_ROLLUPS), before it
  inserts, and holds it until it commits.

So every add_checks transaction runs wholly before or wholly after every rollup transaction: the
rollup reads the checks of each one before it, committed; each one after it reads (after taking
the lock) the hour or window it made, and adds its late checks there. On MySQL the lock is a row
(window_bounds' span 0, which is no window): writers share it and never wait for each other,
a rollup waits for the writers in flight, and writers that come meanwhile queue behind it (an
add_checks waits at most one hour's rollup or one span's window). The lock is taken before the
insert, not after: a rollup's INSERT ... SELECT reads with shared locks, and would wait for the
rows of a writer waiting for it. On SQLite, BEGIN IMMEDIATE already makes every write transaction
take turns, and the lock statements are empty. Either way `roll_up` may run while any number of
processes write checks: nothing but the lock orders them (before the fleet, the compute called it
under the cycle lock, after its cycle's checks were written).

The top lists and the summary go one step further with stored windows (windows.py).

Hours are whole hours since the epoch (UTC), an INT; checks' times are milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Times are stored as whole milliseconds since the epoch (UTC) in BIGINT columns: exact to compare,
# the same in every dialect, and cheap to bucket by hour or day.
MS_PER_S = 1000


def to_ms(seconds: float) -> int:
    return round(seconds * MS_PER_S)


HOUR_MS = 3_600_000
DAY_HOURS = 24

STATUS_COLUMN = {1: "success", 0: "fail"}  # status code -> its running-total column


def hour_of(ms: int) -> int:
    """The hour a time falls in (floor)."""
    return ms // HOUR_MS


def first_hour_from(ms: int) -> int:
    """The first hour boundary at or after a time (ceiling)."""
    return -(-ms // HOUR_MS)


@dataclass(frozen=True, slots=True)
class Edges:
    """The rolled-up hours a window starting at `since_ms` uses: newest (L) and first after (H)."""

    since_ms: int
    newest: int
    first_after: int

    @property
    def whole_hours(self) -> bool:
        """False when the window lies within the newest hour: raw checks alone are cheaper."""
        return self.first_after < self.newest


EDGES_SQL = (
    "SELECT (SELECT MAX(hour) FROM rollup_hours),"
    " (SELECT MIN(hour) FROM rollup_hours WHERE hour >= ?)"
)


def edges(since_ms: int, row: Sequence[Any]) -> Edges | None:
    """The edges from EDGES_SQL's row, or None when no rollup lies in the window (raw only)."""
    newest, first_after = row
    if newest is None or first_after is None:
        return None
    return Edges(since_ms, int(newest), int(first_after))


def per_monitor_parts(since_ms: int, until_ms: int, found: Edges | None) -> tuple[str, list[Any]]:
    """A subquery of (monitor_id, s, f) rows whose sums per monitor are its success and fail
    counts in [since_ms, until_ms), for an `until_ms` at or after the newest rolled-up hour."""
    raw = (
        "SELECT monitor_id, SUM(status) AS s, SUM(1 - status) AS f FROM checks"
        " WHERE status IN (0, 1) AND checked_at >= ? AND checked_at < ?"
    )
    if found is None or not found.whole_hours:
        return raw + " GROUP BY monitor_id", [since_ms, until_ms]
    sql = (
        "SELECT monitor_id, success AS s, fail AS f FROM rollups WHERE hour = ?"
        " UNION ALL SELECT monitor_id, -success, -fail FROM rollups WHERE hour = ?"
        f" UNION ALL {raw} GROUP BY monitor_id"
        f" UNION ALL {raw} GROUP BY monitor_id"
    )
    params = [
        found.newest,
        found.first_after,
        found.newest * HOUR_MS,
        until_ms,
        since_ms,
        found.first_after * HOUR_MS,
    ]
    return sql, params


def top_parts(status: int, since_ms: int, found: Edges | None) -> tuple[str, list[Any]]:
    """A subquery of (monitor_id, n) rows whose sum per monitor is its count of `status` checks
    since `since_ms`."""
    raw = "SELECT monitor_id, COUNT(*) AS n FROM checks WHERE status = ? AND checked_at >= ?"
    if found is None or not found.whole_hours:
        return raw + " GROUP BY monitor_id", [status, since_ms]
    column = STATUS_COLUMN[status]
    sql = (
        f"SELECT monitor_id, {column} AS n FROM rollups WHERE hour = ?"
        f" UNION ALL SELECT monitor_id, -{column} FROM rollups WHERE hour = ?"
        f" UNION ALL {raw} GROUP BY monitor_id"
        f" UNION ALL {raw} AND checked_at < ? GROUP BY monitor_id"
    )
    params = [
        found.newest,
        found.first_after,
        status,
        found.newest * HOUR_MS,
        status,
        since_ms,
        found.first_after * HOUR_MS,
    ]
    return sql, params


def count_parts(
    since_ms: int, found: Edges | None, monitor_id: int | None
) -> tuple[str, list[Any]]:
    """A subquery of (s, f) rows whose sums are the success and fail counts since `since_ms`, of
    one monitor or of all."""
    if monitor_id is None:
        # The status prefix lets MySQL range-scan the (status, checked_at) index for both values.
        raw = "SELECT SUM(status) AS s, SUM(1 - status) AS f FROM checks WHERE status IN (0, 1)"
        rolled, raw_params, rolled_params = "", [], []
    else:
        raw = "SELECT SUM(status) AS s, SUM(1 - status) AS f FROM checks WHERE monitor_id = ?"
        rolled, raw_params, rolled_params = " AND monitor_id = ?", [monitor_id], [monitor_id]
    raw += " AND checked_at >= ?"
    if found is None or not found.whole_hours:
        return raw, [*raw_params, since_ms]
    sql = (
        f"SELECT success AS s, fail AS f FROM rollups WHERE hour = ?{rolled}"
        f" UNION ALL SELECT -success, -fail FROM rollups WHERE hour = ?{rolled}"
        f" UNION ALL {raw}"
        f" UNION ALL {raw} AND checked_at < ?"
    )
    params = [
        found.newest,
        *rolled_params,
        found.first_after,
        *rolled_params,
        *raw_params,
        found.newest * HOUR_MS,
        *raw_params,
        since_ms,
        found.first_after * HOUR_MS,
    ]
    return sql, params


# A new rollup: the previous one's running totals plus the checks made in between (an hour, or
# more when the hours between had no checks).
ROLL_UP_HOUR_SQL = (
    "INSERT INTO rollups (hour, monitor_id, success, fail, success_latency_ms)"
    " SELECT ?, monitor_id, SUM(s), SUM(f), SUM(l) FROM ("
    "  SELECT monitor_id, success AS s, fail AS f, success_latency_ms AS l"
    "  FROM rollups WHERE hour = ?"
    "  UNION ALL"
    "  SELECT monitor_id, status, 1 - status, status * latency_ms FROM checks"
    "  WHERE status IN (0, 1) AND checked_at >= ? AND checked_at < ?"
    " ) p GROUP BY monitor_id"
)

# The first check at or after a time, from the (status, checked_at) index, not a scan: roll_up
# jumps over hours without checks (their rollup would repeat the one before).
NEXT_CHECK_SQL = (
    "SELECT MIN(t) FROM ("
    " SELECT MIN(checked_at) AS t FROM checks WHERE status = 0 AND checked_at >= ?"
    " UNION ALL SELECT MIN(checked_at) FROM checks WHERE status = 1 AND checked_at >= ?"
    ") o"
)


@dataclass(frozen=True, slots=True)
class Late:
    """Checks of one monitor in one hour that arrived after that hour was rolled up."""

    monitor_id: int
    hour: int
    success: int
    fail: int
    success_latency_ms: int

    def key(self) -> tuple[int, int]:
        """The order add_checks adds late checks in, the same in every writer: by monitor, then
        hour (so two writers late for the same monitors never lock rollups in opposite orders)."""
        return self.monitor_id, self.hour


def late_checks(rows: Sequence[Sequence[Any]], newest_hour: int) -> list[Late]:
    """Group the (monitor_id, checked_at_ms, status, _, latency_ms, _) rows made before the newest
    rolled-up hour by monitor and hour: each group is added to every rollup after its hour."""
    limit_ms = newest_hour * HOUR_MS
    groups: dict[tuple[int, int], list[int]] = {}
    for row in rows:
        checked_ms = int(row[1])
        if checked_ms >= limit_ms:
            continue
        totals = groups.setdefault((int(row[0]), hour_of(checked_ms)), [0, 0, 0])
        if row[2] == 1:
            totals[0] += 1
            totals[2] += int(row[4])
        else:
            totals[1] += 1
    return [Late(m, h, s, f, lat) for (m, h), (s, f, lat) in groups.items()]
