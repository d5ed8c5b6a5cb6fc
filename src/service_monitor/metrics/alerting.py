"""Alerting's gauges on `/metrics`, read from the store at scrape time like the cycles: incidents
open, monitors by health, and the outbox's notifications by channel type and state, so an operator
can alert on a queue that stops draining."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric

from ..alerts import ChannelType, Delivery, Health
from ..storage import HealthStore, OutboxStore


@dataclass(frozen=True)
class AlertingReadings:
    incidents_open: int
    by_health: dict[Health, int]
    outbox: dict[tuple[ChannelType, Delivery], int]


async def read_alerting(health: HealthStore, outbox: OutboxStore) -> AlertingReadings:
    """Raises what the store raises (StorageUnavailable): the caller leaves the gauges out."""
    (_, open_count), by_health, counts = await asyncio.gather(
        health.incidents(open_only=True, limit=1, offset=0),
        health.health_counts(),
        outbox.outbox_counts(),
    )
    return AlertingReadings(open_count, by_health, counts)


def alerting_families(readings: AlertingReadings) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "service_monitor_incidents_open",
        "Incidents open now: monitors down, their failures having reached their threshold.",
        value=readings.incidents_open,
    )
    by_health = GaugeMetricFamily(
        "service_monitor_monitors_by_health",
        "Monitored URLs by health: up, down, or unknown until their checks reach a threshold.",
        labels=["health"],
    )
    for health in Health:
        by_health.add_metric([health.value], readings.by_health.get(health, 0))
    yield by_health
    outbox = GaugeMetricFamily(
        "service_monitor_notifications",
        "Notifications in the outbox by channel type and delivery state (pending, held, sent,"
        " failed, merged, dropped); pending rising means the dispatcher is behind or a channel"
        " is down.",
        labels=["channel_type", "state"],
    )
    for channel_type in ChannelType:
        for state in Delivery:
            count = readings.outbox.get((channel_type, state), 0)
            outbox.add_metric([channel_type.value, state.value], count)
    yield outbox
