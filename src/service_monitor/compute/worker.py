"""The compute worker: runs a process's cycles, once (the ECS scheduled task) or when its schedule
says, and never two at once, neither in this process nor across processes, so an overrunning cycle
makes the next one skip."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence

from ..cache import SharedCounters, URLQueue
from ..config import Settings
from ..errors import StorageUnavailable, Unavailable
from ..metrics.compute import cycle_increments, publish_cycle
from ..models import CycleOutcome, CycleRecord
from ..stats import Stats
from ..storage import Storage
from .cycle import run_cycle
from .maintenance import maintain
from .prober import open_probe_sessions
from .report import CycleReport
from .sinks import SinkFactory
from .stopping import Stopping

log = logging.getLogger(__name__)

# Seconds past SHUTDOWN_GRACE_SECONDS that `stop` waits for a stopping cycle to store its last batch
# and record itself before it cancels it: both take milliseconds on a healthy database.
STOP_MARGIN_S = 10.0

# Seconds a stopping cycle's record may take: the database may be the reason we are stopping.
RECORD_AT_STOP_S = 3.0


class Compute:
    """Holds what a cycle is handed; each cycle opens its own probe sessions, so no connection
    or DNS answer outlives the cycle that made it. A cycle (compute/cycle.py) takes in the queued
    URLs, probes every active monitor once and hands each check to its sinks: the store, the
    metrics tally, then one fresh sink from each of `sink_factories` (compute/sinks.py), made for
    that cycle alone.

    `outcomes` counts this process's cycles by outcome (done, overran, skipped, failed, stopped);
    the store keeps the same record for every process (Storage.record_cycle), for metrics and
    /status. A cycle whose checks could not all be stored (database down for longer than
    WRITE_RETRY_SECONDS) is recorded as failed, with the checks it did store.
    After each cycle, still under the cycle lock, the finished hours are rolled up and retention
    applied (compute/maintenance.py); then, with `stats`, every statistic's cache entry is
    recomputed, so the API's requests are cache hits in steady state.
    With `counters` (the cache), each cycle that ran adds its probe counts and duration to them
    (service_monitor.metrics.compute), where the API's /metrics reads them.
    """

    def __init__(
        self,
        storage: Storage,
        queue: URLQueue,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        stats: Stats | None = None,
        counters: SharedCounters | None = None,
        sink_factories: Sequence[SinkFactory] = (),
    ) -> None:
        self.storage = storage
        self.sink_factories = tuple(sink_factories)
        self.counters = counters
        self.stats = stats
        self.queue = queue
        self.settings = settings
        self.clock = clock
        self.outcomes: Counter[CycleOutcome] = Counter()
        self._running = asyncio.Lock()
        self._task: asyncio.Task[object] | None = None
        self._stopping = Stopping()

    async def cycle(self) -> CycleReport | None:
        """Run one cycle, or skip it (None) while another runs in this process or any other.

        Raises Unavailable when the database or the cache cannot be used. Once `request_stop` or
        `stop` was called, no cycle starts (None).
        """
        if self._stopping.is_set:
            log.info("cycle not started: the compute is stopping")
            return None
        if self._running.locked():
            await self._skip("the previous cycle of this process is still running")
            return None
        async with self._running, self.storage.cycle_lock() as held:
            if not held:
                await self._skip("another compute process is running a cycle")
                return None
            self._task = asyncio.current_task()
            started = self.clock()
            try:
                async with open_probe_sessions(self.settings) as sessions:
                    report = await run_cycle(
                        self.storage,
                        self.queue,
                        sessions,
                        self.settings,
                        clock=self.clock,
                        stopping=self._stopping,
                        sinks=[make() for make in self.sink_factories],
                    )
            except Unavailable:
                await self._record(CycleRecord(started, self.clock(), CycleOutcome.FAILED))
                raise
            interval = self.settings.CYCLE_INTERVAL
            outcome = CycleOutcome.DONE
            if report.stopped:
                outcome = CycleOutcome.STOPPED
            elif report.lost:
                outcome = CycleOutcome.FAILED  # the line above says how many were lost, and why
            elif report.duration_s > interval:
                outcome = CycleOutcome.OVERRAN
                log.warning(
                    "cycle overran its %d s interval: it took %.0f s for %d URLs; cycles due"
                    " meanwhile were skipped, not stacked. Raise CONCURRENCY or CYCLE_INTERVAL",
                    interval,
                    report.duration_s,
                    report.probed,
                )
            await self._record(
                CycleRecord(
                    started_at=started,
                    finished_at=started + report.duration_s,
                    outcome=outcome,
                    probed=report.probed,
                    success=report.success,
                    fail=report.fail,
                    stored=report.stored,
                )
            )
            await self._publish(report, outcome)
            if self._stopping.is_set:
                return report  # rollups and the cache refresh are the next cycle's, not ours now
            await self._maintain()
            await self._refresh_stats()
            return report

    async def _maintain(self) -> None:
        try:
            await maintain(
                self.storage,
                self.clock(),
                rollup_days=self.settings.ROLLUP_RETENTION_DAYS,
                cycle_interval_s=self.settings.CYCLE_INTERVAL,
            )
        except StorageUnavailable as exc:  # the next cycle's maintenance catches up
            log.warning("rollups and retention not run after the cycle: %s", exc)

    async def _refresh_stats(self) -> None:
        if self.stats is None:
            return
        try:
            await self.stats.refresh()
        except StorageUnavailable as exc:  # the API recomputes on its next miss instead
            log.warning("statistics not refreshed after the cycle: %s", exc)

    async def _publish(self, report: CycleReport, outcome: CycleOutcome) -> None:
        """Add the cycle's counts to the shared counters; a failure only loses them (logged)."""
        if self.counters is None:
            return
        increments = cycle_increments(
            report.tally,
            outcome=outcome,
            duration_s=report.duration_s,
            stored=report.stored,
            lost=report.lost,
        )
        try:
            async with asyncio.timeout(RECORD_AT_STOP_S if self._stopping.is_set else None):
                await publish_cycle(self.counters, increments)
        except TimeoutError:
            log.warning("cycle metrics not recorded: the cache did not answer within the stop")

    async def _skip(self, why: str) -> None:
        log.warning("cycle skipped: %s", why)
        now = self.clock()
        await self._record(CycleRecord(now, now, CycleOutcome.SKIPPED))

    async def _record(self, record: CycleRecord) -> None:
        """Count the outcome here and in the store; a store that is down loses only the record."""
        self.outcomes[record.outcome] += 1
        limit = RECORD_AT_STOP_S if self._stopping.is_set else None
        try:
            async with asyncio.timeout(limit):
                await self.storage.record_cycle(record)
        except StorageUnavailable as exc:
            log.warning("cycle outcome %s not recorded: %s", record.outcome.value, exc)
        except TimeoutError:
            log.warning(
                "cycle outcome %s not recorded: the database did not answer within %g s of the"
                " stop",
                record.outcome.value,
                RECORD_AT_STOP_S,
            )

    async def scheduled_cycle(self) -> None:
        """The scheduler's job: a cycle that cannot run is logged, and the next one tries again."""
        try:
            await self.cycle()
        except Unavailable as exc:
            log.error("cycle failed: %s", exc)
        except Exception:
            log.exception("cycle failed")

    def request_stop(self, *, now: bool = False) -> None:
        """Start no cycle from now on, and have the running one start no new probe: those in
        flight get SHUTDOWN_GRACE_SECONDS (none with `now`), then the cycle stores what it has,
        records itself as stopped and returns. Safe to call from a signal handler's callback."""
        if now:
            self._stopping.abandon()
        else:
            self._stopping.request()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set

    async def stop(self) -> None:
        """Stop gracefully (see `request_stop`) and return once the running cycle has ended; one
        that has not ended STOP_MARGIN_S seconds after its grace period is cancelled (the checks it
        had not stored are logged as lost)."""
        self.request_stop()
        task = self._task
        if task is None or task.done() or task is asyncio.current_task():
            return
        limit = self.settings.SHUTDOWN_GRACE_SECONDS + STOP_MARGIN_S
        done, _ = await asyncio.wait({task}, timeout=limit)
        if not done:
            log.error("the stopping cycle did not end within %g s: cancelled", limit)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
