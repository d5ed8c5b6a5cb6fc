"""Sends the outbox: each tick claims the notifications due (a lease, so several dispatchers never
send one row at once and a dead one's rows are claimed again when its lease ends), decides what
each becomes (sent, held for a maintenance window or a storm, merged into a digest, dropped) and
sends the rest concurrently, marking each sent, to retry (backoff.py) or failed, with the reason.

It uses only the store (never the cache), so alerts flow while Redis is down. Time is what `tick`
is handed, so tests simulate hours without waiting. Built in one place (assembly.build_dispatcher);
run by alerting/running.py.

Delivery is exactly once into the outbox (unique keys) and at least once on the wire: a dispatcher
killed between a send and its mark sends that one row again once its lease ends, with the same
X-Idempotency-Key, which a receiver uses to drop the repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..alerts import (
    Channel,
    Delivery,
    Incident,
    Notification,
    NotificationKind,
)
from ..config import Settings
from ..errors import (
    ChannelNotFound,
    IncidentNotFound,
    MonitorNotFound,
    SealingUnavailable,
    StorageUnavailable,
)
from ..metrics.notifications import count_send
from ..storage import ChannelStore, HealthStore, MonitorStore, OutboxStore, WindowStore
from . import messages
from .backoff import next_attempt
from .maintenance import ActiveWindows
from .messages import IncidentFacts, Message, StormFacts
from .sealing import Sealer
from .senders import Outcome, Sender, UnsealedChannel
from .storm import STORM_WINDOW_S, BurstCounter, NetworkFigures, StormRule, storm_minute

log = logging.getLogger("service_monitor.alerting")

CLAIM_LIMIT = 500  # rows claimed at once; holding and merging them costs one statement each batch
MAX_CLAIMS_PER_TICK = (
    40  # 20,000 rows weighed in one tick at most (a storm of 10,000 is held at once)
)
SENDS_PER_SENDER = 8  # sends per tick per NOTIFY_SENDERS thread; the rest wait for the next tick
HELD_RESCAN_S = 60.0  # seconds between looks at the held rows for windows another process set
REMINDER_SCAN_S = 60.0  # seconds between looks for reminders due
PAGE = 500

# Why rows are held or dropped: the words `last_error` keeps, and how a held row's reason is told.
HELD_STORM = "held: storm guard (probing is failing from here)"
HELD_MAINTENANCE = "held: maintenance window"
DROPPED_MAINTENANCE = "resolved during maintenance"
DROPPED_STORM = "resolved while held by the storm guard"
DROPPED_NO_DOWN = "its down notification was not sent"
DROPPED_CHANNEL = "channel deleted"
DROPPED_REMINDER = "incident resolved before the reminder was sent"


class DispatchStore(OutboxStore, HealthStore, ChannelStore, WindowStore, MonitorStore, Protocol):
    """The roles the dispatcher uses: the outbox, incidents, channels, windows and monitors'
    names. Never the cache."""


@dataclass
class TickReport:
    """What one tick did, by what happened to the rows."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0
    dropped: int = 0
    merged: int = 0
    queued: int = 0  # storm messages, digests and reminders queued
    storm: bool = False

    def __bool__(self) -> bool:
        return any((self.sent, self.retried, self.failed, self.held, self.dropped, self.merged))


@dataclass
class _Storm:
    minute: int  # the start minute: its messages' and its digest's key
    figures: NetworkFigures


@dataclass(frozen=True, slots=True)
class _Target:
    """A channel as a tick found it: unsealed, or with why no key of CHANNEL_KEYS opens it (its
    rows are then retried, since a key put back opens it, until they are given up)."""

    channel: Channel
    unsealed: UnsealedChannel | None
    why: str = ""


@dataclass(frozen=True, slots=True)
class _Send:
    row: Notification
    target: _Target
    message: Message


