"""After each cycle (or `service-monitor cleanup`): roll the finished hours up and apply retention,
so statistics stay fast and the store stays bounded however long the service runs."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from ..models import PruneReport
from ..storage import MaintenanceStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Maintained:
    hours_rolled_up: int
    pruned: PruneReport
    duration_s: float


async def maintain(
    storage: MaintenanceStore, now: float, *, rollup_days: int, cycle_interval_s: float
) -> Maintained:
    """Roll up to the hour before `now` (and store the windows for the cycle interval to come),
    then prune. Checks may be written meanwhile, by any number of workers: add_checks and each
    rollup take turns on the rollups' lock, so every check is counted once, by the rollup or as a
    late check (storage/rollups.py). A writer waits at most one hour's rollup or one window.

    Raises StorageUnavailable; nothing is lost then, the next run catches up.
    """
    started = time.perf_counter()
    # Half an interval ahead: requests until the next cycle find a stored window starting
    # at most half an interval from theirs (capped: a window must start within the hour).
    hours = await storage.roll_up(now, lead_s=min(cycle_interval_s, 3600) / 2)
    pruned = await storage.prune(now, rollup_days=rollup_days)
    done = Maintained(hours, pruned, time.perf_counter() - started)
    if hours or pruned.batches:
        log.info(
            "maintenance: %d hours rolled up; removed %d raw checks, %d rollup rows, %d cycle"
            " records, %d incidents and %d notifications in %d batches (longest %.3f s);"
            " %.2f s in all",
            hours,
            pruned.checks,
            pruned.rollups,
            pruned.cycles,
            pruned.incidents,
            pruned.notifications,
            pruned.batches,
            pruned.longest_batch_s,
            done.duration_s,
        )
    return done
