"""One compute cycle: take in the queued URLs, probe every monitored URL once, store every result."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..cache import URLQueue
from ..config import Settings
from ..errors import StorageUnavailable
from ..models import Check, Status
from ..storage import Storage
from .plan import PlannedProbe, plan_probes
from .prober import ProbeSessions, probe
from .progress import Progress

log = logging.getLogger(__name__)

# Ids taken from the queue per claim; a burst of POSTs larger than this drains over several claims.
CLAIM_BATCH = 1000


@dataclass(frozen=True, slots=True)
class CycleReport:
    activated: int  # monitors that became active this cycle
    probed: int
    success: int
    fail: int
    stored: int
    duration_s: float
    last_start_s: float  # seconds from the cycle's start to the start of its last probe

    def line(self) -> str:
        return (
            f"cycle done: {self.probed} URLs probed, {self.success} success, {self.fail} fail,"
            f" {self.stored} checks stored, {self.activated} new monitors, {self.duration_s:.1f} s,"
            f" last probe started after {self.last_start_s:.1f} s"
        )


async def take_in_new_urls(storage: Storage, queue: URLQueue) -> int:
    """Make queued monitors active, durably, before acknowledging them on the queue.

    The database already holds every accepted URL as PENDING, so a queue that lost its contents
    (a Redis restart) loses nothing: the final sweep activates whatever is still pending.
    """
    activated = 0
    acked: set[int] = set()
    while True:
        claimed = await queue.claim(CLAIM_BATCH)
        fresh = [i for i in claimed if i not in acked]  # an id queued twice is taken in once
        if fresh:
            activated += await storage.activate(fresh)
        await queue.ack(claimed)
        acked.update(claimed)
        if not fresh:
            break
    swept = await storage.activate(None)
    if swept:
        log.info("activated %d pending monitors that had no queue entry", swept)
    return activated + swept


async def run_cycle(
    storage: Storage,
    queue: URLQueue,
    sessions: ProbeSessions,
    settings: Settings,
    *,
    clock: Callable[[], float] = time.time,
) -> CycleReport:
    """Run one cycle; raises StorageUnavailable or CacheUnavailable when it cannot run.

    CONCURRENCY workers pull from one planned order (hosts interleaved), so at most CONCURRENCY
    probes are in flight and no task is made per URL: memory stays flat however long the list is.
    The workers start one after another over RAMP_UP_SECONDS rather than in one burst. A host with
    more URLs than PER_HOST_LIMIT gets at most that many probes at once; the wait for a free slot
    happens before the probe's own TIMEOUT starts, so queueing behind a busy host is never a timeout.
    """
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
    writer = _BatchWriter(storage, settings.WRITE_BATCH_SIZE)
    progress = Progress(len(planned), settings.CYCLE_INTERVAL, clock=clock, started=started)
    host_slots = {p.host: asyncio.Semaphore(settings.PER_HOST_LIMIT) for p in planned if p.limited}
    todo: Iterator[PlannedProbe] = iter(planned)
    last_start = started

    async def run_probe(item: PlannedProbe) -> Check:
        nonlocal last_start
        last_start = clock()
        return await probe(
            sessions.pick(keep_alive=item.keep_alive, warm=item.warm),
            item.target,
            timeout=settings.TIMEOUT,
            max_body_bytes=settings.MAX_BODY_BYTES,
            max_redirects=settings.MAX_REDIRECTS,
            close_connection=item.warm and not item.keep_alive,
        )

    async def worker(delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        for item in todo:
            if item.limited:
                async with host_slots[item.host]:
                    check = await run_probe(item)
            else:
                check = await run_probe(item)
            await writer.add(check)
            progress.done_one()

    workers = min(settings.CONCURRENCY, len(planned))
    step = settings.RAMP_UP_SECONDS / workers if workers else 0.0  # seconds between worker starts
    try:
        async with asyncio.TaskGroup() as group:
            for number in range(workers):
                group.create_task(worker(number * step))
    except ExceptionGroup as group_error:
        # Probes never raise; what comes out is a failed write. Surface the first one as it is.
        raise group_error.exceptions[0] from None
    await writer.flush()
    report = CycleReport(
        activated=activated,
        probed=len(planned),
        success=writer.success,
        fail=writer.fail,
        stored=writer.stored,
        duration_s=clock() - started,
        last_start_s=last_start - started,
    )
    log.info(report.line())
    return report


class _BatchWriter:
    """Collects checks and writes them WRITE_BATCH_SIZE at a time while probing goes on."""

    def __init__(self, storage: Storage, batch_size: int) -> None:
        self._storage = storage
        self._batch_size = batch_size
        self._batch: list[Check] = []
        self._lock = asyncio.Lock()  # one write at a time, in order
        self.stored = 0
        self.success = 0
        self.fail = 0

    async def add(self, check: Check) -> None:
        if check.status is Status.SUCCESS:
            self.success += 1
        else:
            self.fail += 1
        self._batch.append(check)
        if len(self._batch) >= self._batch_size:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            batch, self._batch = self._batch, []
            if not batch:
                return
            try:
                await self._storage.add_checks(batch)
            except StorageUnavailable as exc:
                raise StorageUnavailable(f"{len(batch)} checks not stored: {exc}") from exc
            self.stored += len(batch)
