"""Alerting's gauges at /metrics on each deployment: incidents open, monitors by health and the
outbox's notifications by channel type and state, read from the store at scrape time."""

from __future__ import annotations

import httpx

from service_monitor.models import Cause, Check, Status
from service_monitor.services import Services
from tests.conftest import FakeClock
from tests.metrics.scrape import scrape


async def test_an_open_incident_shows_in_the_gauges_with_its_queued_notification(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    empty = await scrape(client)
    assert empty.value("service_monitor_incidents_open") == 0
    for health in ("up", "down", "unknown"):
        assert empty.value("service_monitor_monitors_by_health", health=health) == 0
    assert empty.total("service_monitor_notifications") == 0
    assert empty.label_values("service_monitor_notifications", "state") == {
        "pending", "held", "sent", "failed", "merged", "dropped"
    }  # fmt: skip
    assert empty.value("service_monitor_metrics_source_up", source="store") == 1

    hook = {"name": "ops", "type": "webhook", "url": "http://127.0.0.1:9/h", "is_default": True}
    assert (await client.post("/channels", json=hook)).status_code == 201
    ids = []
    for name in ("down", "waiting"):
        made = await client.post("/urls/", json={"name": name, "url": f"https://{name}.example"})
        ids.append(made.json()["id"])
    await services.checks.add_checks(
        [
            Check(ids[0], clock.now - 60 + i, Status.FAIL, None, 5, Cause.CONNECT, "refused")
            for i in range(3)
        ]
    )

    scraped = await scrape(client)
    assert scraped.value("service_monitor_incidents_open") == 1
    assert scraped.value("service_monitor_monitors_by_health", health="down") == 1
    assert scraped.value("service_monitor_monitors_by_health", health="unknown") == 1
    assert scraped.value("service_monitor_monitors_by_health", health="up") == 0
    pending = {"channel_type": "webhook", "state": "pending"}
    assert scraped.value("service_monitor_notifications", **pending) == 1
    assert (
        scraped.value("service_monitor_notifications", channel_type="apprise", state="pending") == 0
    )