def lease_owner() -> str:
    """Who holds a lease: host, process and a random part (two dispatchers in one process)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    """Sends the outbox's due notifications on `tick(now)`. Holds no connection of its own: the
    store, the sender (senders.ChannelSender: Apprise in its bounded thread pool, webhooks on
    aiohttp) and the sealer are handed in."""

    def __init__(
        self,
        store: DispatchStore,
        sender: Sender,
        sealer: Sealer,
        settings: Settings,
        *,
        owner: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.sender = sender
        self.sealer = sealer
        self.settings = settings
        self.owner = owner or lease_owner()
        self.rng = rng or random.Random()
        self.rule = StormRule(
            share=settings.STORM_SHARE,
            min_monitors=settings.STORM_MIN_MONITORS,
            canaries=bool(settings.CANARY_URLS),
        )
        self.bursts = BurstCounter(settings.BURST_LIMIT)
        self.send_limit = settings.NOTIFY_SENDERS * SENDS_PER_SENDER
        # A lease outlives the tick's sends: each wave of NOTIFY_SENDERS takes NOTIFY_TIMEOUT at
        # most, and a tick sends SENDS_PER_SENDER waves.
        self.lease = settings.NOTIFY_TIMEOUT * SENDS_PER_SENDER + 60.0
        self._storm: _Storm | None = None
        self._storm_known = False  # whether a storm left by a previous run was looked for
        self._judged = False  # whether this tick judged the storm already
        self._held_scan_at: float | None = None  # None: at the first tick
        self._reminders_at: float | None = None
        self._parallel = asyncio.Semaphore(settings.NOTIFY_SENDERS)

    # -- the tick --

    async def tick(self, now: float) -> TickReport:
        """Do everything due at `now`: storm start or end, held rows whose window ended,
        reminders due, then the due rows (claimed under a lease), sent concurrently."""
        report = TickReport()
        if not self._storm_known:
            await self._recover_storm(now)
        self._judged = False
        if self._storm is not None:  # its end is judged every tick, rows due or not
            await self._judge_storm(now, report)
        await self._release_held(now, report)
        await self._queue_reminders(now, report)
        windows: ActiveWindows | None = None
        budget = self.send_limit
        for _ in range(MAX_CLAIMS_PER_TICK):
            rows = await self.store.claim_due(
                now, limit=CLAIM_LIMIT, lease=self.lease, owner=self.owner
            )
            if not rows:
                break
            if windows is None:
                windows = ActiveWindows(await self.store.list_windows(), now)
            sends = await self._weigh(rows, now, windows, report)
            if len(sends) > budget:  # the rest go back, due now, for the next tick
                later, sends = sends[budget:], sends[:budget]
                await self.store.set_delivery(
                    [s.row.id for s in later], Delivery.PENDING, next_attempt_at=now
                )
            budget -= len(sends)
            await self._send_all(sends, now, report)
            if budget <= 0:
                break
        report.storm = self._storm is not None
        return report

    async def _weigh(
        self,
        rows: Sequence[Notification],
        now: float,
        windows: ActiveWindows,
        report: TickReport,
    ) -> list[_Send]:
        """What each claimed row becomes; returns the sends to make."""
        if not self._judged and any(r.kind is NotificationKind.DOWN for r in rows):
            await self._judge_storm(now, report)
        hold: dict[float, list[int]] = defaultdict(list)  # window end -> rows
        storm_held: list[int] = []
        due_downs: list[Notification] = []
        sends: list[_Send] = []
        channels: dict[int, _Target | None] = {}
        for row in rows:
            if row.kind in (NotificationKind.DOWN, NotificationKind.REMINDER):
                end = windows.held_until(row.monitor_id)
                if end is not None:
                    hold[end].append(row.id)
                    continue
            if row.kind is NotificationKind.DOWN:
                if self._storm is not None:
                    storm_held.append(row.id)
                else:
                    due_downs.append(row)
                continue
            if row.kind is NotificationKind.RESOLVED and not await self._resolved_may_go(
                row, now, report
            ):
                continue
            send = await self._prepare(row, now, channels, report)
            if send is not None:
                sends.append(send)
        for end, ids in hold.items():
            await self.store.set_delivery(
                ids, Delivery.HELD, why=HELD_MAINTENANCE, next_attempt_at=end
            )
            report.held += len(ids)
            self._held_scan_at = min(end, self._held_scan_at or end)
        if storm_held:
            await self.store.set_delivery(storm_held, Delivery.HELD, why=HELD_STORM)
            report.held += len(storm_held)
        singles, bursts = self.bursts.split(due_downs, now)
        for row in singles:
            send = await self._prepare(row, now, channels, report)
            if send is not None:
                sends.append(send)
        for channel_id, group in bursts.items():
            key = f"digest:burst:channel:{channel_id}:from:{min(r.id for r in group)}"
            digest = await self._digest(key, channel_id, group, now, after_storm=False)
            report.merged += len(group)
            report.queued += digest is not None
        return sends

    # -- the storm guard --

    async def _judge_storm(self, now: float, report: TickReport) -> None:
        """Start or end a storm on the last minute's figures (once a tick)."""
        self._judged = True
        figures = NetworkFigures.of(
            await self.store.network_failures(now - STORM_WINDOW_S, self.settings.CANARY_URLS)
        )
        if self._storm is None:
            if self.rule.is_storm(figures):
                await self._start_storm(now, figures, report)
        elif self.rule.has_evidence(figures) and not self.rule.is_storm(figures):
            await self._end_storm(now, report)

    async def _start_storm(self, now: float, figures: NetworkFigures, report: TickReport) -> None:
        self._storm = storm = _Storm(storm_minute(now), figures)
        log.warning(
            "storm guard: %d of %d monitors checked in the last minute failed with network"
            " causes (canaries %d of %d): individual alerts held",
            figures.failed,
            figures.checked,
            figures.canaries_failed,
            figures.canaries_checked,
        )
        body = json.dumps(
            {
                "started_at": storm.minute,
                "failed": figures.failed,
                "checked": figures.checked,
                "canaries_failed": figures.canaries_failed,
                "canaries_checked": figures.canaries_checked,
            }
        )
        for channel in await self.store.list_channels():
            if channel.is_default:
                queued = await self.store.queue_notification(
                    f"storm:{storm.minute}:channel:{channel.id}",
                    NotificationKind.STORM,
                    channel.id,
                    now,
                    body=body,
                )
                report.queued += queued is not None

    async def _end_storm(self, now: float, report: TickReport) -> None:
        """Probing works again: the held DOWN rows of incidents still open go in one digest per
        channel; those of incidents resolved meanwhile are dropped."""
        storm = self._storm
        assert storm is not None
        log.warning("storm guard: probing works again; sending what is still down in digests")
        held = [r for r in await self._held_rows() if r.last_error == HELD_STORM]
        by_channel: dict[int, list[Notification]] = defaultdict(list)
        resolved: list[int] = []
        for row in held:
            incident = await self._incident(row.incident_id)
            if incident is not None and incident.is_open:
                by_channel[row.channel_id].append(row)
            else:
                resolved.append(row.id)
        if resolved:
            await self.store.set_delivery(resolved, Delivery.DROPPED, why=DROPPED_STORM)
            report.dropped += len(resolved)
        for channel_id, group in by_channel.items():
            key = f"digest:storm:{storm.minute}:channel:{channel_id}"
            digest = await self._digest(key, channel_id, group, now, after_storm=True)
            report.merged += len(group)
            report.queued += digest is not None
        self._storm = None

    async def _recover_storm(self, now: float) -> None:
        """A storm a previous run started (rows it held are still held): carry on with it, so its
        end sends the digest and no second storm message goes out."""
        self._storm_known = True
        held = await self.store.notifications(
            limit=PAGE, offset=0, state=Delivery.HELD, kinds=(NotificationKind.DOWN,)
        )
        if not any(r.last_error == HELD_STORM for r in held[0]):
            return
        storms, _ = await self.store.notifications(
            limit=1, offset=0, kinds=(NotificationKind.STORM,)
        )
        minute = storm_minute(now)
        if storms:
            with contextlib.suppress(IndexError, ValueError):
                minute = int(storms[0].key.split(":")[1])
        self._storm = _Storm(minute, NetworkFigures(0, 0))
        log.warning("storm guard: a storm held alerts before this start; still judging it")

    # -- held rows: maintenance windows that ended --

    async def _held_rows(self) -> list[Notification]:
        rows: list[Notification] = []
        offset = 0
        while True:
            page, total = await self.store.notifications(
                limit=PAGE,
                offset=offset,
                state=Delivery.HELD,
                kinds=(NotificationKind.DOWN, NotificationKind.REMINDER, NotificationKind.RESOLVED),
            )
            rows += page
            offset += len(page)
            if not page or offset >= total:
                return rows

    async def _release_held(self, now: float, report: TickReport) -> None:
        """Rows held for a window that has ended: sent if their incident is still open (PENDING,
        due now; a window begun meanwhile holds them again), else dropped with their RESOLVED."""
        if self._held_scan_at is not None and now < self._held_scan_at:
            return
        self._held_scan_at = now + HELD_RESCAN_S
        release: list[int] = []
        for row in await self._held_rows():
            if row.last_error != HELD_MAINTENANCE:
                continue
            if row.next_attempt_at > now:
                self._held_scan_at = min(self._held_scan_at, row.next_attempt_at)
                continue
            incident = await self._incident(row.incident_id)
            if incident is not None and incident.is_open:
                release.append(row.id)
                continue
            await self.store.set_delivery([row.id], Delivery.DROPPED, why=DROPPED_MAINTENANCE)
            report.dropped += 1 + await self._drop_resolved(row, DROPPED_MAINTENANCE)
        if release:
            await self.store.set_delivery(release, Delivery.PENDING, next_attempt_at=now)

    # -- resolved messages --

    async def _resolved_may_go(self, row: Notification, now: float, report: TickReport) -> bool:
        """A RESOLVED goes out only after its DOWN to the same channel was sent or merged into a
        digest; it waits while that DOWN waits, and is dropped with it when it was held (the
        incident ended in a window or a storm) or never got through."""
        down = await self._down_of(row)
        state = down.state if down is not None else None
        if state in (Delivery.SENT, Delivery.MERGED):
            return True
        if state is Delivery.PENDING and down is not None:
            await self.store.set_delivery(
                [row.id], Delivery.PENDING, next_attempt_at=max(now, down.next_attempt_at) + 1.0
            )
            return False
        if state is Delivery.HELD and down is not None:
            why = DROPPED_STORM if down.last_error == HELD_STORM else DROPPED_MAINTENANCE
            await self.store.set_delivery([down.id, row.id], Delivery.DROPPED, why=why)
            report.dropped += 2
            return False
        await self.store.set_delivery([row.id], Delivery.DROPPED, why=DROPPED_NO_DOWN)
        report.dropped += 1
        return False

    async def _down_of(self, row: Notification) -> Notification | None:
        if row.incident_id is None:
            return None
        rows, _ = await self.store.notifications(
            limit=PAGE, offset=0, incident_id=row.incident_id, kinds=(NotificationKind.DOWN,)
        )
        return next((r for r in rows if r.channel_id == row.channel_id), None)

    async def _drop_resolved(self, down: Notification, why: str) -> int:
        """Drop the RESOLVED rows not yet sent of `down`'s incident and channel; how many."""
        if down.incident_id is None:
            return 0
        rows, _ = await self.store.notifications(
            limit=PAGE, offset=0, incident_id=down.incident_id, kinds=(NotificationKind.RESOLVED,)
        )
        waiting = [
            r.id
            for r in rows
            if r.channel_id == down.channel_id and r.state in (Delivery.PENDING, Delivery.HELD)
        ]
        if waiting:
            await self.store.set_delivery(waiting, Delivery.DROPPED, why=why)
        return len(waiting)

    # -- reminders --

    async def _queue_reminders(self, now: float, report: TickReport) -> None:
        """REMINDER rows for open incidents whose last DOWN or REMINDER to a channel with
        `resend_every` was sent that long ago; keyed by their number, so queued once."""
        if self._reminders_at is not None and now < self._reminders_at:
            return
        self._reminders_at = now + REMINDER_SCAN_S
        every = {c.id: c.resend_every for c in await self.store.list_channels() if c.resend_every}
        if not every:
            return
        offset = 0
        while True:
            incidents, total = await self.store.incidents(open_only=True, limit=PAGE, offset=offset)
            for incident in incidents:
                report.queued += await self._remind(incident, every, now)
            offset += len(incidents)
            if not incidents or offset >= total:
                return

    async def _remind(self, incident: Incident, every: dict[int, int], now: float) -> int:
        rows, _ = await self.store.notifications(
            limit=PAGE,
            offset=0,
            incident_id=incident.id,
            kinds=(NotificationKind.DOWN, NotificationKind.REMINDER),
        )
        by_channel: dict[int, list[Notification]] = defaultdict(list)
        for row in rows:
            if row.channel_id in every:
                by_channel[row.channel_id].append(row)
        queued = 0
        for channel_id, told in by_channel.items():
            if any(r.state in (Delivery.PENDING, Delivery.HELD) for r in told):
                continue  # not told yet (or a reminder waits): no reminder on top
            times = [
                r.sent_at if r.sent_at is not None else r.created_at
                for r in told
                if r.state in (Delivery.SENT, Delivery.MERGED)
            ]
            if not times or max(times) + every[channel_id] > now:
                continue
            number = 1 + sum(r.kind is NotificationKind.REMINDER for r in told)
            key = f"incident:{incident.id}:reminder:{number}:channel:{channel_id}"
            added = await self.store.queue_notification(
                key,
                NotificationKind.REMINDER,
                channel_id,
                now,
                incident_id=incident.id,
                monitor_id=incident.monitor_id,
            )
            queued += added is not None
        return queued

    # -- digests --

    async def _digest(
        self,
        key: str,
        channel_id: int,
        rows: Sequence[Notification],
        now: float,
        *,
        after_storm: bool,
    ) -> Notification | None:
        """Queue one DIGEST of `rows`' incidents for the channel and merge the rows into it;
        returns the digest when it was queued now (None: it was already, by an earlier try)."""
        body = json.dumps(
            {
                "incidents": sorted({r.incident_id for r in rows if r.incident_id is not None}),
                "after_storm": after_storm,
            }
        )
        digest = await self.store.queue_notification(
            key, NotificationKind.DIGEST, channel_id, now, body=body
        )
        digest_id = digest.id if digest is not None else await self._find(key)
        if digest_id is None:  # cannot happen: the key exists; leave the rows to the next tick
            log.error("digest %s neither queued nor found", key)
            return None
        await self.store.set_delivery([r.id for r in rows], Delivery.MERGED, digest_id=digest_id)
        return digest

    async def _find(self, key: str) -> int | None:
        offset = 0
        while offset < 10 * PAGE:
            page, total = await self.store.notifications(
                limit=PAGE, offset=offset, kinds=(NotificationKind.DIGEST,)
            )
            for row in page:
                if row.key == key:
                    return row.id
            offset += len(page)
            if not page or offset >= total:
                break
        return None

    # -- messages --

    async def _prepare(
        self,
        row: Notification,
        now: float,
        channels: dict[int, _Target | None],
        report: TickReport,
    ) -> _Send | None:
        """The send of `row`, or None when it is not to be sent (dropped, or failed: a channel
        whose target no key opens is retried like a channel that is down)."""
        if row.channel_id not in channels:
            channels[row.channel_id] = await self._channel(row.channel_id)
        target = channels[row.channel_id]
        if target is None:
            await self.store.set_delivery([row.id], Delivery.DROPPED, why=DROPPED_CHANNEL)
            report.dropped += 1
            return None
        message = await self._message(row, now)
        if message is None:
            await self.store.set_delivery([row.id], Delivery.DROPPED, why=DROPPED_REMINDER)
            report.dropped += 1
            return None
        return _Send(row, target, message)

    async def _channel(self, channel_id: int) -> _Target | None:
        try:
            sealed = await self.store.sealed_channel(channel_id)
        except ChannelNotFound:
            return None
        try:
            unsealed = UnsealedChannel.unseal(
                self.sealer, sealed.channel, sealed.sealed_target, sealed.sealed_secret
            )
        except SealingUnavailable as exc:
            return _Target(sealed.channel, None, str(exc))
        return _Target(sealed.channel, unsealed)

    async def _message(self, row: Notification, now: float) -> Message | None:
        kind = row.kind
        if kind is NotificationKind.STORM:
            facts = json.loads(row.body or "{}")
            return messages.storm(
                StormFacts(
                    started_at=float(facts.get("started_at", row.created_at)),
                    failed=int(facts.get("failed", 0)),
                    checked=int(facts.get("checked", 0)),
                    canaries_failed=int(facts.get("canaries_failed", 0)),
                    canaries_checked=int(facts.get("canaries_checked", 0)),
                ),
                key=row.key,
                now=now,
            )
        if kind is NotificationKind.DIGEST:
            what = json.loads(row.body or "{}")
            listed = [await self._facts(i) for i in what.get("incidents", [])]
            return messages.digest(
                [f for f in listed if f is not None],
                key=row.key,
                now=now,
                after_storm=bool(what.get("after_storm")),
            )
        facts = await self._facts(row.incident_id)
        if facts is None:
            return None
        if kind is NotificationKind.REMINDER and not facts.incident.is_open:
            return None
        return messages.incident_message(kind, facts, key=row.key, now=now)

    async def _incident(self, incident_id: int | None) -> Incident | None:
        if incident_id is None:
            return None
        try:
            return await self.store.get_incident(incident_id)
        except IncidentNotFound:
            return None

    async def _facts(self, incident_id: int | None) -> IncidentFacts | None:
        incident = await self._incident(incident_id)
        if incident is None:
            return None
        try:
            monitor = await self.store.get_monitor(incident.monitor_id)
        except MonitorNotFound:  # deleted since: its incident is still worth telling
            return IncidentFacts(incident, f"monitor {incident.monitor_id} (deleted)", "")
        return IncidentFacts(incident, monitor.name, monitor.url)

    # -- sending --

    async def _send_all(self, sends: Sequence[_Send], now: float, report: TickReport) -> None:
        outcomes = await asyncio.gather(*(self._send_one(s) for s in sends))
        for send, outcome in zip(sends, outcomes, strict=True):
            await self._mark(send, outcome, now, report)

    async def _send_one(self, send: _Send) -> Outcome:
        if send.target.unsealed is None:
            return Outcome(False, True, send.target.why)
        async with self._parallel:
            return await self.sender.send(send.target.unsealed, send.message)

    async def _mark(self, send: _Send, outcome: Outcome, now: float, report: TickReport) -> None:
        row = send.row
        channel_type = send.target.channel.type
        try:
            if outcome.ok:
                await self.store.mark_sent(row.id, now)
                report.sent += 1
                count_send(channel_type, "sent")
                if row.kind is NotificationKind.DOWN:
                    self.bursts.count(row.channel_id, now)
                return
            retry = (
                next_attempt(
                    row.attempts + 1,
                    row.created_at,
                    now,
                    self.settings.NOTIFY_RETRY_HOURS,
                    self.rng,
                )
                if outcome.retryable
                else None
            )
            if retry is None:
                why = outcome.detail
                if outcome.retryable:
                    why = f"given up after {self.settings.NOTIFY_RETRY_HOURS:g} h: {why}"
                await self.store.mark_failed(row.id, now, why)
                report.failed += 1
                count_send(channel_type, "failed")
                log.warning("notification %s failed for good: %s", row.key, why)
            else:
                await self.store.mark_retry(row.id, retry, outcome.detail)
                report.retried += 1
                count_send(channel_type, "retry")
                log.info(
                    "notification %s not sent (%s); again in %.0f s",
                    row.key,
                    outcome.detail,
                    retry - now,
                )
        except StorageUnavailable as exc:
            # Its lease ends and it is claimed again: sent twice rather than lost (same key).
            log.warning("notification %s: outcome not recorded: %s", row.key, exc)


__all__ = ["DispatchStore", "Dispatcher", "TickReport", "lease_owner"]
