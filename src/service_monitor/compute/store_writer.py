"""The sink that stores a cycle's checks, on its own because surviving a database that goes away
(batches kept and retried, losses counted, a commit whose answer was lost read back) is its own."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable

from ..errors import StorageUnavailable
from ..models import Check
from ..storage import CheckStore
from .stopping import Stopping

# The cycle's logger: its lines read as the cycle's, under the name operators already filter on.
log = logging.getLogger("service_monitor.compute.cycle")

# Seconds between two tries of a write the database refused: doubled each time up to the cap, so a
# short blip costs half a second and a long outage a try every 10 s.
WRITE_RETRY_FIRST_S = 0.5
WRITE_RETRY_MAX_S = 10.0


class StoreWriter:
    """The cycle's sink (compute/sinks.py) into the store: collects checks and writes them
    WRITE_BATCH_SIZE at a time, in order, in a task of its own, so probing never waits for the
    database.

    A batch the database refuses is kept and retried (0.5 s, then doubling up to 10 s) until
    WRITE_RETRY_SECONDS after the first refusal of the outage; the batches made meanwhile wait in
    memory behind it (a few dozen bytes per check, at most the cycle's URLs). When that window has
    passed, the batches waiting are counted lost and logged; a later batch gets one try. Stopping
    shortens the window to the grace period.
    """

    def __init__(
        self,
        storage: CheckStore,
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

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="check writer")

    def add(self, check: Check) -> None:
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
