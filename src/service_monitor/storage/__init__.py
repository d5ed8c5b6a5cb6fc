"""The store of monitors and checks: role interfaces its callers name, their union Storage, a MySQL backend and an embedded SQLite one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Protocol

from ..check_spec import DEFAULT_CHECK, CheckSpec
from ..config import Settings
from ..models import (
    Bucket,
    Check,
    Counts,
    CycleRecord,
    CycleTotals,
    Monitor,
    PruneReport,
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

    async def targets(self) -> list[Target]:
        """Every ACTIVE monitor, as what the prober needs: its id, URL and check. Monitors with the
        same check share one CheckSpec object (most share DEFAULT_CHECK), so 100,000 targets
        hold one spec per distinct check, not one each."""


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
    ) -> list[Check]:
        """The monitor's newest checks first: all, or those of `status`, made from `since` on."""

    async def last_checks(self, monitor_ids: Sequence[int]) -> dict[int, Check]:
        """Each monitor's newest check; monitors never checked are left out."""

    async def history(
        self, monitor_ids: Sequence[int], bounds: Sequence[float]
    ) -> dict[int, list[Bucket]]:
        """Each monitor's checks in the buckets [bounds[i], bounds[i+1]), exact to the check;
        every monitor asked for is in the answer, with len(bounds) - 1 buckets. Bounds on whole
        hours are answered from the hourly rollups, so a bucket costs two rows, not its checks.
        """

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
        `now`), rollups and cycle records older than `rollup_days`, in batches of at most `batch`
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


class StoreLifecycle(Protocol):
    """Whether the store answers, and letting go of it."""

    async def ping(self) -> None:
        """Return when the store answers; raise StorageUnavailable otherwise."""

    async def close(self) -> None:
        """Close the connections; the store is not used after."""


class Storage(
    MonitorStore, CheckStore, StatsStore, MaintenanceStore, CycleStore, StoreLifecycle, Protocol
):
    """Every role at once: what a backend implements (SQLStorage declares it), what open_storage
    returns, and what a caller that hands the store on to several roles names."""


async def open_storage(settings: Settings) -> Storage:
    """Connect to the configured store and bring its schema up to date.

    MySQL when DB_ADDRESS is set, else the embedded SQLite file. Raises StorageUnavailable.
    """
    if settings.uses_mysql:
        from .mysql import MySQLStorage

        return await MySQLStorage.open(settings)
    from .sqlite import SQLiteStorage

    return await SQLiteStorage.open(settings.SQLITE_PATH)


__all__ = [
    "CheckStore",
    "CycleStore",
    "MaintenanceStore",
    "MonitorStore",
    "StatsStore",
    "Storage",
    "StoreLifecycle",
    "open_storage",
]
