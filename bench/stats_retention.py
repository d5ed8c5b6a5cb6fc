"""Retention simulation of the statistics benchmark: days 31..30+N on MariaDB, one simulated day at a time.

A database of its own (bench_stats_retention_*) holds 30 days of checks for the largest URL count.
Each simulated day inserts that day's checks (INSERT ... SELECT, through the indexes, in the order
probes write them), then calls the product's `roll_up(now)` and `prune(now, rollup_days=400)` with
`now` the end of that simulated day, while in the same process one task writes probe-like batches
of 500 checks through `storage.add_checks` and another asks `top`/`summary` in a loop: the slowest
of each during prune, against a baseline without it, is how long prune makes probes and the API
wait.

Simulated time is its own: the set starts 30 days before real time minus the days to simulate, and
the next run continues from where this one stopped (into the future, which nothing here reads), so
the set is loaded once and every run simulates days 31..30+N of a 30-day set again. Used by
bench/bench_stats.py.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass, field

from service_monitor.models import Cause, Check, Status
from service_monitor.storage import Storage, open_storage
from stats_data import (
    DAY_MS,
    HOUR_MS,
    ROLLUP_DAYS,
    SLOT_MS,
    SLOTS_PER_DAY,
    DataSetSpec,
    LoadReport,
    MySQL,
    mysql_full_load,
    mysql_insert_slots,
    mysql_reusable,
    mysql_set_meta,
    mysql_spec,
    roll_up_and_prune,
    set_meta,
)
from stats_http import percentile

WRITE_BATCH = 500  # checks per add_checks, the compute's WRITE_BATCH_SIZE
# Seconds between two write batches: 250 checks/s, 15x the steady rate of 10,000 URLs probed every
# 10 minutes (a cycle's burst), while adding only a few percent to a simulated day's checks.
WRITE_INTERVAL_S = 2.0
READ_INTERVAL_S = 0.25  # seconds between two queries: an API missing its cache all the time
BASELINE_MIN_S = 10.0  # seconds of load without prune before day 1 ...
BASELINE_MAX_S = 300.0  # ... and until every query has run once, but no longer than this
QUERIES: list[tuple[str, Status | None, int]] = [
    (f"top {status.value} {span}", status, seconds)
    for status in (Status.FAIL, Status.SUCCESS)
    for span, seconds in (("hour", 3600), ("week", 7 * 86400), ("month", 30 * 86400))
] + [("summary month", None, 30 * 86400)]


@dataclass
class Op:
    kind: str  # "add_checks" or one of QUERIES
    start: float  # time.monotonic() seconds
    end: float
    error: str = ""

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000


@dataclass
class Phase:
    name: str  # "baseline", "roll_up" or "prune"
    start: float
    end: float


class Load:
    """Probe-like writers and API-like readers through the product's storage, which the day's bulk
    insert pauses (it stands for the day's probes, not for extra load)."""

    def __init__(self, storage: Storage, monitor_ids: list[int], sim_now_ms: int) -> None:
        self.storage = storage
        self.ids = monitor_ids
        self.sim_now_ms = sim_now_ms
        self.ops: list[Op] = []
        self.written = 0  # checks stored by add_checks
        self._gate = asyncio.Event()
        self._busy = 0
        self._idle = asyncio.Event()  # set while no operation runs
        self._idle.set()
        self._stopping = False
        self._rng = random.Random(7)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._writer()), asyncio.create_task(self._reader())]
        self._gate.set()

    def resume(self) -> None:
        self._gate.set()

    async def pause(self) -> None:
        """Start nothing new and wait for what runs to finish."""
        self._gate.clear()
        await self._idle.wait()

    async def stop(self) -> None:
        self._stopping = True
        self._gate.set()
        await asyncio.gather(*self._tasks)

    def _begin(self) -> None:
        self._busy += 1
        self._idle.clear()

    def _end(self) -> None:
        self._busy -= 1
        if not self._busy:
            self._idle.set()

    async def _writer(self) -> None:
        next_id = 0
        step = 0  # ms after the simulated now, so the batches' checks do not all share one time
        while True:
            await self._gate.wait()
            if self._stopping:
                return
            checks = []
            for _ in range(WRITE_BATCH):
                ok = self._rng.random() >= 0.03
                checks.append(
                    Check(
                        monitor_id=self.ids[next_id % len(self.ids)],
                        checked_at=(self.sim_now_ms + step % SLOT_MS) / 1000,
                        status=Status.SUCCESS if ok else Status.FAIL,
                        http_status=200 if ok else 503,
                        latency_ms=self._rng.randint(20, 500),
                        cause=None if ok else Cause.HTTP_STATUS,
                    )
                )
                next_id += 1
                step += 1
            self._begin()
            started = time.monotonic()
            error = ""
            try:
                await self.storage.add_checks(checks)
                self.written += len(checks)
            except Exception as exc:  # recorded, not fatal: the figure is how long it took
                error = repr(exc)[:200]
            finally:
                self._end()
            op = Op("add_checks", started, time.monotonic(), error)
            self.ops.append(op)
            await asyncio.sleep(max(0.0, WRITE_INTERVAL_S - (op.end - op.start)))

    async def _reader(self) -> None:
        turn = 0
        while True:
            await self._gate.wait()
            if self._stopping:
                return
            kind, status, span_s = QUERIES[turn % len(QUERIES)]
            turn += 1
            since = self.sim_now_ms / 1000 - span_s
            self._begin()
            started = time.monotonic()
            error = ""
            try:
                if status is None:
                    await self.storage.summary(since)
                else:
                    await self.storage.top(status, since, 10)
            except Exception as exc:  # a timeout is a result here, not the end of the run
                error = repr(exc)[:200]
            finally:
                self._end()
            op = Op(kind, started, time.monotonic(), error)
            self.ops.append(op)
            await asyncio.sleep(max(0.0, READ_INTERVAL_S - (op.end - op.start)))


