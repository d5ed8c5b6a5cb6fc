"""The fleet (issue 17) measured: worker throughput, the claim-and-ack path's CPU, and planning at 1M.

Three parts, each printing a table (nothing asserts a time), on MariaDB + Redis on 127.0.0.1 with a
database (bench_fleet) and key prefix (bench-fleet:) of its own:

1. throughput: N monitors (--monitors, default 20,000) on the target farm (bench/farm.py, the mix
   of bench_compute.py: 85% 200, 10% 500, 3% slow, 1% hung, 1% refused), planned in one slot a
   minute ago so every due time is past, and worked by 1 and then 2 `service-monitor worker`
   processes (already waiting on the stream). Timed from the first shard taken to the slot's
   outstanding count reaching 0; probes/s, median of --runs. Where the cores went: CPU seconds of
   the workers, the farm, mariadbd, redis-server and this process (the planner) over that window,
   read from /proc/<pid>/stat, and the machine's busy time from /proc/stat (the rest is others').
2. overhead: the same N monitors probed by (a) the seed's whole-list cycle
   (`python -m service_monitor.compute.scheduler`, as bench_compute.py runs it, uvloop), (a') the
   same on asyncio's own loop, and (b) one fleet worker; CPU seconds (user + sys, os.wait4) of the
   probing process per probe, whole process, and the worker's CPU over the slot's window alone;
   mariadbd's CPU beside each.
3. scale: --size monitors (default 1,000,000) at a 10-minute interval, loaded with one
   INSERT ... SELECT, and simulated workers (this script with --sim-worker: the real
   RedisShardQueue, the worker's targets_of and add_checks with made-up results, then ack; no HTTP).
   The first slot plans every monitor (new ones are due at once), the next ones about a tenth each.
   Per slot: the planner's tick and its parts (due_monitors, the shards, record_plan, publish, the
   previous slot's maintenance), the shards published, the stream's MEMORY USAGE and INFO
   used_memory's growth at the lag peak (published, none taken), and the time 2 simulated workers
   take to drain it.

    python bench/bench_fleet.py [--parts throughput,overhead,scale] [--monitors 20000] [--runs 3]
                                [--mix farm|ok] [--size 1000000] [--slots 3] [--quick]

--mix ok makes every target of parts 1 and 2 a fast 200: the farm's hung and slow targets bound a
slot by latency (200 hung for 5 s each hold slots), fast ones by CPU.

--quick runs every part small (2,000 monitors, one run, a 20,000-monitor scale part): about a
minute or two overall.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncmy
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from bench_compute import free_port, make_urls, raise_open_file_limit, start_farm
from service_monitor.config import Settings, load_settings
from service_monitor.due import SLOT_MS, slot_of
from service_monitor.errors import Unavailable
from service_monitor.fleet.planner import Planner
from service_monitor.fleet.redis_streams import GROUP, RedisShardQueue
from service_monitor.fleet.worker import STORE_RETRY_S
from service_monitor.models import Cause, Check, Status
from service_monitor.storage import Storage, open_storage

ROOT = Path(__file__).resolve().parent.parent
MYSQL_DB = "bench_fleet"
REDIS_PREFIX = "bench-fleet:"
REGION = "local"
TICK_S = os.sysconf("SC_CLK_TCK")
T = TypeVar("T")


def settings_values(**extra: str) -> dict[str, str]:
    return {
        "DB_ADDRESS": "127.0.0.1",
        "DB_NAME": MYSQL_DB,
        "CACHE_ADDRESS": "127.0.0.1",
        "CACHE_KEY_PREFIX": REDIS_PREFIX,
        "CONCURRENCY": "200",
        "TIMEOUT": "5",
        # The farm is on 127.0.0.0/8: the guard stays on, this range allowed (as bench_compute).
        "ALLOWED_TARGET_NETWORKS": "127.0.0.0/8",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def clean_env(values: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env.update(values)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT / "bench")])
    return env


# --- where the cores went -------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a live process so far; 0 when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK_S  # utime, stime (fields 14, 15)


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / TICK_S


def pid_of(name: str) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == name:
                return int(entry.name)
        except OSError:
            continue
    return None


@dataclass
class CpuWatch:
    """CPU seconds of named processes (and the machine) between `start` and `stop`."""

    pids: dict[str, list[int]]
    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)

    def _sample(self) -> dict[str, float]:
        sample = {name: sum(proc_cpu(pid) for pid in pids) for name, pids in self.pids.items()}
        sample["machine"] = machine_busy()
        return sample

    def start(self) -> None:
        self.before = self._sample()

    def stop(self) -> None:
        self.after = self._sample()

    def used(self) -> dict[str, float]:
        return {name: self.after[name] - self.before[name] for name in self.after}


def load_line() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- the store and the queue ----------------------------------------------------------------


async def reset_backends() -> None:
    conn = await asyncmy.connect(host="127.0.0.1", user="root", password="")
    async with conn.cursor() as cur:
        await cur.execute("SET sql_notes = 0")
        await cur.execute(f"DROP DATABASE IF EXISTS {MYSQL_DB}")
    conn.close()
    client = aioredis.Redis(host="127.0.0.1")
    keys = [key async for key in client.scan_iter(match=f"{REDIS_PREFIX}*", count=10_000)]
    for start in range(0, len(keys), 10_000):
        await client.delete(*keys[start : start + 10_000])
    await client.aclose()


async def load_farm_monitors(settings: Settings, urls: list[str]) -> None:
    await reset_backends()
    storage = await open_storage(settings)
    try:
        rows = [(f"target {i}", url) for i, url in enumerate(urls)]
        for start in range(0, len(rows), 10_000):
            await storage.import_monitors(rows[start : start + 10_000], time.time())
    finally:
        await storage.close()


async def load_many_monitors(settings: Settings, size: int, interval_s: int) -> float:
    """`size` ACTIVE monitors at `interval_s`, in one INSERT ... SELECT from MariaDB's sequence
    engine; returns the seconds it took."""
    await reset_backends()
    storage = await open_storage(settings)  # creates the database and the schema
    await storage.close()
    started = time.perf_counter()
    conn = await asyncmy.connect(host="127.0.0.1", user="root", password="", database=MYSQL_DB)
    async with conn.cursor() as cur:
        url = "CONCAT('http://host-', seq, '.example/health')"
        await cur.execute(
            "INSERT INTO monitors (name, url, url_key, created_at, state, interval_s)"
            f" SELECT CONCAT('m', seq), {url}, UNHEX(SHA2({url}, 256)), %s, 1, %s"
            f" FROM seq_1_to_{int(size)}",
            (int(time.time() * 1000), interval_s),
        )
    await conn.commit()
    conn.close()
    return time.perf_counter() - started


async def innodb_deadlocks() -> int:
    """MariaDB's count of deadlocks since it started (the whole server: others' tests too)."""
    conn = await asyncmy.connect(host="127.0.0.1", user="root", password="")
    async with conn.cursor() as cur:
        await cur.execute("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'")
        row = await cur.fetchone()
    conn.close()
    return int(row[1]) if row else 0


async def count_checks() -> tuple[int, int]:
    conn = await asyncmy.connect(host="127.0.0.1", user="root", password="", database=MYSQL_DB)
    async with conn.cursor() as cur:
        await cur.execute("SELECT COUNT(*), COUNT(DISTINCT monitor_id) FROM checks")
        total, distinct = await cur.fetchone()
    conn.close()
    return int(total), int(distinct)


class NoIntake:
    """The planner's URL queue, empty: the monitors are in the store already."""

    async def push(self, monitor_id: int) -> None:
        return None

    async def claim(self, limit: int) -> list[int]:
        return []

    async def ack(self, monitor_ids: Sequence[int]) -> None:
        return None

    async def depth(self) -> int:
        return 0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def readers(client: aioredis.Redis) -> int:
    """Clients blocked on (or last running) XREADGROUP: idle workers wait there."""
    return sum(1 for c in await client.client_list() if c.get("cmd") == "xreadgroup")


