"""The fleet's gauges on `/metrics`, read at scrape time: each region's shard stream (length, lag,
pending), the dead letters, and the planner's slots by state, so an operator can alert on workers
falling behind and autoscale on the lag."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from prometheus_client.core import GaugeMetricFamily, Metric

from ..due import SlotState
from ..errors import Unavailable
from ..storage import ScheduleStore


class StreamDepth(Protocol):
    length: int
    lag: int
    pending: int


@runtime_checkable
class ShardDepths(Protocol):
    """What a scrape reads of the fleet's queue (fleet/queue.py ShardQueue has it)."""

    async def depth(self, region: str) -> StreamDepth: ...

    async def dead_letters(self) -> int: ...


@dataclass(frozen=True)
class FleetReadings:
    streams: dict[str, tuple[int, int, int]] | None  # region -> (length, lag, pending)
    dead_letters: int | None
    slots: dict[SlotState, int]


async def read_fleet(
    store: ScheduleStore, queue: ShardDepths | None, regions: Sequence[str]
) -> FleetReadings:
    """The slots from the store (raises StorageUnavailable); the streams and dead letters from
    the queue, None without one or when it does not answer (the slots are still read)."""
    slots = await store.plan_slot_counts()
    if queue is None:
        return FleetReadings(None, None, slots)
    try:
        streams = {}
        for region in regions:
            depth = await queue.depth(region)
            streams[region] = (depth.length, depth.lag, depth.pending)
        dead = await queue.dead_letters()
    except Unavailable:
        return FleetReadings(None, None, slots)
    return FleetReadings(streams, dead, slots)


def fleet_families(readings: FleetReadings) -> Iterator[Metric]:
    slots = GaugeMetricFamily(
        "service_monitor_plan_slots",
        "The planner's one-minute slots recorded in the store, by state: planned (shards"
        " outstanding), done, failed (deadline passed with shards outstanding).",
        labels=["state"],
    )
    for state in SlotState:
        slots.add_metric([state.value], readings.slots.get(state, 0))
    yield slots
    if readings.streams is not None:
        families = {
            "length": GaugeMetricFamily(
                "service_monitor_shard_stream_length",
                "Shards in a region's stream: waiting for a worker or being worked on.",
                labels=["region"],
            ),
            "lag": GaugeMetricFamily(
                "service_monitor_shard_stream_lag",
                "Shards of a region no worker has taken yet: what the workers' autoscaling"
                " follows.",
                labels=["region"],
            ),
            "pending": GaugeMetricFamily(
                "service_monitor_shard_pending",
                "Shards taken by a worker and not yet acknowledged (a dead worker's are taken"
                " over after 2 x SHARD_DEADLINE).",
                labels=["region"],
            ),
        }
        for region, (length, lag, pending) in sorted(readings.streams.items()):
            families["length"].add_metric([region], length)
            families["lag"].add_metric([region], lag)
            families["pending"].add_metric([region], pending)
        yield from families.values()
    if readings.dead_letters is not None:
        yield GaugeMetricFamily(
            "service_monitor_shard_dead_letters",
            "Shards given up after MAX_DELIVERIES deliveries, kept in the dead-letter stream"
            " for a person to look at; above 0 deserves an alert.",
            value=readings.dead_letters,
        )