@dataclass
class Worst:
    count: int
    errors: int
    max_ms: float
    p99_ms: float


def worst(ops: list[Op], phases: list[Phase], writers: bool) -> Worst:
    """The ops of one side that overlap any of `phases` (baseline: lie within it)."""
    chosen = []
    for op in ops:
        if (op.kind == "add_checks") != writers:
            continue
        for phase in phases:
            inside = (
                phase.start <= op.start and op.end <= phase.end
                if phase.name == "baseline"
                else op.start < phase.end and op.end > phase.start
            )
            if inside:
                chosen.append(op)
                break
    ms = [op.ms for op in chosen]
    return Worst(
        len(chosen),
        sum(1 for op in chosen if op.error),
        max(ms) if ms else math.nan,
        percentile(ms, 99),
    )


@dataclass
class DayRow:
    day: int
    sim_date: str
    inserted: int
    insert_s: float
    roll_up_s: float
    roll_up_hours: int
    prune_s: float
    pruned_checks: int
    pruned_rollups: int
    pruned_cycles: int
    batches: int
    longest_batch_s: float
    raw_rows: int
    oldest_days: float
    writer_max_ms: float
    reader_max_ms: float


@dataclass
class RetentionReport:
    spec: DataSetSpec
    load: LoadReport | None  # set when this run (re)loaded the set
    meta: dict[str, str]  # the set's bench_meta: when and how fast it was loaded
    start_date: str = ""
    days: list[DayRow] = field(default_factory=list)
    baseline_writer: Worst | None = None
    baseline_reader: Worst | None = None
    prune_writer: Worst | None = None
    prune_reader: Worst | None = None
    roll_up_writer: Worst | None = None
    roll_up_reader: Worst | None = None
    final_rows: int = 0
    final_oldest_days: float = 0.0
    written: int = 0
    errors: list[str] = field(default_factory=list)
    setup_s: float = 0.0
    simulate_s: float = 0.0


def _date(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ms / 1000))


async def _oldest_ms(db: MySQL) -> int | None:
    # Both ends of the (status, checked_at) index: no scan of the table.
    rows = await db.fetch(
        "SELECT LEAST(COALESCE((SELECT MIN(checked_at) FROM checks WHERE status = 0), ~0 >> 1),"
        " COALESCE((SELECT MIN(checked_at) FROM checks WHERE status = 1), ~0 >> 1))"
    )
    value = int(rows[0][0])
    return None if value == (1 << 63) - 1 else value


