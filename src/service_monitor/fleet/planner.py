"""The planner: once a minute, one at a time (the store's cycle lock), it turns the monitors due
in the coming minute into shards, publishes them, and maintains each slot once its shards are
done or its deadline has passed; it probes nothing itself."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..cache import URLQueue
from ..compute.intake import take_in_new_urls
from ..compute.maintenance import maintain
from ..config import Settings
from ..due import SLOT_MS, DueMonitor, PlanSlot, SlotState, due_in_slot, slot_of
from ..errors import Unavailable
from ..models import CycleOutcome, CycleRecord
from ..stats import Stats
from ..storage import Storage
from .queue import ShardQueue
from .shards import Shard, make_shards

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Planned:
    """What one tick of the planner did."""

    slot_ms: int
    monitors: int  # monitors planned in this slot (0 when it was planned before)
    shards: int  # shards published (new ones: a re-plan publishes only what was lost)
    activated: int  # new URLs taken in
    finished: tuple[tuple[int, SlotState], ...]  # slots finished by this tick
    replanned: tuple[int, ...]  # slots whose shards the queue had lost, published again
    duration_s: float


class Planner:
    """Plans the fleet's slots on `storage` and `queue`, taking in new URLs from `intake`.

    A slot is one minute, [slot, slot + 60 s). Each tick plans the slot `now` falls in: the monitors
    due before its end (new ones at once), each with the due time it is probed for (due.py), in
    shards of SHARD_SIZE per region. The plan (the slot, and each monitor's next due time) is
    recorded in one transaction before the shards are published; a slot recorded but unknown to
    the queue (the planner died in between, or Redis lost it) is published again by the next
    tick, with the same shards, and the checks' key (monitor, due time, region) stores each once.

    A slot is finished when the queue says none of its shards is outstanding (DONE), or when its
    deadline (its end plus twice SHARD_DEADLINE) passes (FAILED); either way it is maintained
    then: its cycle record, the rollups and retention, and the statistics' refresh. A slot the
    queue knows nothing of before its deadline (Redis restarted and lost it) is published again.
    """

    def __init__(
        self,
        storage: Storage,
        queue: ShardQueue,
        intake: URLQueue,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        stats: Stats | None = None,
    ) -> None:
        self.storage = storage
        self.queue = queue
        self.intake = intake
        self.settings = settings
        self.clock = clock
        self.stats = stats

    def _now_ms(self) -> int:
        return round(self.clock() * 1000)

    async def tick(self, *, plan: bool = True) -> Planned | None:
        """Plan the current slot (unless `plan` is false) and finish those done; None when another
        planner holds the lock. Raises Unavailable when the store or the queue cannot be used (the
        next tick retries)."""
        async with self.storage.cycle_lock() as held:
            if not held:
                log.info("planner tick skipped: another planner (or a cycle) holds the lock")
                return None
            started = time.perf_counter()
            activated = await take_in_new_urls(self.storage, self.intake)
            now_ms = self._now_ms()
            slot = slot_of(now_ms)
            # Earlier slots first: a slot the queue lost is published again from the monitors
            # it planned (planned_slot), before this slot's plan moves them on.
            finished, replanned = await self._finish_slots(now_ms)
            monitors, published = 0, 0
            if plan and await self.storage.get_plan_slot(slot) is None:
                monitors, published = await self._plan(slot, now_ms)
            planned = Planned(
                slot_ms=slot,
                monitors=monitors,
                shards=published,
                activated=activated,
                finished=tuple(finished),
                replanned=tuple(replanned),
                duration_s=time.perf_counter() - started,
            )
            log.info(
                "planned slot %d: %d monitors in %d shards, %d new URLs taken in; %d slots"
                " finished; %.3f s",
                slot,
                monitors,
                published,
                activated,
                len(finished),
                planned.duration_s,
            )
            return planned

    def _interval_ms(self, monitor: DueMonitor) -> int:
        seconds = self.settings.CYCLE_INTERVAL if monitor.interval_s is None else monitor.interval_s
        return seconds * 1000

    def _deadline(self, slot: int) -> int:
        return slot + SLOT_MS + round(2 * self.settings.SHARD_DEADLINE * 1000)

    def _shards(
        self, due: Sequence[DueMonitor], slot: int
    ) -> tuple[list[Shard], dict[int, list[int]]]:
        settings = self.settings
        known = set(settings.REGIONS)
        end = slot + SLOT_MS
        items: list[tuple[int, int, tuple[str, ...]]] = []
        by_interval: dict[int, list[int]] = {}
        for monitor in due:
            interval_ms = self._interval_ms(monitor)
            regions = tuple(settings.REGIONS) if monitor.regions is None else monitor.regions
            # A region no longer among REGIONS has no workers: its shards would wait forever.
            regions = tuple(region for region in regions if region in known)
            items.append((monitor.id, due_in_slot(monitor.id, interval_ms, end), regions))
            by_interval.setdefault(interval_ms, []).append(monitor.id)
        shards = make_shards(
            items, slot_ms=slot, deadline_ms=self._deadline(slot), size=settings.SHARD_SIZE
        )
        return shards, by_interval

    async def _plan(self, slot: int, now_ms: int) -> tuple[int, int]:
        due = await self.storage.due_monitors(slot + SLOT_MS)
        shards, by_interval = self._shards(due, slot)
        record = PlanSlot(
            slot, len(shards), len(due), now_ms, self._deadline(slot), SlotState.PLANNED
        )
        # The plan is recorded first: a planner that dies before publishing leaves a planned slot
        # the queue knows nothing of, which the next tick publishes with the same shards and due
        # times (_finish_slots), so no monitor is probed twice for one due time, nor skipped.
        if not await self.storage.record_plan(record, by_interval):
            return 0, 0
        return len(due), await self.queue.publish(shards)

    async def _finish_slots(self, now_ms: int) -> tuple[list[tuple[int, SlotState]], list[int]]:
        finished: list[tuple[int, SlotState]] = []
        replanned: list[int] = []
        for planned in await self.storage.open_plan_slots():
            outstanding = (
                0 if planned.shards == 0 else await self.queue.outstanding(planned.slot_ms)
            )
            if outstanding == 0:
                state = SlotState.DONE
            elif now_ms >= planned.deadline_at:
                state = SlotState.FAILED
                log.error(
                    "slot %d failed: %s of its %d shards not done by its deadline; its late"
                    " checks still count when they come",
                    planned.slot_ms,
                    "all" if outstanding is None else outstanding,
                    planned.shards,
                )
            else:
                if outstanding is None:
                    await self._replan(planned)
                    replanned.append(planned.slot_ms)
                continue
            await self._maintain(planned, state, now_ms)
            finished.append((planned.slot_ms, state))
        return finished, replanned

    async def _replan(self, planned: PlanSlot) -> None:
        """Publish a slot's shards again: the queue lost them (the checks already stored are kept
        once, by their key)."""
        due = await self.storage.planned_in(planned.slot_ms)
        shards, _ = self._shards(due, planned.slot_ms)
        published = await self.queue.publish(shards)
        log.warning(
            "slot %d: the queue had lost its shards (a restart?); %d published again",
            planned.slot_ms,
            published,
        )

    async def _replan_missed(self, planned: PlanSlot) -> int:
        """Make the monitors of a failed slot that no worker stored a check for due at once, so
        the next slot probes them instead of leaving them to their next due time."""
        due = await self.storage.planned_in(planned.slot_ms)
        end = planned.slot_ms + SLOT_MS
        keys = [(m.id, due_in_slot(m.id, self._interval_ms(m), end)) for m in due]
        missed = await self.storage.unchecked(keys)
        if missed:
            await self.storage.due_now(missed)
            log.warning(
                "slot %d: %d monitors without a check are planned again in the next slot",
                planned.slot_ms,
                len(missed),
            )
        return len(missed)

    async def _maintain(self, planned: PlanSlot, state: SlotState, now_ms: int) -> None:
        if state is SlotState.FAILED:
            await self._replan_missed(planned)
        await self.storage.finish_plan_slot(planned.slot_ms, state, now_ms)
        await self.queue.forget_slot(planned.slot_ms)
        outcome = CycleOutcome.DONE if state is SlotState.DONE else CycleOutcome.FAILED
        await self.storage.record_cycle(
            CycleRecord(
                started_at=planned.planned_at / 1000,
                finished_at=now_ms / 1000,
                outcome=outcome,
                probed=planned.monitors,
            )
        )
        try:
            await maintain(
                self.storage,
                now_ms / 1000,
                rollup_days=self.settings.ROLLUP_RETENTION_DAYS,
                cycle_interval_s=self.settings.CYCLE_INTERVAL,
            )
            if self.stats is not None:
                await self.stats.refresh()
        except Unavailable as exc:  # the next slot's maintenance catches up
            log.warning("slot %d maintained only in part: %s", planned.slot_ms, exc)


async def emf_lines(queue: ShardQueue, regions: Sequence[str], now_ms: int) -> list[str]:
    """CloudWatch Embedded Metric Format lines, one per region: printed by `plan --emf`, they
    become the metrics the workers' autoscaling follows (terraform/)."""
    lines = []
    dead = await queue.dead_letters()
    for region in regions:
        depth = await queue.depth(region)
        lines.append(
            json.dumps(
                {
                    "_aws": {
                        "Timestamp": now_ms,
                        "CloudWatchMetrics": [
                            {
                                "Namespace": "ServiceMonitor",
                                "Dimensions": [["Region"]],
                                "Metrics": [
                                    {"Name": "ShardStreamLag", "Unit": "Count"},
                                    {"Name": "ShardPending", "Unit": "Count"},
                                    {"Name": "ShardDeadLetters", "Unit": "Count"},
                                ],
                            }
                        ],
                    },
                    "Region": region,
                    "ShardStreamLag": depth.lag,
                    "ShardPending": depth.pending,
                    "ShardDeadLetters": dead,
                },
                separators=(",", ":"),
            )
        )
    return lines