async def stream_ready(client: aioredis.Redis, readers_before: int, consumers: int) -> None:
    """Wait until `consumers` more clients wait on XREADGROUP (Redis 7.0 makes a consumer only
    when it is served, so XINFO CONSUMERS cannot tell)."""
    for _ in range(600):
        if await readers(client) >= readers_before + consumers:
            await asyncio.sleep(0.5)
            return
        await asyncio.sleep(0.1)
    raise SystemExit(f"{consumers} workers never waited for shards")


async def pending(client: aioredis.Redis, stream: str) -> int:
    try:
        return int((await client.xpending(stream, GROUP))["pending"])
    except ResponseError:
        return 0


@dataclass
class Window:
    """From the first shard taken to the slot's last one done."""

    first_taken: float = 0.0
    done: float = 0.0

    @property
    def seconds(self) -> float:
        return self.done - self.first_taken


async def watch_slot(
    queue: RedisShardQueue,
    client: aioredis.Redis,
    stream: str,
    slot: Callable[[], int | None],
    on_first: Callable[[], None],
    limit_s: float,
) -> Window:
    """Poll every 10 ms: the first moment a shard is pending (taken), then outstanding == 0."""
    window = Window()
    deadline = time.monotonic() + limit_s
    at_start: int | None = None
    while window.first_taken == 0.0:
        planned = slot()
        outstanding = None if planned is None else await queue.outstanding(planned)
        if at_start is None:
            at_start = outstanding
        taken = outstanding is not None and at_start is not None and outstanding < at_start
        if taken or await pending(client, stream) > 0:
            window.first_taken = time.monotonic()
            on_first()
        elif time.monotonic() > deadline:
            raise SystemExit("no shard was taken")
        else:
            await asyncio.sleep(0.01)
    while True:
        planned = slot()
        if planned is not None and await queue.outstanding(planned) == 0:
            window.done = time.monotonic()
            return window
        if time.monotonic() > deadline:
            raise SystemExit(
                f"slot not done in {limit_s:.0f} s: {await queue.outstanding(planned or 0)}"
            )
        await asyncio.sleep(0.05)  # 50 ms: light on a shared Redis


