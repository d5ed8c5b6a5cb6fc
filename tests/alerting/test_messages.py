"""What each kind of notification says, and the signed webhook's documented JSON."""

from __future__ import annotations

import json

import pytest

from service_monitor.alerting import messages
from service_monitor.alerting.messages import IncidentFacts, StormFacts
from service_monitor.alerts import Incident, NotificationKind
from service_monitor.models import Cause

STARTED = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
NOW = STARTED + 3900  # 1 h 5 min later

OPEN = IncidentFacts(
    Incident(7, 3, STARTED, STARTED + 120, Cause.CONNECT, "connection refused"),
    "Shop front",
    "https://shop.example.com/",
)
RESOLVED = IncidentFacts(
    Incident(7, 3, STARTED, STARTED + 120, Cause.CONNECT, "connection refused", NOW, "recovered"),
    "Shop front",
    "https://shop.example.com/",
)
INCIDENT_FIELDS = {
    "id",
    "monitor_id",
    "monitor_name",
    "url",
    "started_at",
    "resolved_at",
    "cause",
    "detail",
    "duration_s",
}


def test_a_down_message_names_the_monitor_its_url_the_cause_and_when_it_started() -> None:
    message = messages.down(OPEN, key="incident:7:down:channel:1", now=NOW)
    assert message.title == "DOWN: Shop front"
    for part in ("https://shop.example.com/", "connect: connection refused", "2026-01-01 00:00:00"):
        assert part in message.body
    assert message.kind == "down"
    assert message.key == "incident:7:down:channel:1"


def test_a_resolved_message_says_how_long_the_monitor_was_down() -> None:
    message = messages.resolved(RESOLVED, key="k", now=NOW + 999)
    assert message.title == "RESOLVED: Shop front"
    assert "up again after 1 h 5 min down" in message.body


def test_a_reminder_says_the_monitor_is_still_down_and_for_how_long() -> None:
    message = messages.reminder(OPEN, key="k", now=NOW)
    assert message.title == "STILL DOWN: Shop front"
    assert "still down, for 1 h 5 min" in message.body


def test_the_storm_message_says_probing_is_failing_from_here_with_the_counts() -> None:
    message = messages.storm(
        StormFacts(STARTED, failed=180, checked=200, canaries_failed=2, canaries_checked=2),
        key="storm:29453760:channel:1",
        now=NOW,
    )
    assert message.title == "Probing is failing from here"
    assert "180 of the 200 monitors" in message.body
    assert "Canaries failing: 2 of 2" in message.body
    document = json.loads(message.payload)
    assert document["kind"] == "storm"
    assert document["incident"] is None
    assert document["storm"]["failed"] == 180


def test_a_digest_lists_its_incidents_in_text_and_all_of_them_in_json() -> None:
    many = [
        IncidentFacts(
            Incident(i, i, STARTED, STARTED, Cause.TIMEOUT, "no answer in 10 s"),
            f"site {i}",
            f"https://s{i}.example.com/",
        )
        for i in range(60)
    ]
    message = messages.digest(many, key="digest:1", now=NOW, after_storm=True)
    assert message.title == "60 monitors down"
    assert "site 0 (https://s0.example.com/): timeout: no answer in 10 s" in message.body
    assert "… and 10 more" in message.body
    document = json.loads(message.payload)
    assert len(document["incidents"]) == 60
    assert document["after_storm"] is True
    assert set(document["incidents"][0]) == INCIDENT_FIELDS


def test_the_webhook_json_carries_the_documented_fields() -> None:
    message = messages.resolved(RESOLVED, key="incident:7:resolved:channel:1", now=NOW)
    document = json.loads(message.payload)
    assert {"kind", "incident", "sent_at", "key"} <= set(document)
    assert document["kind"] == "resolved"
    assert document["key"] == "incident:7:resolved:channel:1"
    assert document["sent_at"] == "2026-01-01T01:05:00Z"
    incident = document["incident"]
    assert set(incident) == INCIDENT_FIELDS
    assert incident == {
        "id": 7,
        "monitor_id": 3,
        "monitor_name": "Shop front",
        "url": "https://shop.example.com/",
        "started_at": "2026-01-01T00:00:00Z",
        "resolved_at": "2026-01-01T01:05:00Z",
        "cause": "connect",
        "detail": "connection refused",
        "duration_s": 3900.0,
    }


@pytest.mark.parametrize(
    "kind", [NotificationKind.DOWN, NotificationKind.RESOLVED, NotificationKind.REMINDER]
)
def test_incident_message_picks_the_message_of_its_kind(kind: NotificationKind) -> None:
    assert messages.incident_message(kind, OPEN, key="k", now=NOW).kind == kind.value


def test_incident_message_refuses_kinds_that_are_not_about_one_incident() -> None:
    with pytest.raises(ValueError, match="storm"):
        messages.incident_message(NotificationKind.STORM, OPEN, key="k", now=NOW)


def test_a_channel_test_message_names_the_channel() -> None:
    message = messages.channel_test("ops pager", key="test:1", now=NOW)
    assert "'ops pager'" in message.body
    assert json.loads(message.payload)["kind"] == "test"
