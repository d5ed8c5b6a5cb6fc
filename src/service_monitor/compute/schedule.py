"""Repeats the compute's cycles on an interval with APScheduler (`serve`, and the compute's
`--run-local`); on ECS an EventBridge rule starts one cycle per task instead."""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from .worker import Compute


def start_scheduler(compute: Compute, interval_s: float) -> AsyncIOScheduler:
    """Run a cycle now and then every `interval_s` seconds on the running event loop.

    A cycle due while the previous one still runs is started and skips at once (Compute.cycle
    records it), so an overrun is counted and logged by us; max_instances=2 lets that skip run
    beside the long cycle, and coalesce folds several missed runs into one.
    """
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        compute.scheduled_cycle,
        "interval",
        seconds=interval_s,
        next_run_time=datetime.now(UTC),
        max_instances=2,
        coalesce=True,
        misfire_grace_time=max(1, int(interval_s)),
        id="cycle",
    )
    scheduler.start()
    return scheduler
