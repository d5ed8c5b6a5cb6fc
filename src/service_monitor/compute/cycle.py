"""One compute cycle, the orchestration of the other compute modules: take in the queued URLs,
probe every monitored URL once, store every result.

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
from collections.abc import Callable, Iterator

from ..cache import URLQueue
from ..config import Settings
from ..models import Check
from ..storage import Storage
from .intake import take_in_new_urls
from .plan import PlannedProbe, plan_probes
from .prober import ProbeSessions, probe
from .progress import Progress
from .report import CycleReport
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

    With `stopping` requested, no new probe starts; probes in flight get SHUTDOWN_GRACE_SECONDS,
    and the writes still pending get what is left of it; the report says `stopped`.
    """
    stopping = stopping or Stopping()
    grace = settings.SHUTDOWN_GRACE_SECONDS
    started = clock()
    activated = await take_in_new_urls(storage, queue)
    targets = await storage.targets()
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
    progress = Progress(len(planned), settings.CYCLE_INTERVAL, clock=clock, started=started)
    host_slots = {p.host: asyncio.Semaphore(settings.PER_HOST_LIMIT) for p in planned if p.limited}
    todo: Iterator[PlannedProbe] = iter(planned)
    last_start = started
    in_flight = 0

    async def run_probe(item: PlannedProbe) -> Check:
        nonlocal last_start, in_flight
        last_start = clock()
        in_flight += 1
        try:
            return await probe(
                sessions.pick(keep_alive=item.keep_alive, warm=item.warm),
                item.target,
                timeout=settings.TIMEOUT,
                max_body_bytes=settings.MAX_BODY_BYTES,
                max_redirects=settings.MAX_REDIRECTS,
                close_connection=item.warm and not item.keep_alive,
            )
        finally:
            in_flight -= 1

    async def worker(delay: float) -> None:
        if delay > 0:
            with contextlib.suppress(TimeoutError):  # the ramp-up ends early when stopping
                await asyncio.wait_for(stopping.requested.wait(), delay)
        for item in todo:
            if stopping.is_set:
                return
            if item.limited:
                async with host_slots[item.host]:
                    if stopping.is_set:
                        return
                    check = await run_probe(item)
            else:
                check = await run_probe(item)
            writer.add(check)  # not awaited: the writes never hold the probing up
            progress.done_one()

    abandoned = 0

    async def abandon_after_grace(tasks: list[asyncio.Task[None]]) -> None:
        nonlocal abandoned
        await stopping.requested.wait()
        log.warning(
            "cycle stopping: no new probes; %d in flight get up to %g s (SHUTDOWN_GRACE_SECONDS)",
            in_flight,
            0.0 if stopping.now.is_set() else grace,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.now.wait(), grace)
        abandoned = in_flight
        for task in tasks:
            task.cancel()  # a cancelled worker is not an error to its TaskGroup

    workers = min(settings.CONCURRENCY, len(planned))
    step = settings.RAMP_UP_SECONDS / workers if workers else 0.0  # seconds between worker starts
    writer.start()
    watchdog: asyncio.Task[None] | None = None
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(worker(number * step)) for number in range(workers)]
            watchdog = asyncio.create_task(abandon_after_grace(tasks))
    except BaseException as error:
        writer.abort("the cycle ended on an error before they were written")
        if isinstance(error, ExceptionGroup):
            # Probes never raise and writes happen in the writer: this is a bug, shown as it is.
            raise error.exceptions[0] from None
        raise
    finally:
        if watchdog is not None:
            watchdog.cancel()
    stop_by = stopping.deadline(grace)
    if stop_by is not None:
        # Stopping: the writes get what is left of the grace period, and at least a moment to
        # store the last batch on a healthy database.
        stop_by = max(stop_by, time.monotonic() + FLUSH_AT_STOP_S)
    await writer.close(until=stop_by)  # every batch stored, or counted lost with the reason
    if abandoned:
        log.warning("%d probes in flight abandoned after the grace period: no check", abandoned)
    report = CycleReport(
        activated=activated,
        probed=writer.success + writer.fail,
        success=writer.success,
        fail=writer.fail,
        stored=writer.stored,
        duration_s=clock() - started,
        last_start_s=last_start - started,
        planned=len(planned),
        lost=writer.lost,
        lost_why=writer.lost_why,
        stopped=stopping.is_set and writer.success + writer.fail < len(planned),
        abandoned=abandoned,
        tally=writer.tally,
    )
    if report.lost:
        log.error(report.line())
    else:
        log.info(report.line())
    return report
