"""What each notification says, written once for every channel: a title and a plain-text body for
Apprise's services, and the JSON body of our signed webhook (whose fields are documented, so a
receiver can rely on them)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..alerts import NETWORK_CAUSES, Incident, NotificationKind

TEST_KIND = "test"  # what POST /channels/{id}/test sends; not a NotificationKind of the outbox
DIGEST_LINES = 50  # incidents a digest's text lists; its JSON lists them all


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """An incident with what a person needs to act on it: its monitor's name and URL."""

    incident: Incident
    monitor_name: str
    url: str


@dataclass(frozen=True, slots=True)
class StormFacts:
    """What the storm guard saw in the minute that made it hold alerts back."""

    started_at: float
    failed: int  # monitors checked in that minute that failed with network causes
    checked: int
    canaries_failed: int = 0
    canaries_checked: int = 0


@dataclass(frozen=True, slots=True)
class Message:
    """One rendered notification. `payload` is the webhook's JSON body, byte for byte as signed."""

    kind: str  # a NotificationKind's value, or "test"
    key: str  # the notification's idempotency key (the outbox's dedup key)
    title: str
    body: str
    payload: bytes


def down(facts: IncidentFacts, *, key: str, now: float) -> Message:
    incident = facts.incident
    title = f"DOWN: {facts.monitor_name}"
    body = (
        f"{facts.monitor_name} is down since {_when(incident.started_at)}"
        f" ({_span(incident.duration(now))} ago).\n"
        f"URL: {facts.url}\n"
        f"Cause: {_cause(incident)}"
    )
    return _message(NotificationKind.DOWN, key, title, body, now, facts)


def resolved(facts: IncidentFacts, *, key: str, now: float) -> Message:
    incident = facts.incident
    title = f"RESOLVED: {facts.monitor_name}"
    body = (
        f"{facts.monitor_name} is up again after {_span(incident.duration(now))} down"
        f" (since {_when(incident.started_at)}).\n"
        f"URL: {facts.url}\n"
        f"It was down with: {_cause(incident)}"
    )
    return _message(NotificationKind.RESOLVED, key, title, body, now, facts)


def reminder(facts: IncidentFacts, *, key: str, now: float) -> Message:
    incident = facts.incident
    title = f"STILL DOWN: {facts.monitor_name}"
    body = (
        f"{facts.monitor_name} is still down, for {_span(incident.duration(now))}"
        f" (since {_when(incident.started_at)}).\n"
        f"URL: {facts.url}\n"
        f"Cause: {_cause(incident)}"
    )
    return _message(NotificationKind.REMINDER, key, title, body, now, facts)


def storm(facts: StormFacts, *, key: str, now: float) -> Message:
    causes = ", ".join(sorted(cause.value for cause in NETWORK_CAUSES))
    title = "Probing is failing from here"
    lines = [
        f"Since {_when(facts.started_at)}, {facts.failed} of the {facts.checked} monitors checked"
        f" in a minute failed with network errors ({causes}): the prober's own network is the"
        " likely cause, not the sites.",
    ]
    if facts.canaries_checked:
        lines.append(f"Canaries failing: {facts.canaries_failed} of {facts.canaries_checked}.")
    lines.append(
        "Individual alerts are held back; incidents are still recorded. When probing recovers,"
        " the monitors still down are sent in one digest."
    )
    extra = {
        "storm": {
            "started_at": _iso(facts.started_at),
            "failed": facts.failed,
            "checked": facts.checked,
            "canaries_failed": facts.canaries_failed,
            "canaries_checked": facts.canaries_checked,
        }
    }
    return _message(NotificationKind.STORM, key, title, "\n".join(lines), now, None, extra)


def digest(
    incidents: Sequence[IncidentFacts], *, key: str, now: float, after_storm: bool = False
) -> Message:
    """Many incidents in one message: a burst of them, or (`after_storm`) those held back by the
    storm guard whose monitors are still down now that probing works again."""
    count = len(incidents)
    title = f"{count} monitor{'s' if count != 1 else ''} down"
    if after_storm:
        head = f"Probing works again. Still down after the storm ({count}):"
    else:
        head = f"{count} incidents opened at once; one message instead of {count}:"
    lines = [head]
    for facts in incidents[:DIGEST_LINES]:
        incident = facts.incident
        lines.append(
            f"- {facts.monitor_name} ({facts.url}): {_cause(incident)}, since"
            f" {_when(incident.started_at)}"
        )
    if count > DIGEST_LINES:
        lines.append(f"… and {count - DIGEST_LINES} more")
    extra = {
        "incidents": [_incident_json(facts, now) for facts in incidents],
        "after_storm": after_storm,
    }
    return _message(NotificationKind.DIGEST, key, title, "\n".join(lines), now, None, extra)


def channel_test(channel_name: str, *, key: str, now: float) -> Message:
    """What `POST /channels/{id}/test` sends."""
    title = "Test from service-monitor"
    body = f"This is a test of channel {channel_name!r}, sent {_when(now)}. It works."
    return _message(TEST_KIND, key, title, body, now, None)


def incident_message(
    kind: NotificationKind, facts: IncidentFacts, *, key: str, now: float
) -> Message:
    """The message of an incident's DOWN, RESOLVED or REMINDER notification."""
    if kind is NotificationKind.DOWN:
        return down(facts, key=key, now=now)
    if kind is NotificationKind.RESOLVED:
        return resolved(facts, key=key, now=now)
    if kind is NotificationKind.REMINDER:
        return reminder(facts, key=key, now=now)
    raise ValueError(f"{kind} is not an incident's notification (storm, digest: see their own)")


def webhook_json(
    kind: str,
    key: str,
    now: float,
    facts: IncidentFacts | None,
    extra: dict[str, Any] | None = None,
    *,
    title: str = "",
    text: str = "",
) -> bytes:
    """The signed webhook's body: `kind`, `key` (also sent as X-Idempotency-Key), `sent_at`,
    `incident` (null for storm, digest, test), `title` and `text`, plus `storm` or `incidents`
    and `after_storm` on those kinds. Times are ISO 8601 in UTC; `duration_s` is seconds."""
    document: dict[str, Any] = {
        "kind": kind,
        "key": key,
        "sent_at": _iso(now),
        "incident": None if facts is None else _incident_json(facts, now),
        "title": title,
        "text": text,
    }
    document.update(extra or {})
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _message(
    kind: str,
    key: str,
    title: str,
    body: str,
    now: float,
    facts: IncidentFacts | None,
    extra: dict[str, Any] | None = None,
) -> Message:
    payload = webhook_json(kind, key, now, facts, extra, title=title, text=body)
    return Message(str(kind), key, title, body, payload)


def _incident_json(facts: IncidentFacts, now: float) -> dict[str, Any]:
    incident = facts.incident
    return {
        "id": incident.id,
        "monitor_id": incident.monitor_id,
        "monitor_name": facts.monitor_name,
        "url": facts.url,
        "started_at": _iso(incident.started_at),
        "resolved_at": None if incident.resolved_at is None else _iso(incident.resolved_at),
        "cause": None if incident.cause is None else incident.cause.value,
        "detail": incident.detail,
        "duration_s": round(incident.duration(now), 3),
    }


def _cause(incident: Incident) -> str:
    if incident.cause is None:
        return incident.detail or "unknown"
    return f"{incident.cause.value}: {incident.detail}" if incident.detail else incident.cause.value


def _iso(seconds: float) -> str:
    return (
        datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _span(seconds: float) -> str:
    """A duration as people say it: 42 s, 5 min 3 s, 2 h 5 min, 3 d 4 h."""
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"
