"""The queue of shards between the planner and the workers: one small interface with two backends,
Redis Streams for a fleet (redis_streams.py) and an in-process one for the embedded default
(local.py). The contract tests run both."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .shards import Delivery, Shard


@dataclass(frozen=True, slots=True)
class Depth:
    """How far behind a region's workers are."""

    length: int  # shards in the stream: waiting and being worked on
    lag: int  # shards no worker has taken yet
    pending: int  # shards taken and not yet acknowledged


class ShardQueue(Protocol):
    async def publish(self, shards: Sequence[Shard]) -> int:
        """Publish the shards not published before (by Shard.id); returns how many were new.
        Each counts as outstanding for its slot until it is acknowledged or dead-lettered."""

    async def take(self, region: str, consumer: str, count: int, block_s: float) -> list[Delivery]:
        """Up to `count` shards of `region` no worker has taken, waiting up to `block_s`."""

    async def take_over(
        self, region: str, consumer: str, idle_s: float, count: int
    ) -> list[Delivery]:
        """Up to `count` shards another worker took and left idle `idle_s` or longer (it died):
        they are this consumer's now, each delivery counted."""

    async def renew(self, region: str, consumer: str, entry_ids: Sequence[str]) -> None:
        """Tell the queue these shards are still being worked on (their idle time starts again)."""

    async def ack(self, delivery: Delivery) -> bool:
        """The shard is done: its checks are stored. False when it was done already."""

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Give the shard up (delivered too often), keeping it with the reason for a person."""

    async def outstanding(self, slot_ms: int) -> int | None:
        """Shards of the slot neither acknowledged nor dead-lettered; None when the queue knows
        nothing of the slot (its state was lost, e.g. Redis restarted), 0 when all are done."""

    async def forget_slot(self, slot_ms: int) -> None:
        """Drop the slot's count once the planner has finished it."""

    async def depth(self, region: str) -> Depth: ...

    async def dead_letters(self) -> int:
        """Shards in the dead-letter stream."""

    async def close(self) -> None: ...