@contextlib.contextmanager
def processes(
    cmds: Sequence[Sequence[str]], env: dict[str, str], *, inherit: bool = False
) -> Iterator[list[subprocess.Popen[str]]]:
    logs = [tempfile.TemporaryFile("w+") for _ in cmds]  # noqa: SIM115  (closed below)
    procs = [
        subprocess.Popen(
            list(cmd),
            env=env,
            stdout=None if inherit else log,
            stderr=None if inherit else subprocess.STDOUT,
            text=True,
        )
        for cmd, log in zip(cmds, logs, strict=True)
    ]
    try:
        yield procs
    except BaseException:
        for number, log in enumerate(logs):
            log.seek(0)
            print(f"--- process {number}:\n{log.read()[-3000:]}")
        raise
    finally:
        stop(procs)
        for log in logs:
            log.close()


def stop(procs: Sequence[subprocess.Popen[str]]) -> list[float]:
    """SIGTERM each and wait; the CPU seconds each used in all (os.wait4), 0 if waited before."""
    used = []
    for proc in procs:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        if proc.returncode is not None:
            used.append(0.0)
            continue
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        used.append(usage.ru_utime + usage.ru_stime)
    return used


# `service-monitor worker` runs on uvloop by default (--loop auto), as the compute does; the
# asyncio-loop worker is measured too, against the cycle on asyncio's loop.
WORKER_CMD = [sys.executable, "-m", "service_monitor.cli", "worker", "--loop", "asyncio"]
UVLOOP_WORKER_CMD = [sys.executable, "-m", "service_monitor.cli", "worker", "--loop", "uvloop"]


# --- part 1 and 2: real workers on the farm -------------------------------------------------


@dataclass
class FleetRun:
    workers: int
    seconds: float
    probes: int
    stored: int
    distinct: int
    cpu: dict[str, float]
    worker_cpu_total: float  # whole processes, os.wait4
    planner_s: float
    deadlocks: int  # InnoDB deadlocks during the run (add_checks retried after STORE_RETRY_S)

    @property
    def rate(self) -> float:
        return self.probes / self.seconds


