"""A probing worker of the fleet (`service-monitor worker`, as many as wanted): takes its
region's shards from the queue, probes each monitor at its due time, stores the checks, and only
then acknowledges the shard, so a worker that dies leaves its shard to be taken over."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable

from ..compute.prober import ProbeSessions, open_probe_sessions, probe
from ..compute.stopping import Stopping
from ..config import Settings
from ..errors import Unavailable
from ..models import Check
from ..storage import Storage
from .queue import ShardQueue
from .shards import Delivery

log = logging.getLogger(__name__)

# Seconds between two tries to store a shard's checks while the database refuses them.
STORE_RETRY_S = 1.0
# Shards a worker may hold at once, per probe slot: the lanes' shards whose probes are starting,
# and those whose last probes (slow or hung targets, each holding a slot) are still in flight.
# A quarter: taking stalls only when a quarter of the slots wait on shards' last probes.
HELD_PER_SLOT = 0.25


def consumer_name() -> str:
    """Unique per process, readable in XINFO CONSUMERS: host, pid and a random part."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclasses.dataclass(slots=True)
class WorkerCounts:
    shards: int = 0  # acknowledged
    checks: int = 0  # handed to the store (repeats of a redelivered shard included)
    taken_over: int = 0  # shards taken over from a worker that went idle
    dead_lettered: int = 0
    unstored: int = 0  # shards left unacknowledged because their checks could not be stored


