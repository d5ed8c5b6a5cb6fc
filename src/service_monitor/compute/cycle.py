"""One compute cycle, the orchestration of the other compute modules: take in the queued URLs,
probe every monitored URL once, and hand every result to the cycle's sinks.

The sinks are the store (compute/store_writer.py), the metrics tally and any added by the caller.
A result the database will not take is kept in memory and retried (WRITE_RETRY_SECONDS) while
probing goes on; a cycle asked to stop (SIGTERM) starts no new probe, gives those in flight
SHUTDOWN_GRACE_SECONDS, and stores what it has. Either way the report counts what was stored and
what was lost, and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence

from ..cache import URLQueue
from ..config import Settings
from ..models import Check
from ..storage import Storage
from .intake import take_in_new_urls
from .plan import PlannedProbe, plan_probes
from .prober import ProbeSessions, probe
from .progress import Progress
from .report import CycleReport
from .sinks import CheckSink, Sinks, TallySink
from .stopping import Stopping
from .store_writer import StoreWriter

log = logging.getLogger(__name__)

# Seconds a stopping cycle gives its last writes at least, even when the grace period is over: a
# healthy database stores a batch in milliseconds.
FLUSH_AT_STOP_S = 2.0


async def run_cycle(
    storage: Storage,
    queue: URLQueue,
    sessions: ProbeSessions,
    settings: Settings,
    *,
    clock: Callable[[], float] = time.time,
    stopping: Stopping | None = None,
    sinks: Sequence[CheckSink] = (),
) -> CycleReport:
    """Run one cycle; raises StorageUnavailable when it cannot start (the database is down when
    it takes in new URLs or reads the targets). Once probing has started it runs to its end: checks
    the database will not take are retried in the background for WRITE_RETRY_SECONDS, and
    counted as lost after that.

    CONCURRENCY workers pull from one planned order (hosts interleaved), so at most CONCURRENCY
    probes are in flight and no task is made per URL: memory stays flat however long the list is.
    The workers start one after another over RAMP_UP_SECONDS rather than in one burst. A host with
    more URLs than PER_HOST_LIMIT gets at most that many probes at once; the wait for a free slot
    happens before the probe's own TIMEOUT starts, so queueing behind a busy host is never a timeout.

    Every check goes to the store writer, the metrics tally, then each of `sinks` (fresh ones, as
    a sink holds one cycle's state): each is started before the first probe and closed after the
    last, with the same deadline as the writes when stopping, or aborted when the cycle fails.

    With `stopping` requested, no new probe starts; probes in flight get SHUTDOWN_GRACE_SECONDS,
    and the writes still pending get what is left of it; the report says `stopped`.
    """
    stopping = stopping or Stopping()
    grace = settings.SHUTDOWN_GRACE_SECONDS
    started = clock()
    activated = await take_in_new_urls(storage, queue)
    targets = await storage.targets(now=started, cycle_s=settings.CYCLE_INTERVAL)
    planned = plan_probes(
        targets,
        per_host_limit=settings.PER_HOST_LIMIT,
        # A host coming up again within two rounds of the workers is probed while its connection
        # is still warm; further off, the connection would only sit idle holding a socket.
        reuse_window=2 * settings.CONCURRENCY,
    )
    del targets  # the plan holds them; one list of 100,000 is enough
    writer = StoreWriter(
        storage, settings.WRITE_BATCH_SIZE, settings.WRITE_RETRY_SECONDS, stopping, grace
    )
    tally = TallySink()
    fan_out = Sinks((writer, tally, *sinks))
    progress = Progress(len(planned), settings.CYCLE_INTERVAL, clock=clock, started=started)
    probing = _ProbeLoop(planned, sessions, settings, fan_out, progress, stopping, clock, started)
    fan_out.start()
    try:
        await probing.run()
    except BaseException as error:
        fan_out.abort("the cycle ended on an error before they were written")
        if isinstance(error, ExceptionGroup):
            # Probes and sinks never raise, and the writes happen in the writer's task: this is a
            # bug, shown as it is.
            raise error.exceptions[0] from None
        raise
    stop_by = stopping.deadline(grace)
    if stop_by is not None:
        # Stopping: the writes (and every other sink) get what is left of the grace period, and
        # at least a moment to store the last batch on a healthy database.
        stop_by = max(stop_by, time.monotonic() + FLUSH_AT_STOP_S)
    # Every sink done: every batch stored, or counted lost with the reason.
    await fan_out.close(until=stop_by)
    if probing.abandoned:
        log.warning(
            "%d probes in flight abandoned after the grace period: no check", probing.abandoned
        )
    probed = fan_out.success + fan_out.fail
    report = CycleReport(
        activated=activated,
        probed=probed,
        success=fan_out.success,
        fail=fan_out.fail,
        stored=writer.stored,
        duration_s=clock() - started,
        last_start_s=probing.last_start - started,
        planned=len(planned),
        lost=writer.lost,
        lost_why=writer.lost_why,
        stopped=stopping.is_set and probed < len(planned),
        abandoned=probing.abandoned,
        tally=tally,
    )
    if report.lost:
        log.error(report.line())
    else:
        log.info(report.line())
    return report


class _ProbeLoop:
    """The probing itself: workers pulling from the plan, each check handed to the sinks, and a
    watchdog that ends the probes still in flight when a stop's grace period is over."""

    def __init__(
        self,
        planned: Sequence[PlannedProbe],
        sessions: ProbeSessions,
        settings: Settings,
        sinks: Sinks,
        progress: Progress,
        stopping: Stopping,
        clock: Callable[[], float],
        started: float,
    ) -> None:
        self._todo: Iterator[PlannedProbe] = iter(planned)  # shared: each item goes to one worker
        self._workers = min(settings.CONCURRENCY, len(planned))
        self._host_slots = {
            p.host: asyncio.Semaphore(settings.PER_HOST_LIMIT) for p in planned if p.limited
        }
        self._sessions = sessions
        self._settings = settings
        self._sinks = sinks
        self._progress = progress
        self._stopping = stopping
        self._clock = clock
        self.last_start = started  # clock() at the start of the latest probe
        self.in_flight = 0
        self.abandoned = 0  # probes in flight when the grace period ended

    async def run(self) -> None:
        """Probe every planned URL, or until stopped; a worker's error is an ExceptionGroup."""
        workers = self._workers
        step = self._settings.RAMP_UP_SECONDS / workers if workers else 0.0  # s between starts
        watchdog: asyncio.Task[None] | None = None
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(self._worker(number * step)) for number in range(workers)
                ]
                watchdog = asyncio.create_task(self._abandon_after_grace(tasks))
        finally:
            if watchdog is not None:
                watchdog.cancel()

    async def _worker(self, delay: float) -> None:
        stopping = self._stopping
        if delay > 0:
            with contextlib.suppress(TimeoutError):  # the ramp-up ends early when stopping
                await asyncio.wait_for(stopping.requested.wait(), delay)
        # Looked up once per worker, not once per URL.
        add, done_one, host_slots = self._sinks.add, self._progress.done_one, self._host_slots
        for item in self._todo:
            if stopping.is_set:
                return
            if item.limited:
                async with host_slots[item.host]:
                    if stopping.is_set:
                        return
                    check = await self._probe(item)
            else:
                check = await self._probe(item)
            add(check)  # not awaited: a sink never holds the probing up
            done_one()

    async def _probe(self, item: PlannedProbe) -> Check:
        self.last_start = self._clock()
        self.in_flight += 1
        settings = self._settings
        try:
            return await probe(
                self._sessions.pick(keep_alive=item.keep_alive, warm=item.warm),
                item.target,
                timeout=settings.TIMEOUT,
                max_body_bytes=settings.MAX_BODY_BYTES,
                max_redirects=settings.MAX_REDIRECTS,
                close_connection=item.warm and not item.keep_alive,
            )
        finally:
            self.in_flight -= 1

    async def _abandon_after_grace(self, tasks: list[asyncio.Task[None]]) -> None:
        stopping = self._stopping
        grace = self._settings.SHUTDOWN_GRACE_SECONDS
        await stopping.requested.wait()
        log.warning(
            "cycle stopping: no new probes; %d in flight get up to %g s (SHUTDOWN_GRACE_SECONDS)",
            self.in_flight,
            0.0 if stopping.now.is_set() else grace,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.now.wait(), grace)
        self.abandoned = self.in_flight
        for task in tasks:
            task.cancel()  # a cancelled worker is not an error to its TaskGroup
