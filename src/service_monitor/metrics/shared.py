"""What a `/metrics` scrape shows beside the API's own requests: what other processes left in shared
places, read at scrape time (the compute's counters in the cache, the queue's depth, the cycles the
store has recorded), and the text exposition of it all.

A shared place that cannot be read leaves its metrics out and says so in
`service_monitor_metrics_source_up{source=...} 0`; the scrape itself still answers 200.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..cache import SharedCounters, URLQueue
from ..errors import Unavailable
from ..models import CycleTotals
from ..storage import CycleStore, HealthStore, OutboxStore, ScheduleStore
from .alerting import AlertingReadings, alerting_families, read_alerting
from .compute import compute_families
from .fleet import FleetReadings, ShardDepths, fleet_families, read_fleet
from .multiproc import MULTIPROC_ENV

log = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds each shared place has to answer a scrape: Prometheus's own timeout is 10 s by default.
SOURCE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class SharedReadings:
    """What the shared places held at scrape time; None where one could not be read."""

    counters: dict[str, float] | None
    queue_depth: int | None
    cycles: CycleTotals | None
    alerting: AlertingReadings | None = None
    alerting_asked: bool = False  # a scrape of the API reads alerting's gauges from the store
    fleet: FleetReadings | None = None


async def _read(what: str, reading: Awaitable[T]) -> T | None:
    try:
        async with asyncio.timeout(SOURCE_TIMEOUT_S):
            return await reading
    except (Unavailable, TimeoutError) as exc:
        log.debug("metrics: %s not read: %s", what, exc or "timed out")
        return None


class SharedCache(SharedCounters, URLQueue, Protocol):
    """The cache as a scrape reads it: the compute's counters and the queue's depth."""


class AlertingStore(HealthStore, OutboxStore, Protocol):
    """The store as alerting's gauges read it (metrics/alerting.py)."""


async def read_shared(
    cache: SharedCache,
    store: CycleStore,
    alerting: AlertingStore | None = None,
    *,
    schedule: ScheduleStore | None = None,
    shards: ShardDepths | None = None,
    regions: Sequence[str] = (),
) -> SharedReadings:
    counters, depth, cycles, alert_readings, fleet = await asyncio.gather(
        _read("compute counters", cache.read_counters()),
        _read("queue depth", cache.depth()),
        _read("cycle totals", store.cycle_totals()),
        _read("alerting", read_alerting(alerting, alerting)) if alerting else _nothing(),
        _read("fleet", read_fleet(schedule, shards, regions)) if schedule else _nothing(),
    )
    return SharedReadings(counters, depth, cycles, alert_readings, alerting is not None, fleet)


async def _nothing() -> None:
    return None


class _SharedCollector(Collector):
    def __init__(self, shared: SharedReadings) -> None:
        self._shared = shared

    def collect(self) -> Iterator[Metric]:
        shared = self._shared
        up = GaugeMetricFamily(
            "service_monitor_metrics_source_up",
            "1 when this scrape could read the shared place (cache: compute counters and queue"
            " depth; store: cycles and alerting), 0 when its metrics are missing from this scrape.",
            labels=["source"],
        )
        cache_read = shared.counters is not None and shared.queue_depth is not None
        up.add_metric(["cache"], 1.0 if cache_read else 0.0)
        store_read = shared.cycles is not None and (
            shared.alerting is not None or not shared.alerting_asked
        )
        up.add_metric(["store"], 1.0 if store_read else 0.0)
        yield up
        if shared.counters is not None:
            yield from compute_families(shared.counters)
        if shared.queue_depth is not None:
            yield GaugeMetricFamily(
                "service_monitor_queue_depth",
                "New URLs queued by the API that no compute cycle has taken in yet.",
                value=shared.queue_depth,
            )
        if shared.alerting is not None:
            yield from alerting_families(shared.alerting)
        if shared.fleet is not None:
            yield from fleet_families(shared.fleet)
        if shared.cycles is not None:
            cycles = CounterMetricFamily(
                "service_monitor_cycles",
                "Compute cycles recorded in the store, by outcome (done, overran, skipped,"
                " failed, stopped); records older than ROLLUP_RETENTION_DAYS are pruned.",
                labels=["outcome"],
            )
            for outcome, count in sorted(shared.cycles.by_outcome.items()):
                cycles.add_metric([outcome.value], count)
            yield cycles
            if shared.cycles.last_success_at is not None:
                yield GaugeMetricFamily(
                    "service_monitor_last_successful_cycle_timestamp_seconds",
                    "When the newest done or overran cycle ended (seconds since the epoch);"
                    " alert on time() minus this to learn that monitoring itself stopped.",
                    value=shared.cycles.last_success_at,
                )


def render(own_registry: CollectorRegistry, shared: SharedReadings) -> bytes:
    """The text exposition: the request metrics (merged across processes under
    PROMETHEUS_MULTIPROC_DIR, else this process's with its process_* and python_* metrics), then
    the shared places' metrics."""
    if os.environ.get(MULTIPROC_ENV):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        own = generate_latest(merged)
    else:
        own = generate_latest(own_registry) + generate_latest(REGISTRY)
    shared_registry = CollectorRegistry()
    shared_registry.register(_SharedCollector(shared))
    return own + generate_latest(shared_registry)
