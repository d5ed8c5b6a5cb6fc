"""The queue of shards in process, for the embedded default (one process, no Redis): the same
contract as Redis Streams (takeover after idleness, delivery counts, dead letters, a count per
slot), so the planner and the worker run unchanged on it."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .queue import Depth
from .shards import Delivery, Shard


@dataclass(slots=True)
class _Taken:
    shard: Shard
    consumer: str
    since: float  # monotonic seconds of the last delivery or renewal
    deliveries: int


class LocalShardQueue:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._ids = itertools.count(1)
        self._published: set[str] = set()
        self._waiting: dict[str, deque[tuple[str, Shard]]] = {}
        self._taken: dict[str, dict[str, _Taken]] = {}  # region -> entry id -> taken
        self._slots: dict[int, int] = {}
        self._dead: list[tuple[Shard, str]] = []
        self._arrived = asyncio.Condition()

    async def publish(self, shards: Sequence[Shard]) -> int:
        new = 0
        for shard in shards:
            if shard.id in self._published:
                continue
            self._published.add(shard.id)
            entry_id = f"{next(self._ids)}-0"
            self._waiting.setdefault(shard.region, deque()).append((entry_id, shard))
            self._slots[shard.slot_ms] = self._slots.get(shard.slot_ms, 0) + 1
            new += 1
        if new:
            async with self._arrived:
                self._arrived.notify_all()
        return new

    async def take(self, region: str, consumer: str, count: int, block_s: float) -> list[Delivery]:
        waiting = self._waiting.setdefault(region, deque())
        if not waiting and block_s > 0:
            async with self._arrived:
                try:
                    await asyncio.wait_for(self._arrived.wait_for(lambda: bool(waiting)), block_s)
                except TimeoutError:
                    return []
        deliveries: list[Delivery] = []
        taken = self._taken.setdefault(region, {})
        while waiting and len(deliveries) < count:
            entry_id, shard = waiting.popleft()
            taken[entry_id] = _Taken(shard, consumer, self._clock(), 1)
            deliveries.append(Delivery(shard, entry_id, 1))
        return deliveries

    async def take_over(
        self, region: str, consumer: str, idle_s: float, count: int
    ) -> list[Delivery]:
        now = self._clock()
        deliveries: list[Delivery] = []
        for entry_id, taken in self._taken.get(region, {}).items():
            if len(deliveries) >= count:
                break
            if now - taken.since >= idle_s:
                taken.consumer, taken.since = consumer, now
                taken.deliveries += 1
                deliveries.append(Delivery(taken.shard, entry_id, taken.deliveries))
        return deliveries

    async def renew(self, region: str, consumer: str, entry_ids: Sequence[str]) -> None:
        taken = self._taken.get(region, {})
        now = self._clock()
        for entry_id in entry_ids:
            if entry_id in taken:
                taken[entry_id].consumer, taken[entry_id].since = consumer, now

    def _finish(self, delivery: Delivery) -> bool:
        taken = self._taken.get(delivery.shard.region, {})
        if taken.pop(delivery.entry_id, None) is None:
            return False
        slot = delivery.shard.slot_ms
        if slot in self._slots:
            self._slots[slot] -= 1
        return True

    async def ack(self, delivery: Delivery) -> bool:
        return self._finish(delivery)

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        if self._finish(delivery):
            self._dead.append((delivery.shard, reason))

    async def outstanding(self, slot_ms: int) -> int | None:
        return self._slots.get(slot_ms)

    async def forget_slot(self, slot_ms: int) -> None:
        self._slots.pop(slot_ms, None)

    async def depth(self, region: str) -> Depth:
        lag = len(self._waiting.get(region, ()))
        pending = len(self._taken.get(region, {}))
        return Depth(length=lag + pending, lag=lag, pending=pending)

    async def dead_letters(self) -> int:
        return len(self._dead)

    async def close(self) -> None:
        pass