async def fleet_run(
    urls: list[str],
    count: int,
    values: dict[str, str],
    farm_pid: int,
    cmd: Sequence[str] = UVLOOP_WORKER_CMD,
) -> FleetRun:
    settings = load_settings(**values)
    await load_farm_monitors(settings, urls)
    queue = await RedisShardQueue.open(settings)
    client = aioredis.Redis(host="127.0.0.1", decode_responses=True)
    stream = queue.stream(REGION)
    storage = await open_storage(settings)
    try:
        readers_before = await readers(client)
        deadlocks = await innodb_deadlocks()
        with processes([cmd] * count, clean_env(values)) as procs:
            await stream_ready(client, readers_before, count)
            watch = CpuWatch(
                {
                    "workers": [p.pid for p in procs],
                    "farm": [farm_pid],
                    "mariadbd": [pid for pid in [pid_of("mariadbd")] if pid],
                    "redis-server": [pid for pid in [pid_of("redis-server")] if pid],
                    "planner (bench)": [os.getpid()],
                }
            )
            # The slot a minute ago: every due time is past, so the workers probe at once.
            planner = Planner(storage, queue, NoIntake(), settings, clock=Clock(time.time() - 60))
            planned_slot: list[int] = []

            async def plan() -> float:
                started = time.perf_counter()
                planned = await planner.tick()
                assert planned is not None
                assert planned.monitors == len(urls), planned
                planned_slot.append(planned.slot_ms)
                return time.perf_counter() - started

            planning = asyncio.create_task(plan())
            window = await watch_slot(
                queue,
                client,
                stream,
                lambda: planned_slot[0] if planned_slot else None,
                watch.start,
                600,
            )
            watch.stop()
            planner_s = await planning
            worker_total = sum(stop(procs))
        stored, distinct = await count_checks()
        deadlocks = await innodb_deadlocks() - deadlocks
    finally:
        await storage.close()
        await client.aclose()
        await queue.close()
    return FleetRun(
        count,
        window.seconds,
        len(urls),
        stored,
        distinct,
        watch.used(),
        worker_total,
        planner_s,
        deadlocks,
    )


def farm_urls(count: int, port: int, closed: int, mix: str) -> list[str]:
    """bench_compute's mix (`farm`), or every target a fast 200 (`ok`): CPU-bound, not latency."""
    if mix == "farm":
        return make_urls(count, port, closed, seed=count)
    return [
        f"http://127.{1 + (i >> 16) % 254}.{(i >> 8) & 0xFF}.{i & 0xFF}:{port}/ok/{i}"
        for i in range(count)
    ]


