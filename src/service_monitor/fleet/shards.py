"""A shard, the fleet's unit of work: a few hundred monitors of one region, each with the due time
it is probed for, and its identity, so that planning a slot twice publishes nothing twice."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Shard:
    slot_ms: int  # the planner slot's start, ms since the epoch
    region: str  # probed from this region only
    items: tuple[tuple[int, int], ...]  # (monitor id, due time in ms), in due order
    deadline_ms: int  # by when the planner expects the slot's shards done, ms

    @property
    def id(self) -> str:
        """The same monitors of the same slot and region make the same id, whoever plans them."""
        ids = ",".join(str(monitor_id) for monitor_id, _ in sorted(self.items))
        digest = hashlib.sha256(f"{self.slot_ms}:{self.region}:{ids}".encode()).hexdigest()
        return digest[:24]

    def encode(self) -> dict[str, str]:
        """The stream entry's fields."""
        return {
            "id": self.id,
            "slot": str(self.slot_ms),
            "region": self.region,
            "deadline": str(self.deadline_ms),
            "items": json.dumps(self.items, separators=(",", ":")),
        }

    @classmethod
    def decode(cls, fields: Mapping[str, str]) -> Shard:
        """ValueError (or KeyError) for an entry that is not a shard."""
        items = tuple(
            (int(monitor_id), int(due)) for monitor_id, due in json.loads(fields["items"])
        )
        return cls(int(fields["slot"]), fields["region"], items, int(fields["deadline"]))


@dataclass(frozen=True, slots=True)
class Delivery:
    """A shard as a worker received it: its stream entry and how often it was delivered."""

    shard: Shard
    entry_id: str
    deliveries: int  # 1 the first time; more after takeovers


def make_shards(
    due: Sequence[tuple[int, int, tuple[str, ...]]],
    *,
    slot_ms: int,
    deadline_ms: int,
    size: int,
) -> list[Shard]:
    """Split (monitor id, due time, regions) into shards of at most `size` per region, each
    holding monitors due close together (due order, then id), so a worker waiting for the due
    times of one shard waits for one stretch of the slot."""
    by_region: dict[str, list[tuple[int, int]]] = {}
    for monitor_id, due_ms, regions in due:
        for region in regions:
            by_region.setdefault(region, []).append((monitor_id, due_ms))
    shards: list[Shard] = []
    for region in sorted(by_region):
        items = sorted(by_region[region], key=lambda item: (item[1], item[0]))
        for start in range(0, len(items), size):
            shards.append(Shard(slot_ms, region, tuple(items[start : start + size]), deadline_ms))
    return shards