async def prepare(urls: int, days: int, reload: bool) -> tuple[DataSetSpec, LoadReport | None]:
    """The retention set, loaded when missing: 30 days ending `days` before the last full hour."""
    spec = mysql_spec(urls, 30, role="retention_")
    _, why = await mysql_reusable(spec)
    if not why and not reload:
        return spec, None
    end = (
        int(time.time() * 1000) // HOUR_MS * HOUR_MS - days * DAY_MS
    )  # whole hours: days end on them
    report = LoadReport(action=f"loaded ({'--reload' if reload else why})")
    await mysql_full_load(spec, end, report)
    report.data_end_ms = end
    await roll_up_and_prune(spec, end, report, prune=False)
    await set_meta(
        spec, {"roll_up_s": f"{report.roll_up_s:.1f}", "roll_up_hours": report.roll_up_hours}
    )
    return spec, report


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"  # "-": no operation overlapped


def _print_day(row: DayRow) -> None:
    print(
        f"  {row.day:>3} {row.sim_date:>16} {row.inserted:>10,} {row.insert_s:7.1f}"
        f" {row.roll_up_s:7.1f} {row.roll_up_hours:>4} {row.prune_s:7.1f} {row.pruned_checks:>10,}"
        f" {row.pruned_rollups:>9,} {row.batches:>6} {row.longest_batch_s:7.3f}"
        f" {row.raw_rows:>12,} {row.oldest_days:7.2f} {_ms(row.writer_max_ms):>9}"
        f" {_ms(row.reader_max_ms):>9}",
        flush=True,
    )


DAY_HEADER = (
    f"  {'day':>3} {'simulated end':>16} {'inserted':>10} {'ins s':>7} {'rollup s':>7}"
    f" {'h':>4} {'prune s':>7} {'pruned':>10} {'rollups':>9} {'batch':>6} {'long s':>7}"
    f" {'raw rows':>12} {'oldest':>7} {'write ms':>9} {'read ms':>9}"
)


