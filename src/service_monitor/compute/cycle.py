"""One compute cycle: take in the queued URLs, probe every monitored URL once, store every result.

A result the database will not take is kept in memory and retried (WRITE_RETRY_SECONDS) while
probing goes on; a cycle asked to stop (SIGTERM) starts no new probe, gives those in flight
SHUTDOWN_GRACE_SECONDS, and stores what it has. Either way the report counts what was stored and
what was lost, and why.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ..cache import URLQueue
from ..config import Settings
from ..errors import CacheUnavailable, StorageUnavailable
from ..metrics.compute import ProbeTally
from ..models import Check, Status
from ..storage import Storage
from .plan import PlannedProbe, plan_probes
from .prober import ProbeSessions, probe
from .progress import Progress

log = logging.getLogger(__name__)

# Ids taken from the queue per claim; a burst of POSTs larger than this drains over several claims.
CLAIM_BATCH = 1000

# Seconds between two tries of a write the database refused: doubled each time up to the cap, so a
# short blip costs half a second and a long outage a try every 10 s.
WRITE_RETRY_FIRST_S = 0.5
WRITE_RETRY_MAX_S = 10.0

# Seconds a stopping cycle gives its last writes at least, even when the grace period is over: a
# healthy database stores a batch in milliseconds.
FLUSH_AT_STOP_S = 2.0


class Stopping:
    """Asks a running cycle to stop: no new probe starts, those in flight get the grace period
    (SHUTDOWN_GRACE_SECONDS) to finish, then they are abandoned; `abandon` ends them now."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.requested = asyncio.Event()
        self.now = asyncio.Event()  # abandon the probes in flight without waiting out the grace
        self.requested_at: float | None = None  # monotonic seconds
        self._clock = clock

    def request(self) -> None:
        if self.requested_at is None:
            self.requested_at = self._clock()
        self.requested.set()

    def abandon(self) -> None:
        self.request()
        self.now.set()

    @property
    def is_set(self) -> bool:
        return self.requested.is_set()

    def deadline(self, grace_s: float) -> float | None:
        """Monotonic seconds by which the stopping cycle must be done, None while not stopping."""
        if self.requested_at is None:
            return None
        return self.requested_at if self.now.is_set() else self.requested_at + grace_s


@dataclass(frozen=True, slots=True)
class CycleReport:
    activated: int  # monitors that became active this cycle
    probed: int  # probes that finished, each a check (success + fail)
    success: int
    fail: int
    stored: int  # checks written to the store
    duration_s: float
    last_start_s: float  # seconds from the cycle's start to the start of its last probe
    planned: int | None = None  # URLs the cycle set out to probe (None: as many as probed)
    lost: int = 0  # checks the store did not take (database down past WRITE_RETRY_SECONDS)
    lost_why: str | None = None  # the last error of the write that gave up
    stopped: bool = False  # asked to stop (SIGTERM) before every URL was probed
    abandoned: int = 0  # probes in flight when the grace period ended, so with no check
    # the probes by status and cause, with their latencies: what the cycle adds to the metrics
    tally: ProbeTally = field(default_factory=ProbeTally, compare=False, repr=False)

    def line(self) -> str:
        planned = self.probed if self.planned is None else self.planned
        if self.stopped:
            head = f"cycle stopped: {self.probed} of {planned} URLs probed"
        else:
            head = f"cycle done: {self.probed} URLs probed"
        text = (
            f"{head}, {self.success} success, {self.fail} fail,"
            f" {self.stored} checks stored, {self.activated} new monitors, {self.duration_s:.1f} s,"
            f" last probe started after {self.last_start_s:.1f} s"
        )
        if self.abandoned:
            text += f"; {self.abandoned} probes abandoned after the grace period"
        if self.lost:
            text += f"; {self.lost} checks LOST: {self.lost_why}"
        return text