class FleetWorker:
    """Works shards of `settings.REGION` until stopped.

    `lanes` lanes take shards (each probe one of CONCURRENCY slots in all). A lane takes its next
    shard as soon as every probe of the one in hand has started, not when the last has finished:
    a shard waiting for one hung target (up to TIMEOUT) would otherwise hold its lane while the
    probe slots stand idle. A worker holds at most `max_held` shards at once (a quarter of
    CONCURRENCY, at least two per lane). Before taking new shards a lane takes over those left
    idle for 2 x SHARD_DEADLINE (their worker died); a shard delivered more than MAX_DELIVERIES
    times goes to the dead letters instead. While it works a shard, the worker renews its lease
    every SHARD_DEADLINE / 2, so a slow shard of a live worker is never taken over. With
    `wait_for_due`, each monitor is probed at its due time (spread over the minute by its
    offset), else at once (a one-shot that works a slot through).
    """

    def __init__(
        self,
        storage: Storage,
        queue: ShardQueue,
        settings: Settings,
        *,
        consumer: str | None = None,
        clock: Callable[[], float] = time.time,
        wait_for_due: bool = True,
        lanes: int | None = None,
    ) -> None:
        self.storage = storage
        self.queue = queue
        self.settings = settings
        self.consumer = consumer or consumer_name()
        self.clock = clock
        self.wait_for_due = wait_for_due
        self.lanes = lanes or max(2, 2 * -(-settings.CONCURRENCY // settings.SHARD_SIZE))
        self.region = settings.REGION
        self.counts = WorkerCounts()
        self.stopping = Stopping()
        self._slots = asyncio.Semaphore(settings.CONCURRENCY)
        self.max_held = max(2 * self.lanes, int(settings.CONCURRENCY * HELD_PER_SLOT))
        self._room = asyncio.Semaphore(self.max_held)  # shards held at once
        self._storing = asyncio.Lock()
        self._held: dict[str, Delivery] = {}
        self._lease_s = 2 * settings.SHARD_DEADLINE

    async def run(self, *, until: Callable[[], bool] | None = None) -> None:
        """Work until `stopping` is requested (or `until()` is true, checked between shards)."""
        async with open_probe_sessions(self.settings) as sessions:
            renewer = asyncio.create_task(self._renew_leases())
            try:
                async with asyncio.TaskGroup() as group:
                    for _ in range(self.lanes):
                        group.create_task(self._lane(sessions, group, until))
            finally:
                renewer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewer

    async def _lane(
        self,
        sessions: ProbeSessions,
        group: asyncio.TaskGroup,
        until: Callable[[], bool] | None,
    ) -> None:
        while not self.stopping.is_set and not (until is not None and until()):
            await self._room.acquire()
            try:
                deliveries = await self.queue.take_over(
                    self.region, self.consumer, self._lease_s, 1
                )
                if deliveries:
                    self.counts.taken_over += 1
                else:
                    deliveries = await self.queue.take(self.region, self.consumer, 1, 1.0)
            except Unavailable as exc:
                self._room.release()
                log.warning("worker %s: no shard taken: %s", self.consumer, exc)
                await self._pause(STORE_RETRY_S)
                continue
            if not deliveries:
                self._room.release()
                continue
            for delivery in deliveries:  # one (count=1): it holds the room taken above
                started = asyncio.Event()
                group.create_task(self._work_and_release(sessions, delivery, started))
                await started.wait()  # every probe of it started (or it ended): take the next

    async def _work_and_release(
        self, sessions: ProbeSessions, delivery: Delivery, started: asyncio.Event
    ) -> None:
        try:
            await self._work(sessions, delivery, started)
        finally:
            started.set()
            self._room.release()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.requested.wait(), seconds)

    async def _work(
        self, sessions: ProbeSessions, delivery: Delivery, started: asyncio.Event | None = None
    ) -> None:
        shard = delivery.shard
        if delivery.deliveries > self.settings.MAX_DELIVERIES:
            reason = f"delivered {delivery.deliveries} times (MAX_DELIVERIES)"
            log.error("shard %s of slot %d dead-lettered: %s", shard.id, shard.slot_ms, reason)
            await self.queue.dead_letter(delivery, reason)
            self.counts.dead_lettered += 1
            return
        self._held[delivery.entry_id] = delivery
        try:
            checks = await self._probe_all(sessions, delivery, started)
            if checks is None:
                return  # stopping: left pending, another worker takes it over
            if not await self._store(checks, delivery):
                self.counts.unstored += 1
                return  # left pending: taken over (and stored once, by key) after the lease
            await self.queue.ack(delivery)
            self.counts.shards += 1
            self.counts.checks += len(checks)
        except Unavailable as exc:
            log.warning(
                "worker %s: shard %s left to be taken over: %s", self.consumer, shard.id, exc
            )
        finally:
            self._held.pop(delivery.entry_id, None)

    async def _probe_all(
        self, sessions: ProbeSessions, delivery: Delivery, started: asyncio.Event | None = None
    ) -> list[Check] | None:
        """Probe the shard's monitors, each at its due time; `started` is set once every probe
        has its slot. None when stopping left some unprobed."""
        shard = delivery.shard
        due_of = dict(shard.items)
        targets = await self.storage.targets_of([monitor_id for monitor_id, _ in shard.items])
        targets.sort(key=lambda target: due_of[target.monitor_id])
        settings = self.settings
        checks: list[Check] = []
        waiting = len(targets)  # probes that have not got their slot yet
        if started is not None and waiting == 0:
            started.set()

        async def one(target_index: int) -> None:
            nonlocal waiting
            target = targets[target_index]
            due_ms = due_of[target.monitor_id]
            if self.wait_for_due:
                wait_s = due_ms / 1000 - self.clock()
                if wait_s > 0:
                    await self._pause(wait_s)
                    if self.stopping.is_set:
                        return
            async with self._slots:
                waiting -= 1
                if started is not None and waiting == 0:
                    started.set()
                check = await probe(
                    sessions.pick(keep_alive=False, warm=False),
                    target,
                    timeout=settings.TIMEOUT,
                    max_body_bytes=settings.MAX_BODY_BYTES,
                    max_redirects=settings.MAX_REDIRECTS,
                )
            checks.append(dataclasses.replace(check, region=shard.region, due_at_ms=due_ms))

        async with asyncio.TaskGroup() as group:
            for index in range(len(targets)):
                group.create_task(one(index))
        if self.stopping.is_set and len(checks) < len(targets):
            return None
        return checks

    async def _store(self, checks: list[Check], delivery: Delivery) -> bool:
        """Store the checks, retrying for SHARD_DEADLINE while the database refuses them."""
        give_up = time.monotonic() + self.settings.SHARD_DEADLINE
        while True:
            try:
                # One shard's checks at a time: concurrent add_checks of new monitors deadlock
                # on monitor_health (InnoDB gap locks), each deadlock costing STORE_RETRY_S.
                async with self._storing:
                    await self.storage.add_checks(checks)
                return True
            except Unavailable as exc:
                if time.monotonic() >= give_up or self.stopping.is_set:
                    log.error(
                        "shard %s: %d checks not stored, left for another worker: %s",
                        delivery.shard.id,
                        len(checks),
                        exc,
                    )
                    return False
                await self._pause(STORE_RETRY_S)

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.settings.SHARD_DEADLINE / 2)
            held = [d.entry_id for d in self._held.values()]
            try:
                await self.queue.renew(self.region, self.consumer, held)
            except Unavailable as exc:
                log.warning("worker %s: leases not renewed: %s", self.consumer, exc)