@dataclass
class _Run:
    """The state of one simulation: the set's slots so far and what the days did."""

    db: MySQL
    storage: Storage
    load: Load
    report: RetentionReport
    origin: int  # ms: the set's first slot
    slots: int  # slots inserted since `origin`
    counted: int  # raw checks at the start
    inserted: int = 0  # checks inserted by the simulated days
    pruned: int = 0  # checks removed by prune
    phases: list[Phase] = field(default_factory=list)

    @property
    def sim_now(self) -> int:
        return self.origin + self.slots * SLOT_MS

    async def baseline(self) -> None:
        """Writers and readers without prune: at least BASELINE_MIN_S seconds, and until every
        query ran once (BASELINE_MAX_S at most)."""
        start = time.monotonic()
        while True:
            await asyncio.sleep(1)
            elapsed = time.monotonic() - start
            seen = {op.kind for op in self.load.ops}
            if elapsed >= BASELINE_MAX_S or (
                elapsed >= BASELINE_MIN_S and all(q[0] in seen for q in QUERIES)
            ):
                break
        self.phases.append(Phase("baseline", start, time.monotonic()))
        print(
            f"  baseline without prune: {elapsed:.0f} s, {len(self.load.ops)} operations;"
            " then per simulated day (write/read ms: the slowest add_checks and query during"
            " that day's prune):",
            flush=True,
        )

    async def day(self, day: int) -> DayRow:
        await self.load.pause()
        t0 = time.perf_counter()
        # The day and its meta row in one transaction: an interrupted run never inserts a day
        # twice.
        await self.db.execute("BEGIN")
        inserted = await mysql_insert_slots(
            self.db, self.origin, self.slots, self.slots + SLOTS_PER_DAY
        )
        await mysql_set_meta(self.db, {"slots": self.slots + SLOTS_PER_DAY})
        await self.db.execute("COMMIT")
        self.slots += SLOTS_PER_DAY
        insert_s = time.perf_counter() - t0
        now = self.sim_now
        self.load.sim_now_ms = now
        self.load.resume()
        t0 = time.monotonic()
        hours = await self.storage.roll_up(now / 1000)
        roll_up = Phase("roll_up", t0, time.monotonic())
        t0 = time.monotonic()
        pruned = await self.storage.prune(now / 1000, rollup_days=ROLLUP_DAYS)
        prune = Phase("prune", t0, time.monotonic())
        self.phases += [roll_up, prune]
        oldest = await _oldest_ms(self.db)
        self.inserted += inserted
        self.pruned += pruned.checks
        return DayRow(
            day=day,
            sim_date=_date(now),
            inserted=inserted,
            insert_s=insert_s,
            roll_up_s=roll_up.end - roll_up.start,
            roll_up_hours=hours,
            prune_s=prune.end - prune.start,
            pruned_checks=pruned.checks,
            pruned_rollups=pruned.rollups,
            pruned_cycles=pruned.cycles,
            batches=pruned.batches,
            longest_batch_s=pruned.longest_batch_s,
            raw_rows=self.counted + self.inserted + self.load.written - self.pruned,
            oldest_days=(now - oldest) / DAY_MS if oldest is not None else math.nan,
            writer_max_ms=worst(self.load.ops, [prune], writers=True).max_ms,
            reader_max_ms=worst(self.load.ops, [prune], writers=False).max_ms,
        )

    def summarise(self) -> None:
        report, ops = self.report, self.load.ops
        by_name: dict[str, list[Phase]] = {"baseline": [], "roll_up": [], "prune": []}
        for phase in self.phases:
            by_name[phase.name].append(phase)
        report.baseline_writer = worst(ops, by_name["baseline"], writers=True)
        report.baseline_reader = worst(ops, by_name["baseline"], writers=False)
        report.roll_up_writer = worst(ops, by_name["roll_up"], writers=True)
        report.roll_up_reader = worst(ops, by_name["roll_up"], writers=False)
        report.prune_writer = worst(ops, by_name["prune"], writers=True)
        report.prune_reader = worst(ops, by_name["prune"], writers=False)
        report.errors = sorted({f"{op.kind}: {op.error}" for op in ops if op.error})
        report.written = self.load.written


async def simulate(urls: int, days: int, reload: bool) -> RetentionReport:
    started = time.perf_counter()
    spec, loaded = await prepare(urls, days, reload)
    meta, why = await mysql_reusable(spec)
    if why:
        raise SystemExit(f"retention set {spec.name} unusable after loading: {why}")
    report = RetentionReport(spec, loaded, meta)
    origin, slots = int(meta["origin_ms"]), int(meta["slots"])
    report.start_date = _date(origin + slots * SLOT_MS)
    db = await MySQL.connect(spec.name)
    storage = await open_storage(spec.settings())
    try:
        ids = [int(row[0]) for row in await db.fetch("SELECT id FROM monitors WHERE state = 1")]
        # Rollups and retention up to the set's end before the baseline (a set loaded before the
        # product had rollups gets its backfill here, counted in the setup time).
        end_s = (origin + slots * SLOT_MS) / 1000
        await storage.roll_up(end_s)
        await storage.prune(end_s, rollup_days=ROLLUP_DAYS)
        counted = int((await db.fetch("SELECT COUNT(*) FROM checks"))[0][0])
        report.setup_s = time.perf_counter() - started
        load = Load(storage, ids, origin + slots * SLOT_MS)
        run = _Run(db, storage, load, report, origin, slots, counted)
        began = time.perf_counter()
        load.start()
        try:
            await run.baseline()
            print(DAY_HEADER, flush=True)
            for day in range(1, days + 1):
                row = await run.day(day)
                report.days.append(row)
                _print_day(row)
        finally:
            await load.stop()
        report.simulate_s = time.perf_counter() - began
        run.summarise()
        report.final_rows = int((await db.fetch("SELECT COUNT(*) FROM checks"))[0][0])
        oldest = await _oldest_ms(db)
        report.final_oldest_days = (
            (run.sim_now - oldest) / DAY_MS if oldest is not None else math.nan
        )
    finally:
        await storage.close()
        await db.close()
    return report
