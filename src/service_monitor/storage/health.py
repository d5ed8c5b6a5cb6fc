"""Each monitor's health moved along its checks inside add_checks' own transaction, the incidents
it opens and resolves with their notifications queued beside them, and the start-up reconciliation:
HealthStore, written once for both backends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..alerts import (
    NETWORK_CAUSES,
    VOTE_THRESHOLDS,
    Delivery,
    Health,
    Incident,
    MonitorHealth,
    NotificationKind,
    Streak,
    Thresholds,
    Transition,
    advance,
    quorum_down,
)
from ..check_spec import DEFAULT_CHECK, monitor_key
from ..due import split_regions
from ..errors import IncidentNotFound, MonitorNotFound
from ..models import Cause, MonitorState, Status, url_key
from .base import SQLBase, chunks, marks
from .rollups import MS_PER_S, to_ms
from .statements import Row, Transaction

_DELETED = int(MonitorState.DELETED)
_HEALTH_COLUMNS = (
    "monitor_id, health, failures, successes, since, incident_id, first_failure_at, first_cause,"
    " first_detail, checked_at"
)
_INCIDENT_COLUMNS = "id, monitor_id, started_at, opened_at, cause, detail, resolved_at, resolution"
_NETWORK = tuple(sorted(cause.value for cause in NETWORK_CAUSES))
_UNKNOWN = Streak()  # a monitor never checked
_FAIL, _SUCCESS = Status.FAIL, Status.SUCCESS
_UP, _DOWN = Health.UP.value, Health.DOWN.value
RECOVERED = "recovered"
MONITOR_DELETED = "monitor deleted"
# An open incident its monitor's health no longer points at (none is made so by this code; a
# reconcile closes one should it appear, rather than keeping it open for ever).
SUPERSEDED = "superseded"


@dataclass(slots=True)
class _Health:
    """A monitor_health row being moved along a batch's checks (times in ms)."""

    monitor_id: int
    streak: Streak = _UNKNOWN
    since: int | None = None
    incident_id: int | None = None
    first_failure_at: int | None = None
    first_cause: str | None = None
    first_detail: str | None = None
    checked_at: int | None = None  # the newest check that moved the streak; older ones do not

    @classmethod
    def of(cls, row: Row) -> _Health:
        return cls(
            monitor_id=int(row[0]),
            streak=Streak(Health(row[1]), int(row[2]), int(row[3])),
            since=_int(row[4]),
            incident_id=_int(row[5]),
            first_failure_at=_int(row[6]),
            first_cause=row[7],
            first_detail=row[8],
            checked_at=_int(row[9]),
        )

    def params(self) -> tuple[Any, ...]:
        return (
            self.monitor_id,
            self.streak.health.value,
            self.streak.failures,
            self.streak.successes,
            self.since,
            self.incident_id,
            self.first_failure_at,
            self.first_cause,
            self.first_detail,
            self.checked_at,
        )


@dataclass(frozen=True, slots=True)
class _Queued:
    """A notification a transition queues for each of its monitor's channels."""

    kind: NotificationKind
    incident_id: int
    monitor_id: int
    at_ms: int


def _past_steady(row: Row, checks: list[Row], thresholds: Thresholds) -> list[Row]:
    """The checks from the first that would move the stored streak on: those before it are the
    successes of a monitor up with its full success run, or the failures of one down with its full
    failure run, which alerts.advance would hand back unchanged. Read off the stored row, so the
    monitors that keep their health (most of them, most of the time) cost a comparison a check."""
    health, failures, successes = row[1], row[2], row[3]
    up = health == _UP and failures == 0 and successes == thresholds.success
    down = health == _DOWN and successes == 0 and failures == thresholds.failure
    if not (up or down):
        return checks
    for index, check in enumerate(checks):
        if (check[2] == 1) is not up:
            return checks[index:]
    return []


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _seconds(ms: Any) -> float | None:
    return None if ms is None else int(ms) / MS_PER_S


