"""A monitor's checks bucketed by hour or day, from the hourly rollups: what the dashboard draws.

The rollups hold running totals at hour boundaries (rollups.py), so the checks in a bucket whose
two ends are rolled-up hours are the difference of two rows: a 30-day chart of daily buckets
reads 31 rows per monitor, whatever the cycle interval. A bucket with an end that is not rolled
up (the current hour, hours after the compute stopped rolling up, an hour without checks) is
counted from the raw checks of that bucket alone, so every bucket is exact to the check.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from ..models import Bucket
from .rollups import HOUR_MS

# A row of a bucket query: (bucket index, monitor_id, success, fail, success latency sum in ms).
BucketRow = Sequence[Any]


def hours_of(bounds_ms: Sequence[int]) -> list[int]:
    """The bounds that fall on an hour boundary, as hours: those the rollups may hold."""
    return [ms // HOUR_MS for ms in bounds_ms if ms % HOUR_MS == 0]


def rolled_pairs(bounds_ms: Sequence[int], rolled: set[int]) -> list[tuple[int, int, int]]:
    """(bucket index, start hour, end hour) of the buckets two rollups answer."""
    pairs = []
    for index, (start, end) in enumerate(pairwise(bounds_ms)):
        on_hours = start % HOUR_MS == 0 and end % HOUR_MS == 0
        if on_hours and start // HOUR_MS in rolled and end // HOUR_MS in rolled:
            pairs.append((index, start // HOUR_MS, end // HOUR_MS))
    return pairs


def raw_parts(
    bounds_ms: Sequence[int],
    answered: set[int],
    monitor_ids: Sequence[int],
    region: str | None = None,
) -> tuple[str, list[Any]] | None:
    """One UNION ALL query of BucketRows counting the raw checks of every bucket the rollups do not
    answer, from the (monitor_id, checked_at) index; None when they answer them all. With
    `region`, only the checks made from it (the rollups count every region: none is answered)."""
    marks = ", ".join("?" * len(monitor_ids))
    in_region = "" if region is None else " AND region = ?"
    parts: list[str] = []
    params: list[Any] = []
    for index, (start, end) in enumerate(pairwise(bounds_ms)):
        if index in answered:
            continue
        parts.append(
            "SELECT ? AS b, monitor_id, SUM(status), SUM(1 - status), SUM(status * latency_ms)"
            f" FROM checks WHERE monitor_id IN ({marks}) AND status IN (0, 1)"
            f" AND checked_at >= ? AND checked_at < ?{in_region} GROUP BY monitor_id"
        )
        params += [index, *monitor_ids, start, end]
        if region is not None:
            params.append(region)
    if not parts:
        return None
    return " UNION ALL ".join(parts), params


def from_rollups(
    rows: Sequence[Sequence[Any]], pairs: Sequence[tuple[int, int, int]]
) -> list[BucketRow]:
    """BucketRows from (hour, monitor_id, success, fail, success_latency_ms) rollup rows.

    A monitor without a row at a rolled-up hour had no check before it: its totals there are 0.
    """
    totals: dict[tuple[int, int], tuple[int, int, int]] = {}
    monitors: set[int] = set()
    for hour, monitor_id, success, fail, latency in rows:
        totals[int(hour), int(monitor_id)] = (int(success), int(fail), int(latency))
        monitors.add(int(monitor_id))
    zero = (0, 0, 0)
    out: list[BucketRow] = []
    for index, start, end in pairs:
        for monitor_id in monitors:
            s0, f0, l0 = totals.get((start, monitor_id), zero)
            s1, f1, l1 = totals.get((end, monitor_id), zero)
            if (s1 - s0) or (f1 - f0):
                out.append((index, monitor_id, s1 - s0, f1 - f0, l1 - l0))
    return out


def assemble(
    monitor_ids: Sequence[int], buckets: int, rows: Sequence[BucketRow]
) -> dict[int, list[Bucket]]:
    """Every monitor asked for, with `buckets` buckets each (empty ones where nothing was counted)."""
    out = {monitor_id: [Bucket()] * buckets for monitor_id in monitor_ids}
    for index, monitor_id, success, fail, latency in rows:
        series = out.get(int(monitor_id))
        if series is not None:
            series[int(index)] += Bucket(int(success or 0), int(fail or 0), int(latency or 0))
    return out