async def take_in_new_urls(storage: Storage, queue: URLQueue) -> int:
    """Make queued monitors active, durably, before acknowledging them on the queue.

    The database already holds every accepted URL as PENDING, so a queue that lost its contents
    (a Redis restart) loses nothing: the final sweep activates whatever is still pending. For the
    same reason a queue that is down only delays its acknowledgements: the sweep takes the URLs in,
    and the ids left on the queue are taken in again (a no-op) once it is back.
    """
    activated = 0
    acked: set[int] = set()
    try:
        while True:
            claimed = await queue.claim(CLAIM_BATCH)
            fresh = [i for i in claimed if i not in acked]  # an id queued twice is taken in once
            if fresh:
                activated += await storage.activate(fresh)
            await queue.ack(claimed)
            acked.update(claimed)
            if not fresh:
                break
    except CacheUnavailable as exc:
        log.warning("new URLs taken in from the database alone, the queue is down: %s", exc)
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
    writer = _BatchWriter(
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


class _BatchWriter:
    """Collects checks and writes them WRITE_BATCH_SIZE at a time, in order, in a task of its own,
    so probing never waits for the database.

    A batch the database refuses is kept and retried (0.5 s, then doubling up to 10 s) until
    WRITE_RETRY_SECONDS after the first refusal of the outage; the batches made meanwhile wait in
    memory behind it (a few dozen bytes per check, at most the cycle's URLs). When that window has
    passed, the batches waiting are counted lost and logged; a later batch gets one try. Stopping
    shortens the window to the grace period.
    """

    def __init__(
        self,
        storage: Storage,
        batch_size: int,
        retry_s: float,
        stopping: Stopping,
        grace_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._storage = storage
        self._batch_size = batch_size
        self._retry_s = retry_s
        self._stopping = stopping
        self._grace_s = grace_s
        self._clock = clock
        self._batch: list[Check] = []
        self._pending: collections.deque[list[Check]] = collections.deque()
        self._more = asyncio.Event()  # a batch was queued, or the writer was closed
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._failing_since: float | None = None  # monotonic s of the outage's first refusal
        self._retry_wait = WRITE_RETRY_FIRST_S
        self._unsure = False  # the first pending batch's last write failed: it may be stored
        self._writing = False  # a write is under way
        self.stored = 0
        self.lost = 0
        self.lost_why: str | None = None
        self.success = 0
        self.fail = 0
        self.tally = ProbeTally()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="check writer")

    def add(self, check: Check) -> None:
        if check.status is Status.SUCCESS:
            self.success += 1
        else:
            self.fail += 1
        self.tally.add(check)
        self._batch.append(check)
        if len(self._batch) >= self._batch_size:
            self._pending.append(self._batch)
            self._batch = []
            self._more.set()

    async def close(self, *, until: float | None = None) -> None:
        """Queue the last partial batch and wait until every batch is stored or counted lost; by
        `until` (monotonic s) at the latest, when what is still unwritten is counted lost."""
        if self._batch:
            self._pending.append(self._batch)
            self._batch = []
        self._closed = True
        self._more.set()
        if self._task is None:
            self.start()
        assert self._task is not None
        try:
            if until is None:
                await asyncio.shield(self._task)
                return
            await asyncio.wait_for(asyncio.shield(self._task), max(0.0, until - self._clock()))
        except TimeoutError:
            self.abort("the database did not take them before the stop's grace period ended")
        except asyncio.CancelledError:
            self.abort("the cycle was cancelled before they were written")
            raise

    def abort(self, why: str) -> None:
        """Stop writing now: the batches not yet stored are counted lost, for `why`."""
        if self._writing:
            self._unsure = True  # cancelled amid its write: that batch may have been committed
        if self._task is not None:
            self._task.cancel()
        if self._batch:
            self._pending.append(self._batch)
            self._batch = []
        self._give_up(why)

    async def _run(self) -> None:
        while True:
            if self._pending:
                await self._write_first()
                continue
            if self._closed:
                return
            self._more.clear()
            await self._more.wait()

    def _deadline(self) -> float:
        """Monotonic s until which a refused write is retried."""
        assert self._failing_since is not None
        deadline = self._failing_since + self._retry_s
        stop_by = self._stopping.deadline(self._grace_s)
        return deadline if stop_by is None else min(deadline, stop_by)

    async def _write_first(self) -> None:
        batch = self._pending[0]
        try:
            if self._unsure and await self._already_stored(batch):
                log.info(
                    "a batch of %d checks whose write failed had in fact been stored (the answer"
                    " was lost, not the commit): not written twice",
                    len(batch),
                )
            else:
                self._writing = True
                try:
                    await self._storage.add_checks(batch)
                finally:
                    self._writing = False
        except StorageUnavailable as exc:
            # The connection may have dropped after the commit and before its answer: the next
            # try first looks whether the batch is there, so a check is never stored twice.
            self._unsure = True
            await self._refused(exc)
            return
        self._unsure = False
        self._pending.popleft()
        self.stored += len(batch)
        if self._failing_since is not None:
            log.info(
                "the database takes checks again after %.0f s of refusals: those kept meanwhile"
                " are stored",
                self._clock() - self._failing_since,
            )
            self._failing_since = None
            self._retry_wait = WRITE_RETRY_FIRST_S

    async def _already_stored(self, batch: list[Check]) -> bool:
        """Whether `batch` was committed: it is one transaction, so its first check tells. A
        monitor is probed once per cycle, so that check, if stored, is among its newest."""
        first = batch[0]
        newest = await self._storage.recent_checks(first.monitor_id, 3)
        # Stored to the millisecond: equal within half of one.
        return any(
            abs(c.checked_at - first.checked_at) < 0.0006 and c.status is first.status
            for c in newest
        )

    async def _refused(self, exc: StorageUnavailable) -> None:
        now = self._clock()
        if self._failing_since is None:
            self._failing_since = now
            log.warning(
                "checks not stored, kept in memory and retried for up to %g s"
                " (WRITE_RETRY_SECONDS): %s",
                self._retry_s,
                exc,
            )
        left = self._deadline() - now
        if left <= 0:
            stop_by = self._stopping.deadline(self._grace_s)
            if stop_by is not None and stop_by < self._failing_since + self._retry_s:
                window = "before the stop's grace period (SHUTDOWN_GRACE_SECONDS) ended"
            else:
                window = f"within {self._retry_s:g} s (WRITE_RETRY_SECONDS)"
            self._give_up(f"the database did not take them {window}: {exc}")
            return
        wait = min(self._retry_wait, left)
        self._retry_wait = min(self._retry_wait * 2, WRITE_RETRY_MAX_S)
        end = now + wait
        if not self._stopping.is_set:
            # Woken early by a stop request: the grace period may end the window sooner.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.requested.wait(), wait)
        rest = min(end, self._deadline()) - self._clock()
        if rest > 0:
            await asyncio.sleep(rest)

    def _give_up(self, why: str) -> None:
        waiting = sum(len(batch) for batch in self._pending)
        if waiting and self._unsure:
            why += (
                f" (the first {len(self._pending[0])} may have been stored as the connection"
                " dropped: their answer was lost)"
            )
        self._pending.clear()
        self._unsure = False
        if not waiting:
            return
        self.lost += waiting
        self.lost_why = why
        log.error("%d checks lost: %s", waiting, why)