def incident_of(row: Row) -> Incident:
    return Incident(
        id=int(row[0]),
        monitor_id=int(row[1]),
        started_at=int(row[2]) / MS_PER_S,
        opened_at=int(row[3]) / MS_PER_S,
        cause=Cause(row[4]) if row[4] is not None else None,
        detail=row[5],
        resolved_at=_seconds(row[6]),
        resolution=row[7],
    )


def notification_key(kind: NotificationKind, incident_id: int, channel_id: int) -> str:
    """The idempotency key of an incident's DOWN or RESOLVED message to one channel."""
    return f"incident:{incident_id}:{kind.value}:channel:{channel_id}"


def _check_threshold(name: str, value: int | None) -> None:
    if value is not None:
        Thresholds(**{name: value})  # raises ValueError naming the bound


@dataclass(slots=True)
class _RegionStreak:
    streak: Streak
    checked_at: int | None  # ms: the newest check that moved it


# Intervals after which a region's last verdict no longer votes (its workers stopped).
STALE_INTERVALS = 3


class _RegionVotes:
    """The regions' streaks of the batch's multi-region monitors: each region judges its own
    checks with the monitor's thresholds, and the monitor is voted down while more than half of its
    regions are down (alerts.quorum_down), up otherwise."""

    def __init__(self, states: dict[tuple[int, str], _RegionStreak]) -> None:
        self._states = states
        self.changed: set[tuple[int, str]] = set()

    @classmethod
    async def read(
        cls, tx: Transaction, voting: dict[int, tuple[str, ...]], for_update: str
    ) -> _RegionVotes:
        states: dict[tuple[int, str], _RegionStreak] = {}
        for ids in chunks(sorted(voting)):
            for monitor_id, region, health, failures, successes, checked_at in await tx.fetch(
                "SELECT monitor_id, region, health, failures, successes, checked_at"
                f" FROM region_health WHERE monitor_id IN ({marks(len(ids))})" + for_update,
                ids,
            ):
                states[(int(monitor_id), str(region))] = _RegionStreak(
                    Streak(Health(health), int(failures), int(successes)), int(checked_at)
                )
        return cls(states)

    def judge(
        self,
        monitor_id: int,
        regions: tuple[str, ...],
        interval_ms: int,
        check: Row,
        thresholds: Thresholds,
    ) -> bool | None:
        """The monitor's vote after this check (True: down), or None when it moves nothing (a
        replay, a region the monitor is not probed from, or no region judged yet).

        The regions that vote are those judged (up or down: one still unknown abstains) with a
        check in the past STALE_INTERVALS intervals: a region whose workers stopped, or that
        never had any, does not keep the monitor up, nor down, with an old verdict or none."""
        region = str(check[9])
        if region not in regions:
            return None
        at_ms = int(check[1])
        key = (monitor_id, region)
        state = self._states.get(key) or _RegionStreak(_UNKNOWN, None)
        if state.checked_at is not None and at_ms <= state.checked_at:
            return None
        streak, _ = advance(state.streak, _SUCCESS if int(check[2]) == 1 else _FAIL, thresholds)
        self._states[key] = _RegionStreak(streak, at_ms)
        self.changed.add(key)
        fresh_from = at_ms - STALE_INTERVALS * interval_ms
        voters = [
            found.streak.health
            for name in regions
            if (found := self._states.get((monitor_id, name))) is not None
            and found.streak.health is not Health.UNKNOWN
            and found.checked_at is not None
            and found.checked_at >= fresh_from
        ]
        if not voters:
            return None  # no region has judged yet: the monitor stays as it is
        return quorum_down(voters.count(Health.DOWN), len(voters))

    def params(self) -> list[tuple[Any, ...]]:
        rows = []
        for monitor_id, region in sorted(self.changed):
            state = self._states[(monitor_id, region)]
            streak = state.streak
            rows.append(
                (
                    monitor_id,
                    region,
                    streak.health.value,
                    streak.failures,
                    streak.successes,
                    state.checked_at,
                )
            )
        return rows


