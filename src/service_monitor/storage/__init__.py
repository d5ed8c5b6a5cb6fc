"""The store of monitors and checks: role interfaces its callers name, their union Storage, a MySQL backend and an embedded SQLite one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Protocol

from ..alerts import (
    Channel,
    ChannelType,
    Delivery,
    Health,
    Incident,
    MaintenanceWindow,
    MonitorHealth,
    Notification,
    NotificationKind,
    SealedChannel,
    Thresholds,
)
from ..check_spec import DEFAULT_CHECK, CheckSpec
from ..config import Settings
from ..due import DueMonitor, PlanSlot, SlotState
from ..models import (
    Bucket,
    Check,
    Counts,
    CycleRecord,
    CycleTotals,
    Monitor,
    PruneReport,
    RegionChecks,
    Status,
    Target,
    TopEntry,
)

# In every role, times are seconds since the epoch (UTC).


class MonitorStore(Protocol):
    """The monitors: added by the API or an import, taken in and listed as targets by the compute."""

    async def add_monitor(
        self,
        name: str,
        url: str,
        now: float,
        *,
        check: CheckSpec = DEFAULT_CHECK,
        owner: str | None = None,
    ) -> Monitor:
        """Store a new PENDING monitor; a deleted one with the same key is brought back (with this
        name and owner, and its history).

        A monitor's key is its URL's normal form and its check (check_spec.monitor_key): one URL
        may be probed by several different checks. Raises DuplicateURL when a monitor with the same
        URL normal form and the same check (canonical JSON, secrets included) is monitored.
        """

    async def update_monitor(
        self,
        monitor_id: int,
        *,
        name: str | None = None,
        url: str | None = None,
        check: CheckSpec | None = None,
        owner: str | None = None,
        clear_owner: bool = False,
    ) -> Monitor:
        """Change what is given (None: unchanged; `clear_owner` sets the owner to None) in one
        transaction, and return the monitor as it then is. Writes nothing when nothing changes.

        MonitorNotFound when unknown or deleted; DuplicateURL when the new URL and check are
        another monitored monitor's (a deleted one holding them gives them up); ValueError when
        both `owner` and `clear_owner` are given.
        """

    async def import_monitors(self, rows: Iterable[tuple[str, str]], now: float) -> int:
        """Upsert (name, url) rows by URL as ACTIVE monitors; returns how many rows were written."""

    async def get_monitor(self, monitor_id: int) -> Monitor:
        """The monitor, unless it is unknown or deleted: then MonitorNotFound."""

    async def list_monitors(
        self, limit: int, offset: int, search: str | None = None, *, owner: str | None = None
    ) -> tuple[list[Monitor], int]:
        """A page of the monitored (not deleted) monitors by id, and how many there are in all;
        with `search`, only those whose name or URL holds it (case-insensitive); with `owner`,
        only those whose owner is exactly it."""

    async def delete_monitor(self, monitor_id: int) -> None:
        """Stop probing the monitor; its checks stay. MonitorNotFound when unknown or deleted."""

    async def activate(self, monitor_ids: Sequence[int] | None = None) -> int:
        """Make PENDING monitors ACTIVE: those listed, or all of them when None; returns how many."""

    async def targets(
        self, *, now: float | None = None, cycle_s: int | None = None
    ) -> list[Target]:
        """Every ACTIVE monitor, as what the prober needs: its id, URL and check. Monitors with the
        same check share one CheckSpec object (most share DEFAULT_CHECK), so 100,000 targets
        hold one spec per distinct check, not one each.

        With `now` and `cycle_s` (the whole-list cycle's run), a monitor whose interval is longer
        than `cycle_s` is left out until it is due within half a cycle, and when it is returned
        its next due time moves on by its interval."""

    async def targets_of(self, monitor_ids: Sequence[int]) -> list[Target]:
        """The targets of those of `monitor_ids` still ACTIVE, by id (a shard's monitors)."""


class ScheduleStore(Protocol):
    """The fleet's schedule: intervals, regions, the monitors due in a planner slot, and the
    planner's record of its slots (fleet/planner.py). Times in ms since the epoch here."""

    async def set_schedule(
        self, monitor_id: int, *, interval: int | None, regions: Sequence[str] | None
    ) -> None:
        """Set a monitor's interval (s) and regions, None for the defaults; it is due at once.
        Raises MonitorNotFound, or ValueError for an interval outside 60 s to 24 h."""

    async def due_monitors(self, slot_end_ms: int) -> list[DueMonitor]:
        """The ACTIVE monitors due before `slot_end_ms` (new ones included), by id."""

    async def planned_in(self, slot_ms: int) -> list[DueMonitor]:
        """The ACTIVE monitors last planned in the slot starting at `slot_ms`, by id."""

    async def record_plan(self, slot: PlanSlot, ids_by_interval: dict[int, list[int]]) -> bool:
        """Record a planned slot and, in the same transaction, its monitors (grouped by interval
        in ms) as planned in it, each next due at its first due time at or after the slot's end
        (due.next_due). False, changing nothing, when the slot was recorded already."""

    async def unchecked(self, due: Sequence[tuple[int, int]]) -> list[int]:
        """Of (monitor id, due time in ms) pairs, the monitors no region stored a check for."""

    async def due_now(self, monitor_ids: Sequence[int]) -> None:
        """Make these monitors due at once: the next slot plans them."""

    async def open_plan_slots(self) -> list[PlanSlot]:
        """The slots still PLANNED, oldest first."""

    async def get_plan_slot(self, slot_ms: int) -> PlanSlot | None: ...

    async def finish_plan_slot(self, slot_ms: int, state: SlotState, finished_at: int) -> None:
        """Mark a PLANNED slot DONE or FAILED (a slot already finished stays as it is)."""

    async def recent_plan_slots(self, limit: int) -> list[PlanSlot]:
        """The newest slots, newest first."""

    async def plan_slot_counts(self) -> dict[SlotState, int]:
        """How many slots are in each state (every state present)."""


class CheckStore(Protocol):
    """The checks: stored by the compute, read back per monitor by the API and the dashboard."""

    async def add_checks(self, checks: Sequence[Check]) -> None:
        """Store the checks in one transaction: all of them or, on error, none. A detail longer
        than models.MAX_DETAIL_LENGTH characters is cut to it (ending in an ellipsis), and a
        character UTF-8 cannot encode (a lone surrogate) is kept as '?'."""

    async def recent_checks(
        self,
        monitor_id: int,
        limit: int,
        *,
        status: Status | None = None,
        since: float | None = None,
        region: str | None = None,
    ) -> list[Check]:
        """The monitor's newest checks first: all, or those of `status`, made from `since` on,
        from `region` (None: every region)."""

    async def last_checks(self, monitor_ids: Sequence[int]) -> dict[int, Check]:
        """Each monitor's newest check; monitors never checked are left out."""

    async def history(
        self, monitor_ids: Sequence[int], bounds: Sequence[float], *, region: str | None = None
    ) -> dict[int, list[Bucket]]:
        """Each monitor's checks in the buckets [bounds[i], bounds[i+1]), exact to the check;
        every monitor asked for is in the answer, with len(bounds) - 1 buckets. Bounds on whole
        hours are answered from the hourly rollups, so a bucket costs two rows, not its checks.
        With `region`, only the checks made from it, counted from the raw checks (the rollups
        hold every region's together).
        """

    async def region_checks(
        self, monitor_id: int, since: float, counts_since: float
    ) -> list[RegionChecks]:
        """Each region the monitor was checked from since `since`, by name, with its newest
        check and its counts from `counts_since` on, in one query."""

    async def monitor_counts(self, monitor_id: int, since: Sequence[float]) -> list[Counts]:
        """The monitor's success/fail counts from each `since` on, in the order given, with how
        many of the successes were degraded. The degraded count is read from the raw checks, so
        it is exact for any `since` within their retention (30 days and an hour)."""


class StatsStore(Protocol):
    """The statistics over every monitor that stats.py caches: top lists and the summary."""

    async def top(self, status: Status, since: float, limit: int) -> list[TopEntry]:
        """Monitored URLs with the most checks of `status` since `since`: count desc, then id."""

    async def summary(self, since: float) -> Counts:
        """Checks of every monitor since `since`, by status."""


class MaintenanceStore(Protocol):
    """Rollups and retention, run after each cycle (compute/maintenance.py) or by `cleanup`."""

    async def roll_up(self, now: float, *, lead_s: float = 300.0) -> int:
        """Bring the rollups up to the last hour boundary before `now`, and store every window's
        counts as of `now`, starting `lead_s` seconds ahead (half the cycle interval serves the
        requests until the next cycle best); returns the hours added.

        Only ever speeds the statistics up: top, summary and monitor_counts are exact to the check
        whether or not, and whenever, it has run, and checks stored later for hours already rolled
        up are added to those rollups. Not meant to run while checks are being added: the
        compute calls it after each cycle, under the cycle lock (see storage/rollups.py).
        """

    async def prune(self, now: float, *, rollup_days: int, batch: int = 5000) -> PruneReport:
        """Remove raw checks the windows no longer reach (older than 30 days and one hour before
        `now`), rollups, cycle records, resolved incidents and finished notifications (sent,
        failed, merged, dropped) older than `rollup_days`, in batches of at most `batch`
        rows, each its own short transaction. Statistics stay exact for every window ending at or
        after `now`.
        """


class CycleStore(Protocol):
    """The compute's cycles: the lock that lets one run at a time, and the record of each."""

    def cycle_lock(self) -> contextlib.AbstractAsyncContextManager[bool]:
        """Hold the store-wide cycle lock for the `async with` block: yields True when this process got it,
        False at once (no waiting) when another process holds it. Freed on exit, and by the server or
        the OS when the holder dies (kill -9), so a crashed compute never blocks the next cycle.

        Raises StorageUnavailable when the store cannot be reached.
        """

    async def record_cycle(self, record: CycleRecord) -> None:
        """Keep the record of one cycle, whatever its outcome."""

    async def cycle_totals(self) -> CycleTotals:
        """Every recorded cycle counted by outcome, with the newest record and the newest success."""

    async def recent_cycles(self, limit: int) -> list[CycleRecord]:
        """The newest cycle records first, by when they finished."""


class HealthStore(Protocol):
    """Each monitor's health, streak and incidents. add_checks moves them in the checks' own
    transaction (alerts.advance, O(1) a check, the streaks in the store, not in a process): a move
    to down opens an incident and queues a DOWN notification per channel of the monitor, a move
    back up resolves it and queues RESOLVED ones, all in that transaction, so a crash never
    separates a transition from its notifications."""

    default_thresholds: Thresholds  # the Settings' defaults, for monitors that set none
    default_regions: tuple[str, ...]  # the Settings' REGIONS, for monitors that name none
    default_interval_s: int  # the Settings' CYCLE_INTERVAL, for monitors that set none

    async def monitor_health(self, monitor_ids: Sequence[int]) -> dict[int, MonitorHealth]:
        """Each monitor's health; a monitor never checked is `unknown` with zero streaks."""

    async def region_health(self, monitor_id: int) -> dict[str, Health]:
        """Each region's own health of a monitor probed from several (judged once a check of
        that region came); empty for a monitor of one region, whose health is its own."""

    async def health_counts(self) -> dict[Health, int]:
        """How many monitored (not deleted) monitors are in each health; every Health is a key."""

    async def incidents(
        self, *, open_only: bool, limit: int, offset: int, monitor_id: int | None = None
    ) -> tuple[list[Incident], int]:
        """A page of incidents, newest first, and how many match in all: open ones or all, of
        every monitor or of one."""

    async def get_incident(self, incident_id: int) -> Incident:
        """The incident; IncidentNotFound when unknown."""

    async def thresholds(self, monitor_id: int) -> tuple[int | None, int | None]:
        """The monitor's own (failure, success) thresholds; None where it uses the default.
        MonitorNotFound when unknown or deleted."""

    async def set_thresholds(
        self, monitor_id: int, failure: int | None, success: int | None
    ) -> None:
        """Set the monitor's own thresholds (None: the default from then on). The health is not
        recomputed: the next check is judged against them. MonitorNotFound when unknown or
        deleted."""

    async def reconcile(self, now: float) -> int:
        """Resolve, and queue the RESOLVED notifications of, every open incident that should be
        closed already: its monitor was deleted, or its success streak meets its (maybe lowered)
        threshold. Run at start-up; returns how many were resolved."""

    async def network_failures(
        self, since: float, canary_urls: Sequence[str] = ()
    ) -> tuple[int, int, int, int]:
        """Over the checks made from `since` on, for the storm guard: (monitors checked, those
        whose newest check failed with a network cause (alerts.NETWORK_CAUSES), canaries
        checked, canaries whose newest check failed so)."""


class ChannelStore(Protocol):
    """The notification channels, their targets sealed (alerting/sealing.py seals, never this
    store), and which channels each monitor names."""

    async def add_channel(
        self,
        name: str,
        type: ChannelType,
        *,
        target_hint: str,
        sealed_target: bytes,
        sealed_secret: bytes | None,
        is_default: bool,
        send_resolved: bool,
        resend_every: int | None,
        now: float,
    ) -> Channel:
        """Store a new channel; DuplicateChannel when the name is taken."""

    async def list_channels(self) -> list[Channel]:
        """Every channel, by id."""

    async def get_channel(self, channel_id: int) -> Channel:
        """The channel; ChannelNotFound when unknown."""

    async def sealed_channel(self, channel_id: int) -> SealedChannel:
        """The channel with its sealed target and secret; ChannelNotFound when unknown."""

    async def update_channel(
        self,
        channel_id: int,
        *,
        name: str | None = None,
        target_hint: str | None = None,
        sealed_target: bytes | None = None,
        sealed_secret: bytes | None = None,
        is_default: bool | None = None,
        send_resolved: bool | None = None,
        resend_every: int | None = None,
        clear_resend_every: bool = False,
    ) -> Channel:
        """Change what is given (None: unchanged) in one transaction. ChannelNotFound,
        DuplicateChannel."""

    async def delete_channel(self, channel_id: int, *, force: bool = False) -> None:
        """Delete the channel: ChannelInUse while monitors name it, unless `force` (then they stop
        naming it). Its notifications not yet sent are DROPPED ("channel deleted")."""

    async def channel_usage(self, channel_id: int) -> int:
        """How many monitored monitors name the channel."""

    async def monitor_channels(self, monitor_id: int) -> list[int]:
        """The ids of the channels the monitor names (empty: the default channels apply)."""

    async def set_monitor_channels(self, monitor_id: int, channel_ids: Sequence[int]) -> None:
        """Make the monitor name exactly these channels (empty: the defaults). MonitorNotFound,
        ChannelNotFound."""


class OutboxStore(Protocol):
    """The outbox: notifications queued with the transitions (see HealthStore), sent by the
    dispatcher (alerting/dispatcher.py) at least once and, by their unique key, queued only once.
    A claim is a lease: a dispatcher that dies leaves its rows to be claimed again when it ends."""

    async def queue_notification(
        self,
        key: str,
        kind: NotificationKind,
        channel_id: int,
        now: float,
        *,
        incident_id: int | None = None,
        monitor_id: int | None = None,
        body: str | None = None,
        state: Delivery = Delivery.PENDING,
    ) -> Notification | None:
        """Queue one notification (reminders, storm messages, digests); None, writing nothing,
        when one with this key exists already."""

    async def claim_due(
        self, now: float, *, limit: int, lease: float, owner: str
    ) -> list[Notification]:
        """Lease up to `limit` PENDING notifications due by `now` (oldest first) that no live
        lease holds, for `lease` seconds, to `owner`: no other dispatcher claims them meanwhile."""

    async def mark_sent(self, notification_id: int, now: float) -> None:
        """Sent: done for good (the lease is released)."""

    async def mark_retry(self, notification_id: int, next_attempt_at: float, error: str) -> None:
        """Not sent this time: one more attempt counted, tried again from `next_attempt_at`."""

    async def mark_failed(self, notification_id: int, now: float, error: str) -> None:
        """Given up: FAILED, with why."""

    async def set_delivery(
        self,
        notification_ids: Sequence[int],
        state: Delivery,
        *,
        why: str | None = None,
        next_attempt_at: float | None = None,
        digest_id: int | None = None,
    ) -> None:
        """Move notifications to `state` (HELD, PENDING again, DROPPED with `why`, MERGED into
        `digest_id`), releasing any lease."""

    async def notifications(
        self,
        *,
        limit: int,
        offset: int,
        incident_id: int | None = None,
        state: Delivery | None = None,
        kinds: Sequence[NotificationKind] = (),
    ) -> tuple[list[Notification], int]:
        """A page of notifications, newest first, and how many match in all."""

    async def outbox_counts(self) -> dict[tuple[ChannelType, Delivery], int]:
        """Notifications by channel type and state, for /metrics."""


class WindowStore(Protocol):
    """Maintenance windows: when incidents are recorded but not notified (alerting/ decides
    which are active: a recurring one needs its cron)."""

    async def add_window(
        self,
        *,
        monitor_id: int | None,
        starts_at: float | None,
        cron: str | None,
        timezone: str,
        duration: int,
        note: str,
        now: float,
    ) -> MaintenanceWindow:
        """Store a window; MonitorNotFound when the monitor is unknown or deleted."""

    async def list_windows(self, monitor_id: int | None = None) -> list[MaintenanceWindow]:
        """Every window, by id; with `monitor_id`, those of that monitor and those of all."""

    async def get_window(self, window_id: int) -> MaintenanceWindow:
        """The window; WindowNotFound when unknown."""

    async def delete_window(self, window_id: int) -> None:
        """WindowNotFound when unknown."""


class StoreLifecycle(Protocol):
    """Whether the store answers, and letting go of it."""

    async def ping(self) -> None:
        """Return when the store answers; raise StorageUnavailable otherwise."""

    async def close(self) -> None:
        """Close the connections; the store is not used after."""


class Storage(
    MonitorStore,
    CheckStore,
    StatsStore,
    MaintenanceStore,
    CycleStore,
    ScheduleStore,
    HealthStore,
    ChannelStore,
    OutboxStore,
    WindowStore,
    StoreLifecycle,
    Protocol,
):
    """Every role at once: what a backend implements (SQLStorage declares it), what open_storage
    returns, and what a caller that hands the store on to several roles names."""


async def open_storage(settings: Settings) -> Storage:
    """Connect to the configured store and bring its schema up to date.

    MySQL when DB_ADDRESS is set, else the embedded SQLite file. Raises StorageUnavailable.
    """
    store: Storage
    if settings.uses_mysql:
        from .mysql import MySQLStorage

        store = await MySQLStorage.open(settings)
    else:
        from .sqlite import SQLiteStorage

        store = await SQLiteStorage.open(settings.SQLITE_PATH)
    store.default_thresholds = Thresholds(settings.FAILURE_THRESHOLD, settings.SUCCESS_THRESHOLD)
    store.default_regions = tuple(settings.REGIONS)
    store.default_interval_s = settings.CYCLE_INTERVAL
    return store


__all__ = [
    "ChannelStore",
    "CheckStore",
    "CycleStore",
    "HealthStore",
    "MaintenanceStore",
    "MonitorStore",
    "OutboxStore",
    "ScheduleStore",
    "StatsStore",
    "Storage",
    "StoreLifecycle",
    "WindowStore",
    "open_storage",
]