def run_throughput(args: argparse.Namespace, farm_pid: int, port: int, closed: int) -> list[str]:
    urls = farm_urls(args.monitors, port, closed, args.mix)
    values = settings_values()
    runs: dict[int, list[FleetRun]] = {1: [], 2: []}
    for round_no in range(args.runs):
        for count in (1, 2):
            run = asyncio.run(fleet_run(urls, count, values, farm_pid))
            runs[count].append(run)
            cpu = run.cpu
            print(
                f"  round {round_no + 1}, {count} worker(s): {run.seconds:6.2f} s,"
                f" {run.rate:6.0f} probes/s, {run.stored} stored ({run.distinct} distinct),"
                f" {run.deadlocks} deadlocks;"
                " CPU s: " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()) + f"; {load_line()}",
                flush=True,
            )
    lines = [
        f"\n1. Throughput: {args.monitors:,} monitors on the farm ({args.mix} mix),"
        " CONCURRENCY 200 per worker,"
        f" TIMEOUT 5 s, median of {args.runs} runs ({os.cpu_count()} cores)",
        "| workers | slot s | probes/s | stored, once each | CPU s in the window: workers"
        " | farm | mariadbd | redis-server | planner | machine busy (of 2 x wall) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    medians: dict[int, FleetRun] = {}
    for count, samples in runs.items():
        ordered = sorted(samples, key=lambda r: r.seconds)
        mid = ordered[len(ordered) // 2]
        medians[count] = mid
        once = all(r.stored == r.probes and r.distinct == r.probes for r in samples)
        c = mid.cpu
        lines.append(
            f"| {count} | {mid.seconds:.2f} | {mid.rate:,.0f} | {mid.stored:,}, "
            f"{'yes' if once else 'NO'} | {c['workers']:.2f} | {c['farm']:.2f} |"
            f" {c['mariadbd']:.2f} | {c['redis-server']:.2f} | {c['planner (bench)']:.2f} |"
            f" {c['machine']:.2f} of {2 * mid.seconds:.2f} |"
        )
    rates = {count: statistics.median(r.rate for r in runs[count]) for count in runs}
    lines.append(
        f"2 workers / 1 worker: {rates[2] / rates[1]:.2f}x"
        f" (median rates {rates[1]:,.0f} and {rates[2]:,.0f} probes/s;"
        f" runs: {', '.join(f'{r.rate:,.0f}' for r in runs[1])} |"
        f" {', '.join(f'{r.rate:,.0f}' for r in runs[2])})"
    )
    return lines


@dataclass
class CycleRun:
    wall_s: float
    cpu_s: float
    db_cpu_s: float
    stored: int


def compute_cycle(urls: list[str], values: dict[str, str], loop: str) -> CycleRun:
    settings = load_settings(**values)
    asyncio.run(load_farm_monitors(settings, urls))
    db = pid_of("mariadbd")
    db_before = proc_cpu(db) if db else 0.0
    cmd = [sys.executable, "-m", "service_monitor.compute.scheduler", f"--loop={loop}"]
    with tempfile.TemporaryFile("w+") as out:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, env=clean_env(values), stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        if os.waitstatus_to_exitcode(status) != 0:
            out.seek(0)
            raise SystemExit(f"the compute cycle failed:\n{out.read()[-3000:]}")
    db_cpu = (proc_cpu(db) if db else 0.0) - db_before
    stored, _ = asyncio.run(count_checks())
    return CycleRun(wall, usage.ru_utime + usage.ru_stime, db_cpu, stored)


def run_overhead(args: argparse.Namespace, farm_pid: int, port: int, closed: int) -> list[str]:
    size = args.monitors
    urls = farm_urls(size, port, closed, args.mix)
    values = settings_values()
    seed_uv = compute_cycle(urls, values, "uvloop")
    print(f"  (a) seed cycle, uvloop: {seed_uv}; {load_line()}", flush=True)
    seed_aio = compute_cycle(urls, values, "asyncio")
    print(f"  (a') seed cycle, asyncio: {seed_aio}; {load_line()}", flush=True)
    fleet = asyncio.run(fleet_run(urls, 1, values, farm_pid, WORKER_CMD))
    print(
        f"  (b) one worker: {fleet.seconds:.2f} s, whole process {fleet.worker_cpu_total:.2f}"
        f" CPU s, in the window {fleet.cpu['workers']:.2f}; {load_line()}",
        flush=True,
    )
    fleet_uv = asyncio.run(fleet_run(urls, 1, values, farm_pid, UVLOOP_WORKER_CMD))
    print(
        f"  (b') one worker, uvloop: {fleet_uv.seconds:.2f} s, whole process"
        f" {fleet_uv.worker_cpu_total:.2f} CPU s, in the window {fleet_uv.cpu['workers']:.2f};"
        f" {load_line()}",
        flush=True,
    )

    def per_probe(cpu: float) -> str:
        return f"{cpu / size * 1000:.3f}"

    lines = [
        f"\n2. CPU per probe, {size:,} monitors on the farm ({args.mix} mix), one run,"
        " probing process only",
        "| run | wall s | CPU s | CPU ms/probe | ratio to (a) | mariadbd CPU s | stored |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, run in (
        ("(a) seed's whole-list cycle, uvloop", seed_uv),
        ("(a') the same, asyncio's loop", seed_aio),
    ):
        lines.append(
            f"| {label} | {run.wall_s:.2f} | {run.cpu_s:.2f} | {per_probe(run.cpu_s)} |"
            f" {run.cpu_s / seed_uv.cpu_s:.2f} | {run.db_cpu_s:.2f} | {run.stored:,} |"
        )
    lines.append(
        f"| (b) one fleet worker on asyncio's loop, whole process | {fleet.seconds:.2f} (slot) |"
        f" {fleet.worker_cpu_total:.2f} | {per_probe(fleet.worker_cpu_total)} |"
        f" {fleet.worker_cpu_total / seed_uv.cpu_s:.2f} | {fleet.cpu['mariadbd']:.2f} (window) |"
        f" {fleet.stored:,} |"
    )
    lines.append(
        f"| (b) that worker in the slot's window only | | {fleet.cpu['workers']:.2f} |"
        f" {per_probe(fleet.cpu['workers'])} | {fleet.cpu['workers'] / seed_uv.cpu_s:.2f} | | |"
    )
    lines.append(
        f"| (b') one fleet worker on uvloop (the default), whole process | {fleet_uv.seconds:.2f} (slot) |"
        f" {fleet_uv.worker_cpu_total:.2f} | {per_probe(fleet_uv.worker_cpu_total)} |"
        f" {fleet_uv.worker_cpu_total / seed_uv.cpu_s:.2f} |"
        f" {fleet_uv.cpu['mariadbd']:.2f} (window) | {fleet_uv.stored:,} |"
    )
    lines.append(
        f"| (b') the worker on uvloop in the slot's window only | |"
        f" {fleet_uv.cpu['workers']:.2f} | {per_probe(fleet_uv.cpu['workers'])} |"
        f" {fleet_uv.cpu['workers'] / seed_uv.cpu_s:.2f} | | |"
    )
    lines.append(
        f"(b) / (a') (same event loop): {fleet.worker_cpu_total / seed_aio.cpu_s:.2f};"
        f" the planner (this process) took {fleet.planner_s:.2f} s to plan the slot,"
        f" {fleet.cpu['planner (bench)']:.2f} CPU s in the window"
    )
    return lines


# --- part 3: a million monitors, simulated workers ------------------------------------------


async def sim_worker(values: dict[str, str]) -> None:
    """Take shards from the real queue, read their targets, store a made-up check per monitor
    and ack, until SIGTERM: a worker whose probes answer at once."""
    settings = load_settings(**values)
    storage = await open_storage(settings)
    queue = await RedisShardQueue.open(settings)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    consumer = f"sim-{os.getpid()}"
    spent: dict[str, float] = {}
    timed(storage, "targets_of", spent)
    timed(storage, "add_checks", spent)
    timed(queue, "ack", spent)
    timed(queue, "take", spent)
    try:
        while not stopping.is_set():
            deliveries = await queue.take_over(REGION, consumer, 10.0, 1)
            for delivery in deliveries or await queue.take(REGION, consumer, 1, 0.5):
                shard = delivery.shard
                due_of = dict(shard.items)
                targets = await storage.targets_of([monitor_id for monitor_id, _ in shard.items])
                checks = [
                    Check(
                        monitor_id=t.monitor_id,
                        checked_at=due_of[t.monitor_id] / 1000,
                        status=Status.SUCCESS if t.monitor_id % 20 else Status.FAIL,
                        http_status=200 if t.monitor_id % 20 else 503,
                        latency_ms=20 + t.monitor_id % 80,
                        cause=None if t.monitor_id % 20 else Cause.HTTP_STATUS,
                        detail=None if t.monitor_id % 20 else "status 503 is not one of 200-399",
                        region=shard.region,
                        due_at_ms=due_of[t.monitor_id],
                    )
                    for t in targets
                ]
                while True:  # as FleetWorker._store: try again after STORE_RETRY_S
                    try:
                        await storage.add_checks(checks)
                        break
                    except Unavailable:  # a deadlock on monitor_health: see the README
                        await asyncio.sleep(STORE_RETRY_S)
                await queue.ack(delivery)
    finally:
        print(
            f"    sim worker {os.getpid()}: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in spent.items()),
            file=sys.stderr,
            flush=True,
        )
        await queue.close()
        await storage.close()


@dataclass
class SlotFigures:
    label: str
    monitors: int
    shards: int
    tick_s: float
    parts: dict[str, float]
    stream_bytes: int
    used_memory_delta: int
    ours_delta: int
    keys_delta: int
    drain_s: float
    deadlocks: int


def timed(target: Any, name: str, parts: dict[str, float]) -> None:
    """Wrap `target.name` (a coroutine method) so its seconds add to parts[name]."""
    original = getattr(target, name)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            parts[name] = parts.get(name, 0.0) + time.perf_counter() - started

    setattr(target, name, wrapper)


def timed_sync(target: Any, name: str, parts: dict[str, float]) -> None:
    original = getattr(target, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            parts[name] = parts.get(name, 0.0) + time.perf_counter() - started

    setattr(target, name, wrapper)


async def redis_memory(client: aioredis.Redis, stream: str) -> tuple[int, int, int, int]:
    """used_memory (the whole server: others' keys too), the stream's MEMORY USAGE, and the
    bench's own keys: how many and the sum of their MEMORY USAGE."""
    used = int((await client.info("memory"))["used_memory"])
    stream_bytes = int(await client.memory_usage(stream, samples=0) or 0)
    keys = [key async for key in client.scan_iter(match=f"{REDIS_PREFIX}*", count=10_000)]
    ours = 0
    for start in range(0, len(keys), 5_000):
        pipe = client.pipeline(transaction=False)
        for key in keys[start : start + 5_000]:
            pipe.memory_usage(key, samples=0)
        ours += sum(int(size or 0) for size in await pipe.execute())
    return used, stream_bytes, len(keys), ours


async def scale_slots(size: int, slots: int, sim_workers: int) -> tuple[list[str], float]:
    values = settings_values()
    settings = load_settings(**values)
    loaded_s = await load_many_monitors(settings, size, 600)
    print(f"  {size:,} monitors loaded in {loaded_s:.1f} s; {load_line()}", flush=True)
    storage: Storage = await open_storage(settings)
    queue = await RedisShardQueue.open(settings)
    client = aioredis.Redis(host="127.0.0.1", decode_responses=True)
    stream = queue.stream(REGION)
    # Ticks at the start of each minute, as `plan` does: the statistics' windows a slot's
    # maintenance stores end there, before the due times of the slot it plans (a check older
    # than a stored window would be added to it as late).
    clock = Clock(slot_of(round(time.time() * 1000)) / 1000)
    planner = Planner(storage, queue, NoIntake(), settings, clock=clock)
    parts: dict[str, float] = {}
    for name in ("due_monitors", "record_plan", "open_plan_slots", "roll_up", "prune"):
        timed(storage, name, parts)
    timed(queue, "publish", parts)
    timed(planner, "_maintain", parts)
    timed_sync(planner, "_shards", parts)
    figures: list[SlotFigures] = []
    try:
        for number in range(slots + 1):
            parts.clear()
            used0, _, keys0, ours0 = await redis_memory(client, stream)
            deadlocks = await innodb_deadlocks()
            started = time.perf_counter()
            planned = await planner.tick()
            tick_s = time.perf_counter() - started
            assert planned is not None
            used1, stream_bytes, keys1, ours1 = await redis_memory(client, stream)
            label = "first (all new: due now)" if number == 0 else f"next slot {number}"
            with processes(
                [[sys.executable, __file__, "--sim-worker"]] * sim_workers,
                clean_env(values),
                inherit=True,
            ):
                window = await watch_slot(
                    queue,
                    client,
                    stream,
                    functools.partial(int, planned.slot_ms),
                    lambda: None,
                    1800,
                )
            figures.append(
                SlotFigures(
                    label,
                    planned.monitors,
                    planned.shards,
                    tick_s,
                    dict(parts),
                    stream_bytes,
                    used1 - used0,
                    ours1 - ours0,
                    keys1 - keys0,
                    window.seconds,
                    await innodb_deadlocks() - deadlocks,
                )
            )
            f = figures[-1]
            print(
                f"  slot {number}: {f.monitors:,} monitors, {f.shards:,} shards, tick"
                f" {f.tick_s:.2f} s ("
                + ", ".join(f"{k} {v:.2f}" for k, v in f.parts.items())
                + f"), stream {f.stream_bytes / 1e6:.1f} MB, our keys +{f.ours_delta / 1e6:.1f} MB,"
                f" used_memory"
                f" +{f.used_memory_delta / 1e6:.1f} MB, +{f.keys_delta} keys, drained in"
                f" {f.drain_s:.1f} s, {f.deadlocks} deadlocks; {load_line()}",
                flush=True,
            )
            clock.now += SLOT_MS / 1000
        # The last slot's maintenance, by a tick that plans nothing.
        parts.clear()
        started = time.perf_counter()
        await planner.tick(plan=False)
        last_finish = time.perf_counter() - started
        stored, _ = await count_checks()
        print(f"  {stored:,} checks stored in all")
    finally:
        await client.aclose()
        await queue.close()
        await storage.close()
    lines = [
        f"\n3. Scale: {size:,} monitors at a 10-minute interval, SHARD_SIZE 250, one region;"
        f" {sim_workers} simulated workers (targets_of + add_checks + ack, no HTTP);"
        f" loaded in {loaded_s:.1f} s",
        "| slot | monitors | shards | planner tick s | due_monitors | make shards | record_plan"
        " | publish | previous slot's maintenance | stream MEMORY USAGE | our keys' growth"
        " | used_memory growth (shared server) | keys added | drain s | checks/s | deadlocks |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
        " --- |",
    ]
    for f in figures:
        p = f.parts
        lines.append(
            f"| {f.label} | {f.monitors:,} | {f.shards:,} | {f.tick_s:.2f} |"
            f" {p.get('due_monitors', 0):.2f} | {p.get('_shards', 0):.2f} |"
            f" {p.get('record_plan', 0):.2f} | {p.get('publish', 0):.2f} |"
            f" {p.get('_maintain', 0):.2f} (roll_up {p.get('roll_up', 0):.2f},"
            f" prune {p.get('prune', 0):.2f}) | {f.stream_bytes / 1e6:.2f} MB |"
            f" {f.ours_delta / 1e6:.2f} MB |"
            f" {f.used_memory_delta / 1e6:.2f} MB | {f.keys_delta:,} | {f.drain_s:.1f} |"
            f" {f.monitors / f.drain_s:,.0f} | {f.deadlocks} |"
        )
    lines.append(f"the last slot's maintenance (a tick planning nothing): {last_finish:.2f} s")
    return lines, loaded_s


def run_scale(args: argparse.Namespace) -> list[str]:
    lines, _ = asyncio.run(scale_slots(args.size, args.slots, args.sim_workers))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="throughput,overhead,scale")
    parser.add_argument("--monitors", type=int, default=20_000, help="parts 1 and 2")
    parser.add_argument("--runs", type=int, default=3, help="part 1: runs (median reported)")
    parser.add_argument(
        "--mix",
        choices=("farm", "ok"),
        default="farm",
        help="parts 1 and 2: bench_compute's mix (hung and slow targets) or every target a fast 200",
    )
    parser.add_argument("--size", type=int, default=1_000_000, help="part 3: monitors")
    parser.add_argument("--slots", type=int, default=3, help="part 3: slots after the first")
    parser.add_argument("--sim-workers", type=int, default=2, help="part 3: simulated workers")
    parser.add_argument("--quick", action="store_true", help="every part small: a minute or two")
    parser.add_argument("--sim-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sim_worker:
        asyncio.run(sim_worker(settings_values()))
        return
    if args.quick:
        args.monitors, args.runs, args.size, args.slots = 2_000, 1, 20_000, 1
    parts = args.parts.split(",")
    fd_limit = raise_open_file_limit()
    print(
        f"bench_fleet: {os.cpu_count()} CPUs, open files limit {fd_limit:,};"
        f" {time.strftime('%Y-%m-%d %H:%M')}; {load_line()}",
        flush=True,
    )
    lines: list[str] = []
    if "throughput" in parts or "overhead" in parts:
        farm, port = start_farm()
        closed = free_port()
        try:
            if "throughput" in parts:
                lines += run_throughput(args, farm.pid, port, closed)
            if "overhead" in parts:
                lines += run_overhead(args, farm.pid, port, closed)
        finally:
            farm.terminate()
            farm.wait()
    if "scale" in parts:
        lines += run_scale(args)
    asyncio.run(reset_backends())
    print("\n".join(lines))
    print(f"\n{load_line()} at the end")


if __name__ == "__main__":
    main()