class HealthSQL(SQLBase):
    """HealthStore over the backend's statements, and the evaluation add_checks runs."""

    def _thresholds(self, failure: Any, success: Any) -> Thresholds:
        default = self.default_thresholds
        if failure is None and success is None:
            return default
        return Thresholds(
            default.failure if failure is None else int(failure),
            default.success if success is None else int(success),
        )

    # -- the evaluation, in add_checks' transaction --
    async def _judge_checks(self, tx: Transaction, rows: Sequence[Row]) -> None:
        """Move the health of the monitors of `rows` (checks as add_checks stores them: monitor_id,
        checked_at ms, status code, ..., cause at 5, detail at 7) along them, in checked_at order
        per monitor; open and resolve incidents and queue their notifications on transitions.

        Two SELECTs a batch (thresholds; health rows, locked), one upsert of the rows whose streak
        moved (none for a monitor up that keeps working: most of them), and statements only for
        transitions: O(1) a check. Checks of unknown or deleted monitors are stored but judge
        nothing. A check not newer than the newest one that moved the streak moves nothing: a
        replayed batch queues nothing twice (a check that moved nothing moves nothing when it
        comes again either, the streak being the same).
        """
        by_monitor: dict[int, list[Row]] = {}
        for row in rows:
            by_monitor.setdefault(row[0], []).append(row)
        thresholds: dict[int, Thresholds] = {}
        # Monitors probed from more than one region: their regions and interval (_RegionVotes).
        voting: dict[int, tuple[str, ...]] = {}
        intervals: dict[int, int] = {}
        for ids in chunks(sorted(by_monitor)):
            for monitor_id, failure, success, regions, interval in await tx.fetch(
                "SELECT id, failure_threshold, success_threshold, regions, interval_s"
                f" FROM monitors WHERE id IN ({marks(len(ids))}) AND state <> ?",
                (*ids, _DELETED),
            ):
                thresholds[int(monitor_id)] = self._thresholds(failure, success)
                effective = split_regions(regions) or self.default_regions
                if len(effective) > 1:
                    voting[int(monitor_id)] = effective
                    seconds = self.default_interval_s if interval is None else int(interval)
                    intervals[int(monitor_id)] = seconds * 1000
        stored: dict[int, Row] = {}
        for ids in chunks(sorted(thresholds)):
            for row in await tx.fetch(
                f"SELECT {_HEALTH_COLUMNS} FROM monitor_health"
                f" WHERE monitor_id IN ({marks(len(ids))})" + self.FOR_UPDATE,
                ids,
            ):
                stored[int(row[0])] = row
        votes = await _RegionVotes.read(tx, voting, self.FOR_UPDATE) if voting else None
        changed: list[_Health] = []
        queued: list[_Queued] = []
        for monitor_id, monitor_thresholds in thresholds.items():
            checks = by_monitor[monitor_id]
            if len(checks) > 1:
                checks = sorted(checks, key=lambda row: int(row[1]))
            kept = stored.get(monitor_id)
            regions = voting.get(monitor_id)
            if kept is not None and regions is None:
                checks = _past_steady(kept, checks, monitor_thresholds)
                if not checks:
                    continue  # the common case: a monitor up that keeps working
            health = _Health(monitor_id) if kept is None else _Health.of(kept)
            moved_row = False
            for check in checks:
                at_ms = int(check[1])
                if regions is not None and votes is not None:
                    # The region's own streak moves with the monitor's thresholds; the monitor's
                    # follows the regions' vote (a replayed check moves neither).
                    vote = votes.judge(
                        monitor_id, regions, intervals[monitor_id], check, monitor_thresholds
                    )
                    if vote is None:
                        continue
                    failed, check_thresholds = vote, VOTE_THRESHOLDS
                else:
                    if health.checked_at is not None and at_ms <= health.checked_at:
                        continue  # replayed, or older than what moved the streak last
                    failed, check_thresholds = int(check[2]) != 1, monitor_thresholds
                streak, moved = advance(
                    health.streak, _FAIL if failed else _SUCCESS, check_thresholds
                )
                if streak == health.streak:
                    continue  # a success of a monitor up, a failure of one down: nothing moves
                if failed and health.streak.failures == 0:
                    # The first failure of a run: what an incident it opens will say.
                    health.first_failure_at = at_ms
                    health.first_cause, health.first_detail = check[5], check[7]
                if streak.health is not health.streak.health:
                    health.since = at_ms
                health.streak, moved_row = streak, True
                health.checked_at = max(at_ms, health.checked_at or at_ms)
                if moved is not None:
                    await self._transition(tx, health, moved, at_ms, queued)
            if moved_row:
                changed.append(health)
        if changed:
            await tx.executemany(self.UPSERT_HEALTH, [h.params() for h in changed])
        if votes is not None and votes.changed:
            await tx.executemany(self.UPSERT_REGION_HEALTH, votes.params())
        if queued:
            await self._queue_for_channels(tx, queued)

    async def _transition(
        self,
        tx: Transaction,
        health: _Health,
        moved: Transition,
        at_ms: int,
        queued: list[_Queued],
    ) -> None:
        """Open the incident of a move down, or resolve it on the move back up."""
        if moved is Transition.DOWN:
            started = health.first_failure_at if health.first_failure_at is not None else at_ms
            opened = await tx.execute(
                "INSERT INTO incidents (monitor_id, started_at, opened_at, cause, detail)"
                " VALUES (?, ?, ?, ?, ?)",
                (health.monitor_id, started, at_ms, health.first_cause, health.first_detail),
            )
            assert opened.lastrowid is not None
            health.incident_id = int(opened.lastrowid)
            queued.append(
                _Queued(NotificationKind.DOWN, health.incident_id, health.monitor_id, at_ms)
            )
        elif health.incident_id is not None:
            incident_id, health.incident_id = health.incident_id, None
            if await self._resolve(tx, incident_id, at_ms, RECOVERED):
                queued.append(
                    _Queued(NotificationKind.RESOLVED, incident_id, health.monitor_id, at_ms)
                )

    @staticmethod
    async def _resolve(tx: Transaction, incident_id: int, at_ms: int, resolution: str) -> bool:
        """Resolve the incident unless it is resolved already; True when this did."""
        done = await tx.execute(
            "UPDATE incidents SET resolved_at = ?, resolution = ?"
            " WHERE id = ? AND resolved_at IS NULL",
            (at_ms, resolution, incident_id),
        )
        return done.rowcount == 1

    async def _queue_for_channels(self, tx: Transaction, queued: Sequence[_Queued]) -> None:
        """One PENDING notification per channel of each transition's monitor: the channels it
        names, or every default channel when it names none; RESOLVED only to those that want it."""
        monitor_ids = sorted({q.monitor_id for q in queued})
        named: dict[int, list[tuple[int, bool]]] = {}
        for ids in chunks(monitor_ids):
            for monitor_id, channel_id, send_resolved in await tx.fetch(
                "SELECT mc.monitor_id, c.id, c.send_resolved FROM monitor_channels mc"
                " JOIN channels c ON c.id = mc.channel_id"
                f" WHERE mc.monitor_id IN ({marks(len(ids))}) ORDER BY c.id",
                ids,
            ):
                named.setdefault(int(monitor_id), []).append((int(channel_id), bool(send_resolved)))
        defaults = [
            (int(channel_id), bool(send_resolved))
            for channel_id, send_resolved in await tx.fetch(
                "SELECT id, send_resolved FROM channels WHERE is_default = 1 ORDER BY id"
            )
        ]
        params = []
        for q in queued:
            for channel_id, send_resolved in named.get(q.monitor_id, defaults):
                if q.kind is NotificationKind.RESOLVED and not send_resolved:
                    continue
                params.append(
                    (
                        notification_key(q.kind, q.incident_id, channel_id),
                        q.kind.value,
                        channel_id,
                        q.incident_id,
                        q.monitor_id,
                        Delivery.PENDING.value,
                        q.at_ms,
                        q.at_ms,
                        None,
                    )
                )
        if params:
            await tx.executemany(self.INSERT_NOTIFICATION_IF_ABSENT, params)

    # -- HealthStore --
    async def monitor_health(self, monitor_ids: Sequence[int]) -> dict[int, MonitorHealth]:
        found: dict[int, _Health] = {}
        for ids in chunks(sorted(set(monitor_ids))):
            for row in await self.fetch(
                f"SELECT {_HEALTH_COLUMNS} FROM monitor_health"
                f" WHERE monitor_id IN ({marks(len(ids))})",
                ids,
            ):
                found[int(row[0])] = _Health.of(row)
        answer = {}
        for monitor_id in monitor_ids:
            health = found.get(monitor_id) or _Health(monitor_id)
            answer[monitor_id] = MonitorHealth(
                monitor_id=monitor_id,
                health=health.streak.health,
                failures=health.streak.failures,
                successes=health.streak.successes,
                since=_seconds(health.since),
                incident_id=health.incident_id,
            )
        return answer

    async def region_health(self, monitor_id: int) -> dict[str, Health]:
        rows = await self.fetch(
            "SELECT region, health FROM region_health WHERE monitor_id = ?", (monitor_id,)
        )
        return {str(region): Health(health) for region, health in rows}

    async def health_counts(self) -> dict[Health, int]:
        counts = dict.fromkeys(Health, 0)
        for health, count in await self.fetch(
            "SELECT COALESCE(h.health, ?), COUNT(*) FROM monitors m"
            " LEFT JOIN monitor_health h ON h.monitor_id = m.id"
            " WHERE m.state <> ? GROUP BY COALESCE(h.health, ?)",
            (Health.UNKNOWN.value, _DELETED, Health.UNKNOWN.value),
        ):
            counts[Health(health)] += int(count)
        return counts

    async def incidents(
        self, *, open_only: bool, limit: int, offset: int, monitor_id: int | None = None
    ) -> tuple[list[Incident], int]:
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if open_only:
            where.append("resolved_at IS NULL")
        if monitor_id is not None:
            where.append("monitor_id = ?")
            params.append(monitor_id)
        clause = " AND ".join(where)
        rows = await self.fetch(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE {clause}"
            " ORDER BY id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        total = await self.fetch(f"SELECT COUNT(*) FROM incidents WHERE {clause}", params)
        return [incident_of(row) for row in rows], int(total[0][0])

    async def get_incident(self, incident_id: int) -> Incident:
        rows = await self.fetch(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE id = ?", (incident_id,)
        )
        if not rows:
            raise IncidentNotFound(incident_id)
        return incident_of(rows[0])

    async def thresholds(self, monitor_id: int) -> tuple[int | None, int | None]:
        rows = await self.fetch(
            "SELECT failure_threshold, success_threshold FROM monitors WHERE id = ? AND state <> ?",
            (monitor_id, _DELETED),
        )
        if not rows:
            raise MonitorNotFound(monitor_id)
        return _int(rows[0][0]), _int(rows[0][1])

    async def set_thresholds(
        self, monitor_id: int, failure: int | None, success: int | None
    ) -> None:
        _check_threshold("failure", failure)
        _check_threshold("success", success)
        await self.thresholds(monitor_id)  # MonitorNotFound; an UPDATE changing nothing counts 0
        await self.execute(
            "UPDATE monitors SET failure_threshold = ?, success_threshold = ?"
            " WHERE id = ? AND state <> ?",
            (failure, success, monitor_id, _DELETED),
        )

    async def reconcile(self, now: float) -> int:
        now_ms = to_ms(now)
        resolved = 0
        async with self._transaction() as tx:
            # A plain read: each write below says again what it found, so a check stored meanwhile
            # (add_checks locks the health rows it moves) wins, and no lock is held across rows.
            rows = await tx.fetch(
                "SELECT i.id, i.monitor_id, m.state, m.failure_threshold, m.success_threshold,"
                " h.health, h.successes, h.incident_id"
                " FROM incidents i LEFT JOIN monitors m ON m.id = i.monitor_id"
                " LEFT JOIN monitor_health h ON h.monitor_id = i.monitor_id"
                " WHERE i.resolved_at IS NULL ORDER BY i.id"
            )
            queued: list[_Queued] = []
            for (
                incident_id,
                monitor_id,
                state,
                failure,
                success,
                health,
                successes,
                pointed,
            ) in rows:
                if state is None or int(state) == _DELETED:
                    resolution = MONITOR_DELETED
                    # A monitor brought back later starts again from unknown.
                    await tx.execute(
                        "DELETE FROM monitor_health WHERE monitor_id = ?", (monitor_id,)
                    )
                elif pointed is None or int(pointed) != int(incident_id):
                    resolution = SUPERSEDED
                elif health == _DOWN and int(successes) >= (
                    needed := self._thresholds(failure, success).success
                ):
                    resolution = RECOVERED  # its success threshold was lowered meanwhile
                    moved = await tx.execute(
                        "UPDATE monitor_health SET health = ?, failures = 0, since = ?,"
                        " incident_id = NULL"
                        " WHERE monitor_id = ? AND incident_id = ? AND health = ?"
                        " AND successes >= ?",
                        (_UP, now_ms, monitor_id, incident_id, _DOWN, needed),
                    )
                    if moved.rowcount != 1:
                        continue  # a check moved it meanwhile: its own transition decides
                else:
                    continue
                if await self._resolve(tx, int(incident_id), now_ms, resolution):
                    resolved += 1
                    queued.append(
                        _Queued(
                            NotificationKind.RESOLVED, int(incident_id), int(monitor_id), now_ms
                        )
                    )
            if queued:
                await self._queue_for_channels(tx, queued)
        return resolved

    async def network_failures(
        self, since: float, canary_urls: Sequence[str] = ()
    ) -> tuple[int, int, int, int]:
        # Each monitor's newest check from `since` on (the (status, checked_at) index: the checks
        # of that last minute or so), counted once whatever checks share its millisecond.
        counted = (
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN c.status = 0 AND c.cause IN"
            f" ({marks(len(_NETWORK))}) THEN 1 ELSE 0 END), 0) FROM"
            " (SELECT monitor_id, MAX(id) AS newest FROM checks"
            "  WHERE status IN (0, 1) AND checked_at >= ? GROUP BY monitor_id) n"
            " JOIN checks c ON c.id = n.newest JOIN monitors m ON m.id = n.monitor_id"
            " WHERE m.state <> ?"
        )
        params = (*_NETWORK, to_ms(since), _DELETED)
        checked, failed = (await self.fetch(counted, params))[0]
        canaries = await self._canary_ids(canary_urls)
        canaries_checked = canaries_failed = 0
        if canaries:
            row = (
                await self.fetch(
                    f"{counted} AND m.id IN ({marks(len(canaries))})", (*params, *canaries)
                )
            )[0]
            canaries_checked, canaries_failed = int(row[0]), int(row[1])
        return int(checked), int(failed), canaries_checked, canaries_failed

    async def _canary_ids(self, canary_urls: Sequence[str]) -> list[int]:
        """The monitored monitors that probe the canary URLs: with the default check at the URL's
        normal form, or at exactly that URL text whatever their check."""
        if not canary_urls:
            return []
        keys = []
        for url in canary_urls:
            try:
                keys.append(monitor_key(url_key(url), DEFAULT_CHECK))
            except ValueError:
                continue  # not a URL we could monitor: matched by its text only
        urls = list(canary_urls)
        where = f"url IN ({marks(len(urls))})"
        if keys:
            where = f"({where} OR url_key IN ({marks(len(keys))}))"
        rows = await self.fetch(
            f"SELECT id FROM monitors WHERE {where} AND state <> ? ORDER BY id",
            (*urls, *keys, _DELETED),
        )
        return [int(row[0]) for row in rows]


__all__ = ["MONITOR_DELETED", "RECOVERED", "SUPERSEDED", "HealthSQL", "notification_key"]
