"""The API under a mixed load for a minute, with compute cycles running at the same time.

It exists to show that the service holds up when everything happens at once: readers of cached and
uncached statistics, writers adding URLs, and a cycle probing every URL and writing its checks into
the same MariaDB and Redis. It asserts nothing; it prints the figures and a verdict line.

What runs, in order:

1. A store of its own: MariaDB database `bench_load` (dropped and made afresh each run) and Redis
   keys `bench-load:*` (cleared). N monitors (--urls, default 10,000), each on a distinct loopback
   host of the target farm (bench/farm.py; 85% 200, 10% 500, 3% slow, 1% never answering, 1%
   refused, as bench/bench_compute.py), and --history-hours of checks (one per URL every 10
   minutes, outcomes matching each URL's kind) written with the product's `add_checks`, then
   rolled up, so every statistic has something to count.
2. The API as production runs it: uvicorn, 2 workers, API_KEYS set to a random key (every POST
   sends `Authorization: Bearer <key>`), ALLOW_PRIVATE_TARGETS=true (the farm is on 127/8),
   LOG_LEVEL=WARNING; its log (every worker's) goes to WORK_DIR/logs/api.log. A warm-up wrk run
   of a few seconds with the same mix fills the caches, the connection pools and the allocators.
3. wrk -t2 -c200 -d60s --latency with bench/load.lua: 70% GET of the 6 top lists and the summary
   (answered from the cache), 10% the same with ?cache=false (recomputed from the database), 20%
   POST /urls/ with a URL never sent before. Meanwhile, from a few seconds in, compute cycles
   (`python -m service_monitor.compute.scheduler`, one process per cycle, measured with wait4) run
   back to back for as long as the next one is expected to end within the load. The RSS of the
   uvicorn processes (master and workers, VmRSS from /proc) is sampled every 10 s.
4. Afterwards, from the database: each cycle checked every monitor active at its start exactly
   once (the seeded ones and the POSTed ones it took in), and every 201 wrk counted is a stored
   monitor (its id, taken from the Location header, looked up), with nothing else stored but the
   POSTs still in flight when wrk stopped.

How to read it: the verdict line counts answers that were neither 2xx nor 409 (target 0) and
wrk's socket errors (connect, read, write, timeout: target 0). A request unanswered after
--timeout seconds is a timeout error, and wrk leaves its latency out of the percentiles.

wrk keeps all 200 connections busy, so the API runs saturated by design: the mean time a request
took is connections x seconds / answers (Little's law), whatever the server, and what the run
shows is how that time is shared out. wrk's percentiles are corrected for coordinated omission
(a slow answer held its connection, so wrk adds the requests a steady-rate client would have sent
meanwhile): they are what such a client would see, and they are longer than the requests made.
Printed beside them: the uncorrected mean, the POSTs' own percentiles (each 201 matched to its
request by its URL in bench/load.lua), and a client of this script's own that times one request of
each kind in turn. Cached hits need no I/O and are answered at once; the uncached statistics and
the POSTs wait for the database and the cache, and every await of theirs puts them behind the
other connections' work in the worker's event loop, so the tail is theirs.

Memory is flat when the end sample is within 10% of the start one. CPU seconds per process group
over the load show where the 2 cores went, including to other users of the machine: it is shared
and 2-core, and wrk, the API, the compute, the farm and MariaDB all compete for it, so requests/s
and latency are noisy from one run to the next; the counts are not.

    python bench/bench_load.py [--duration 60] [--connections 200] [--threads 2] [--urls 10000]
        [--history-hours 6] [--timeout 5] [--cached-pct 70] [--uncached-pct 10]
        [--api-setting NAME=VALUE ...] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bench_compute import make_urls, raise_open_file_limit, start_farm
from service_monitor.config import Settings, load_settings
from service_monitor.models import Cause, Check, Status
from service_monitor.storage import open_storage
from stats_data import MySQL, hold_run_lock, server_facts
from stats_http import (
    ENDPOINTS,
    ROOT,
    Server,
    clean_env,
    free_port,
    get,
    percentile,
    require_wrk,
    serve,
    wrk_version,
)

WORK_DIR = Path("/tmp/bench-load")  # outside the repository: logs, wrk output, created ids
MYSQL_DB = "bench_load"
REDIS_PREFIX = "bench-load:"
LUA_SCRIPT = ROOT / "bench" / "load.lua"
CACHED_PCT, UNCACHED_PCT = 70, 10  # % of requests by default; the remaining 20% are POSTs
HISTORY_SLOT_S = 600  # one stored check per URL every 10 minutes, like a default cycle
SAMPLE_EVERY_S = 10.0  # seconds between two RSS samples of the API during the load
PROBE_TIMEOUT_S = 5.0  # TIMEOUT of the compute: seconds a probe may take (as bench_compute)
FLAT_MEMORY = 0.10  # end RSS within 10% of the start one counts as flat
PROBE_PAUSE_S = 0.2  # seconds between two rounds of the per-kind latency probe (3 requests)
_CYCLE_LINE = re.compile(
    r"cycle done: (?P<probed>\d+) URLs probed, (?P<success>\d+) success, (?P<fail>\d+) fail,"
    r" (?P<stored>\d+) checks stored, (?P<activated>\d+) new monitors, (?P<cycle_s>[\d.]+) s"
)


# -- the store ---------------------------------------------------------------------------------


@dataclass
class Seeded:
    monitors: int
    max_id: int  # the seeded monitors are the ids up to this one; POSTed ones come after
    checks: int
    insert_s: float
    roll_up_s: float


def store_env() -> dict[str, str]:
    return {
        "DB_ADDRESS": "127.0.0.1",
        "DB_USER": "root",
        "DB_NAME": MYSQL_DB,
        "CACHE_ADDRESS": "127.0.0.1",
        "CACHE_KEY_PREFIX": REDIS_PREFIX,
    }


def history(monitor_id: int, url: str, now: float, slots: int, rng: random.Random) -> list[Check]:
    """`slots` checks of one URL, 10 minutes apart, ending before `now`, with the outcome a probe of
    that farm URL gets (the "ok" ones also fail 0-20% of the time, so the top lists differ)."""
    offset = rng.uniform(0, HISTORY_SLOT_S)  # URLs are spread over the slot, as a cycle spreads
    fail_rate = rng.uniform(0, 0.2)
    checks = []
    for slot in range(slots):
        at = now - (slot + 1) * HISTORY_SLOT_S + offset
        if "/ok/" in url and rng.random() >= fail_rate:
            checks.append(Check(monitor_id, at, Status.SUCCESS, 200, rng.randint(1, 30)))
        elif "/ok/" in url or "/err/" in url:
            checks.append(
                Check(monitor_id, at, Status.FAIL, 500, rng.randint(1, 30), Cause.HTTP_STATUS)
            )
        elif "/slow/" in url:
            delay_ms = int(url.split("/")[-2])
            checks.append(Check(monitor_id, at, Status.SUCCESS, 200, delay_ms))
        elif "/hang/" in url:
            latency = int(PROBE_TIMEOUT_S * 1000)
            checks.append(Check(monitor_id, at, Status.FAIL, None, latency, Cause.TIMEOUT))
        else:  # refused
            checks.append(Check(monitor_id, at, Status.FAIL, None, 1, Cause.CONNECT))
    return checks


async def seed(settings: Settings, urls: list[str], history_hours: float) -> Seeded:
    """A fresh database with the monitors and their history, and no Redis key of ours."""
    admin = await MySQL.connect()
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {MYSQL_DB}")
    finally:
        await admin.close()
    client = redis.Redis(host="127.0.0.1")
    try:
        keys = list(client.scan_iter(match=f"{REDIS_PREFIX}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()

    storage = await open_storage(settings)  # creates the database and its schema
    try:
        now = time.time()
        rows = [(f"target {i}", url) for i, url in enumerate(urls)]
        for start in range(0, len(rows), 10_000):
            await storage.import_monitors(rows[start : start + 10_000], now)
        db = await MySQL.connect(MYSQL_DB)
        try:
            ids = {str(url): int(i) for i, url in await db.fetch("SELECT id, url FROM monitors")}
        finally:
            await db.close()
        rng = random.Random(len(urls))
        slots = round(history_hours * 3600 / HISTORY_SLOT_S)
        started = time.perf_counter()
        batch: list[Check] = []
        written = 0
        for url in urls:
            batch += history(ids[url], url, now, slots, rng)
            if len(batch) >= 5000:  # checks per transaction, a cycle's 10 batches of 500
                await storage.add_checks(batch)
                written += len(batch)
                batch = []
        await storage.add_checks(batch)
        written += len(batch)
        insert_s = time.perf_counter() - started
        started = time.perf_counter()
        await storage.roll_up(time.time())
        roll_up_s = time.perf_counter() - started
    finally:
        await storage.close()
    return Seeded(len(ids), max(ids.values()), written, insert_s, roll_up_s)


# -- memory of the API ---------------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (uvicorn's master, its workers, anything they started)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue  # ended meanwhile
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the name in () may hold spaces
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MB (VmRSS, shared pages counted in each process)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return 0.0


def role(pid: int) -> str:
    """What a process of uvicorn's tree is, from its command line."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return "gone"
    if b"uvicorn" in cmdline:
        return "master"
    if b"resource_tracker" in cmdline:
        return "resource tracker"  # multiprocessing's helper, started with the workers
    if b"multiprocessing" in cmdline:
        return "worker"
    return "other"


@dataclass
class MemorySample:
    at_s: float  # seconds since the load started
    per_process: list[tuple[str, float]]  # (role, MB): master, workers, then the rest

    @property
    def total(self) -> float:
        return sum(mb for _, mb in self.per_process)

    def line(self) -> str:
        parts = ", ".join(f"{name} {mb:.0f}" for name, mb in self.per_process)
        return f"{self.total:6.1f} MB ({parts})"


def sample_memory(server: Server, at_s: float) -> MemorySample:
    order = {"master": 0, "worker": 1, "resource tracker": 2}
    found = [(role(pid), rss_mb(pid)) for pid in process_tree(server.proc.pid)]
    return MemorySample(at_s, sorted(found, key=lambda item: order.get(item[0], 3)))


# -- where the CPU went ---------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")  # /proc's CPU times are in these ticks per second


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime: fields 14 and 15


def pids_named(*names: str) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if Path(f"/proc/{entry.name}/comm").read_text().strip() in names:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def machine_busy_s() -> float:
    """CPU seconds spent by every CPU of the machine on anything but idling, since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / CLK_TCK  # less idle and iowait


def cpu_snapshot(server: Server, farm_pid: int) -> dict[str, float]:
    """CPU seconds so far of the long-lived processes of the run, and of the whole machine."""
    me = os.times()
    return {
        "API (uvicorn master + workers)": sum(cpu_s(p) for p in process_tree(server.proc.pid)),
        "MariaDB": sum(cpu_s(p) for p in pids_named("mariadbd", "mysqld")),
        "Redis": sum(cpu_s(p) for p in pids_named("redis-server")),
        "target farm": cpu_s(farm_pid),
        "this script (and its latency probe)": me.user + me.system,
        "machine": machine_busy_s(),
    }


# -- compute cycles ------------------------------------------------------------------------------


@dataclass
class CycleRun:
    number: int
    proc: subprocess.Popen[bytes]
    log: Path
    started_s: float  # seconds since the load started
    ended_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    returncode: int | None = None
    cycle_line: str = ""  # the compute's "cycle done: ..." line

    @property
    def wall_s(self) -> float:
        return self.ended_s - self.started_s

    def reap(self, t0: float, block: bool = False) -> bool:
        """True once the process has ended (then its usage is read): os.wait4, not Popen.poll,
        so that its CPU time and peak RSS are its own."""
        pid, status, usage = os.wait4(self.proc.pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return False
        self.ended_s = time.monotonic() - t0
        self.returncode = self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.cpu_s = usage.ru_utime + usage.ru_stime
        self.peak_rss_mb = usage.ru_maxrss / 1024  # kB on Linux
        match = _CYCLE_LINE.search(self.log.read_text(errors="replace"))
        self.cycle_line = match[0] if match else ""
        return True


def start_cycle(number: int, env: dict[str, str], t0: float) -> CycleRun:
    log = WORK_DIR / "logs" / f"compute-{number}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "service_monitor.compute.scheduler"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return CycleRun(number, proc, log, time.monotonic() - t0)


# -- wrk -----------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    """What bench/load.lua's done() printed, and wrk's own text."""

    output: str
    sent: dict[str, int] = field(default_factory=dict)  # kind -> requests sent
    answers: dict[tuple[str, int], int] = field(default_factory=dict)  # (class, status) -> count
    samples: list[str] = field(default_factory=list)  # bodies of unexpected answers
    summary: dict[str, int] = field(default_factory=dict)  # requests, duration_us, errors
    latency_us: dict[str, float] = field(default_factory=dict)  # wrk's, corrected (see load.lua)
    post_latency_us: dict[str, float] = field(default_factory=dict)  # each 201, as it was

    @property
    def requests_per_s(self) -> float:
        return self.summary.get("requests", 0) / max(self.summary.get("duration_us", 1) / 1e6, 1e-9)

    @property
    def unexpected(self) -> int:
        """Answers neither 2xx nor 409 (a 409 is the API's right answer to a known URL)."""
        return sum(n for (_, status), n in self.answers.items() if not ok_status(status))

    @property
    def socket_errors(self) -> int:
        return sum(self.summary.get(k, 0) for k in ("connect", "read", "write", "timeout"))

    def count(self, cls: str, status: int | None = None) -> int:
        return sum(n for (c, s), n in self.answers.items() if c == cls and status in (None, s))


def ok_status(status: int) -> bool:
    return 200 <= status <= 299 or status == 409


def parse_load(output: str) -> LoadResult:
    result = LoadResult(output)
    for line in output.splitlines():
        words = line.split()
        if line.startswith("load sent "):
            result.sent[words[2]] = int(words[3])
        elif line.startswith("load answers "):
            result.answers[(words[2], int(words[3]))] = int(words[4])
        elif line.startswith("load sample "):
            result.samples.append(line.removeprefix("load sample "))
        elif line.startswith("load summary "):
            result.summary = {k: int(v) for k, v in zip(words[2::2], words[3::2], strict=True)}
        elif line.startswith("load post_latency_us "):
            result.post_latency_us = {
                k: float(v) for k, v in zip(words[2::2], words[3::2], strict=True)
            }
        elif line.startswith("load latency_us "):
            result.latency_us = {k: float(v) for k, v in zip(words[2::2], words[3::2], strict=True)}
    if not result.summary:
        raise SystemExit(f"wrk printed no summary of bench/load.lua:\n{output[-3000:]}")
    return result


def wrk_command(
    port: int, tag: str, key: str, farm_port: int, args: argparse.Namespace, duration_s: float
) -> list[str]:
    out_dir = WORK_DIR / "created"
    return [
        require_wrk(),
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration_s:g}s",
        f"--timeout={args.timeout:g}s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        f"http://127.0.0.1:{port}",
        "--",
        tag,
        key,
        str(farm_port),
        str(args.cached_pct),
        str(args.uncached_pct),
        str(out_dir),
    ]


def run_wrk_blocking(cmd: list[str], output: Path) -> LoadResult:
    with output.open("w") as out:
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False)
    text = output.read_text(errors="replace")
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{text[-3000:]}")
    return parse_load(text)


def created_ids(tag: str) -> list[int]:
    """Monitor ids of the 201 answers of one wrk run, as bench/load.lua wrote them."""
    ids = []
    for path in sorted((WORK_DIR / "created").glob(f"created-{tag}-*.txt")):
        ids += [int(line) for line in path.read_text().split() if line.isdigit()]
    return ids


# -- the run -------------------------------------------------------------------------------------


@dataclass
class LoadRun:
    result: LoadResult
    memory: list[MemorySample]
    cycles: list[CycleRun]
    wall_s: float
    probe: KindProbe
    cpu_s: dict[str, float]  # CPU seconds during the load, per process group, and "machine"


def run_load(
    server: Server,
    cmd: list[str],
    compute_env: dict[str, str],
    args: argparse.Namespace,
    probe: KindProbe,
    farm_pid: int,
) -> LoadRun:
    """wrk in the background; meanwhile RSS samples every 10 s and compute cycles back to back
    from --compute-start on, each started only while it is expected to end within the load."""
    output = WORK_DIR / "wrk-load.txt"
    memory = [sample_memory(server, 0.0)]
    print(f"    +  0 s  API RSS {memory[0].line()}", flush=True)
    cycles: list[CycleRun] = []
    running: CycleRun | None = None
    cpu_start = cpu_snapshot(server, farm_pid)
    with output.open("w") as out:
        t0 = time.monotonic()
        wrk = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        probe.start()
        next_sample = SAMPLE_EVERY_S
        while True:
            pid, status, usage = os.wait4(wrk.pid, os.WNOHANG)  # wrk's own CPU time, unlike poll
            if pid:
                wrk.returncode = os.waitstatus_to_exitcode(status)
                wrk_cpu_s = usage.ru_utime + usage.ru_stime
                break
            now = time.monotonic() - t0
            if running is None and now >= args.compute_start:
                last = cycles[-1].wall_s if cycles else 0.0
                if not cycles or now + last < args.duration:
                    running = start_cycle(len(cycles) + 1, compute_env, t0)
                    print(f"    +{now:3.0f} s  compute cycle {running.number} started", flush=True)
            if running is not None and running.reap(t0):
                cycles.append(running)
                report_cycle_end(running)
                running = None
            if now >= next_sample:
                memory.append(sample_memory(server, now))
                print(f"    +{now:3.0f} s  API RSS {memory[-1].line()}", flush=True)
                next_sample += SAMPLE_EVERY_S
            time.sleep(0.1)
        wall = time.monotonic() - t0
        probe.stop.set()
        cpu_end = cpu_snapshot(server, farm_pid)
        memory.append(sample_memory(server, wall))
        print(f"    +{wall:3.0f} s  API RSS {memory[-1].line()}  (wrk done: the end sample)")
        if running is not None:
            print(
                f"    compute cycle {running.number} still running after the load; waiting for it",
                flush=True,
            )
            running.reap(t0, block=True)
            cycles.append(running)
            report_cycle_end(running)
    if wrk.returncode != 0:
        raise SystemExit(f"wrk failed ({wrk.returncode}):\n{output.read_text()[-3000:]}")
    probe.join()
    cpu = {name: cpu_end[name] - cpu_start[name] for name in cpu_start}
    cpu["wrk"] = wrk_cpu_s
    cpu["compute cycles"] = sum(c.cpu_s for c in cycles)
    return LoadRun(parse_load(output.read_text(errors="replace")), memory, cycles, wall, probe, cpu)


def report_cycle_end(cycle: CycleRun) -> None:
    print(
        f"    +{cycle.ended_s:3.0f} s  compute cycle {cycle.number} ended (exit"
        f" {cycle.returncode}): {cycle.cycle_line or 'NO cycle line, see ' + str(cycle.log)}",
        flush=True,
    )


def post(
    conn: http.client.HTTPConnection, name: str, url: str, key: str | None
) -> tuple[int, bytes]:
    body = json.dumps({"name": name, "url": url})
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    conn.request("POST", "/urls/", body, headers)
    answer = conn.getresponse()
    return answer.status, answer.read()


def preflight(port: int, key: str, farm_port: int) -> str:
    """One POST with the key and one statistic, before any load: a wrong setup stops here. And
    one POST without the key, for the record: 401 once API_KEYS is enforced."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        farm = f"http://127.0.0.1:{farm_port}"
        status, text = post(conn, "load preflight", f"{farm}/ok/preflight", key)
        if status != 201:
            raise SystemExit(f"POST /urls/ with the bench's key answered {status}: {text[:300]!r}")
        keyless, _ = post(conn, "load preflight", f"{farm}/ok/preflight-no-key", None)
    finally:
        conn.close()
    status, _, text = get(port, "/urls/top/fail/hour?cache=false", timeout=60)
    if status != 200:
        raise SystemExit(f"GET /urls/top/fail/hour?cache=false answered {status}: {text[:300]!r}")
    enforced = "enforced" if keyless == 401 else "NOT enforced"
    return (
        f"POST with the key 201, without it {keyless} (API_KEYS {enforced}),"
        f" GET top/fail/hour?cache=false 200 ({len(text)} bytes)"
    )


class KindProbe(threading.Thread):
    """A client of its own beside wrk, which cannot tell its latencies apart by kind: one request
    of each kind in turn, timed around send and read on one keep-alive connection, every
    PROBE_PAUSE_S, for as long as the load runs. Its POSTs are named "load p-N"."""

    def __init__(self, port: int, key: str, farm_port: int) -> None:
        super().__init__(daemon=True)
        self.port, self.key, self.farm_port = port, key, farm_port
        self.stop = threading.Event()
        self.ms: dict[str, list[float]] = {"cached": [], "uncached": [], "post": []}
        self.bad: dict[str, list[str]] = {"cached": [], "uncached": [], "post": []}
        self.created = 0

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        n = 0
        try:
            while not self.stop.is_set():
                n += 1
                path = ENDPOINTS[n % len(ENDPOINTS)]
                self.timed(conn, "cached", "GET", path)
                self.timed(conn, "uncached", "GET", f"{path}?cache=false")
                url = f"http://127.127.{n // 256 % 256}.{n % 256}:{self.farm_port}/ok/p-{n}"
                self.timed(conn, "post", "POST", "/urls/", {"name": f"load p-{n}", "url": url})
                self.stop.wait(PROBE_PAUSE_S)
        finally:
            conn.close()

    def timed(
        self,
        conn: http.client.HTTPConnection,
        kind: str,
        method: str,
        path: str,
        body: dict[str, str] | None = None,
    ) -> None:
        headers = {}
        if body is not None:
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"}
        started = time.perf_counter()
        try:
            conn.request(method, path, json.dumps(body) if body else None, headers)
            answer = conn.getresponse()
            text = answer.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()  # reconnects at the next request
            self.bad[kind].append(repr(exc))
            return
        self.ms[kind].append((time.perf_counter() - started) * 1000)
        if answer.status == 201:
            self.created += 1
        if not ok_status(answer.status):
            self.bad[kind].append(f"{answer.status} {text[:200]!r}")


# -- checks afterwards ---------------------------------------------------------------------------


@dataclass
class CycleCheck:
    started_s_epoch: float
    outcome: str
    probed: int
    stored: int
    checks: int  # checks stored from its start to the next cycle's
    distinct: int  # monitors among them
    seeded: int  # seeded monitors among them


@dataclass
class Verification:
    cycles: list[CycleCheck]
    posted_in_db: int  # monitors named "load m-..." (the load's POSTs)
    created: list[int]  # ids of the 201s
    created_found: int  # of those, monitors in the database, not deleted
    warmup_in_db: int
    warmup_created: int
    probe_in_db: int
    monitors: int
    total_checks: int


async def verify(seeded: Seeded) -> Verification:
    db = await MySQL.connect(MYSQL_DB)
    try:
        rows = await db.fetch(
            "SELECT started_at, outcome, probed, stored_checks FROM cycles ORDER BY started_at"
        )
        cycles = []
        for i, (started, outcome, probed, stored) in enumerate(rows):
            end = rows[i + 1][0] if i + 1 < len(rows) else 2**62
            count, distinct, ours = (
                await db.fetch(
                    "SELECT COUNT(*), COUNT(DISTINCT monitor_id),"
                    " COUNT(DISTINCT CASE WHEN monitor_id <= %s THEN monitor_id END)"
                    " FROM checks WHERE checked_at >= %s AND checked_at < %s",
                    (seeded.max_id, started, end),
                )
            )[0]
            cycles.append(
                CycleCheck(
                    int(started) / 1000,
                    str(outcome),
                    int(probed),
                    int(stored),
                    int(count),
                    int(distinct),
                    int(ours or 0),
                )
            )
        posted = {
            int(i)
            for (i,) in await db.fetch(
                "SELECT id FROM monitors WHERE name LIKE 'load m-%' AND state <> 2"
            )
        }
        warm, probe = (
            await db.fetch(
                "SELECT (SELECT COUNT(*) FROM monitors WHERE name LIKE 'load w-%'),"
                " (SELECT COUNT(*) FROM monitors WHERE name LIKE 'load p-%')"
            )
        )[0]
        monitors, total = (
            await db.fetch("SELECT (SELECT COUNT(*) FROM monitors), (SELECT COUNT(*) FROM checks)")
        )[0]
    finally:
        await db.close()
    created = created_ids("m")
    return Verification(
        cycles,
        len(posted),
        created,
        len(set(created) & posted),
        int(warm),
        len(created_ids("w")),
        int(probe),
        int(monitors),
        int(total),
    )


# -- report --------------------------------------------------------------------------------------


def print_results(run: LoadRun, args: argparse.Namespace) -> None:
    r = run.result
    lat = {k: v / 1000 for k, v in r.latency_us.items()}  # ms
    s = r.summary
    print(
        f"\n  Throughput: {s['requests']:,} answers in {s['duration_us'] / 1e6:.1f} s ="
        f" {r.requests_per_s:,.0f} requests/s"
    )
    print(
        f"  Latency ms, all kinds, wrk --latency (corrected for coordinated omission): mean"
        f" {lat['mean']:.1f}, p50 {lat['p50']:.1f}, p75 {lat['p75']:.1f}, p90 {lat['p90']:.1f},"
        f" p99 {lat['p99']:.1f}, p99.9 {lat['p99.9']:.1f}, max {lat['max']:.1f}"
    )
    # Each connection has one request at a time, so the requests actually made took on average
    # connections x seconds / answers (Little's law; slightly less when connections sat idle).
    made_ms = args.connections * s["duration_us"] / 1000 / max(s["requests"], 1)
    print(
        f"    the requests as made (uncorrected): mean {made_ms:.1f} ms by Little's law"
        f" ({args.connections} connections x {s['duration_us'] / 1e6:.0f} s / answers)"
    )
    post = {k: v / 1000 for k, v in r.post_latency_us.items()}  # ms; n stays a count
    if post.get("n", 0) > 0:
        print(
            f"    POST /urls/ as made (uncorrected, each 201 matched to its request by its URL,"
            f" {r.post_latency_us['n']:,.0f} of them): p50 {post['p50']:.1f}, p90"
            f" {post['p90']:.1f}, p99 {post['p99']:.1f}, p99.9 {post['p99.9']:.1f}, max"
            f" {post['max']:.1f}"
        )
    print(
        f"  Socket errors: connect {s['connect']}, read {s['read']}, write {s['write']},"
        f" timeout {s['timeout']} (unanswered after {args.timeout:g} s)"
    )
    print(
        f"  Sent: {r.sent.get('cached', 0):,} GET statistic, {r.sent.get('uncached', 0):,}"
        f" GET statistic ?cache=false, {r.sent.get('post', 0):,} POST /urls/"
        " (those sent but unanswered when wrk stopped: at most one per connection)"
    )
    labels = {
        "get-cached": "GET answered from the cache (cached: true)",
        "get-computed": "GET computed (cached: false: ?cache=false, and misses)",
        "post": "POST /urls/ (201 with Location, or 409 with the existing id)",
        "other": "anything else (no cached header, not a POST answer)",
    }
    print("  Answers by status:")
    for cls, label in labels.items():
        statuses = sorted(s for c, s in r.answers if c == cls)
        if not statuses and cls == "other":
            continue
        histogram = ", ".join(f"{st}: {r.answers[(cls, st)]:,}" for st in statuses) or "none"
        print(f"    {label:62} {histogram}")
    for sample in r.samples[:10]:
        print(f"    sample of an unexpected answer: {sample}")
    probe = run.probe
    print(
        f"  Latency by kind, from a client of its own beside wrk (one request of each kind in"
        f" turn, every {PROBE_PAUSE_S:g} s):"
    )
    names = {"cached": "GET statistic", "uncached": "GET ?cache=false", "post": "POST /urls/"}
    for kind, name in names.items():
        ms = probe.ms[kind]
        median = statistics.median(ms) if ms else math.nan
        print(
            f"    {name:18} {len(ms):4} requests: median {median:7.1f} ms, p90"
            f" {percentile(ms, 90):7.1f}, max {max(ms, default=math.nan):7.1f};"
            " neither 2xx nor 409 or failed:"
            f" {len(probe.bad[kind])}{'  ' + probe.bad[kind][0] if probe.bad[kind] else ''}"
        )
    met = r.unexpected == 0 and r.socket_errors == 0
    print(
        f"  VERDICT: answers neither 2xx nor 409: {r.unexpected:,} (target 0); socket errors:"
        f" {r.socket_errors:,} (target 0); p99 {lat['p99']:.1f} ms:"
        f" {'met' if met else 'MISSED'}"
    )


def print_cpu(run: LoadRun) -> None:
    cpus = os.cpu_count() or 1
    available = cpus * run.wall_s
    machine = run.cpu_s["machine"]
    ours = {k: v for k, v in run.cpu_s.items() if k != "machine"}
    print(
        f"\n  CPU seconds during the load ({cpus} CPUs x {run.wall_s:.0f} s = {available:.0f}"
        f" available; the machine was busy {machine:.0f}, {machine / available:.0%}):"
    )
    for name, seconds in sorted(ours.items(), key=lambda item: -item[1]):
        print(f"    {name:38} {seconds:7.1f}  ({seconds / available:4.0%} of the machine)")
    others = machine - sum(ours.values())
    print(
        f"    {'everything else on the machine':38} {others:7.1f}  ({others / available:4.0%})"
        "  (other users' work; a compute cycle that ran on after the load makes this smaller)"
    )


def print_memory(samples: list[MemorySample]) -> None:
    start, end = samples[0], samples[-1]
    peak = max(samples, key=lambda m: m.total)
    change = end.total - start.total
    flat = abs(change) <= FLAT_MEMORY * start.total
    print(
        f"\n  API memory (VmRSS of uvicorn's master and workers, summed): start {start.total:.1f} MB,"
        f" end {end.total:.1f} MB, max {peak.total:.1f} MB (+{peak.at_s:.0f} s), change"
        f" {change:+.1f} MB ({change / start.total:+.1%}):"
        f" {'flat' if flat else 'NOT flat'} (within {FLAT_MEMORY:.0%})"
    )
    print(f"    per process, start: {start.line()}")
    print(f"    per process, end:   {end.line()}")


def print_cycles(run: LoadRun, v: Verification, seeded: Seeded, duration: float) -> None:
    print(f"\n  Compute cycles during the load ({len(run.cycles)}):")
    for cycle, check in zip(run.cycles, v.cycles, strict=False):
        posted = check.distinct - check.seeded
        exact = (
            check.outcome == "done"
            and check.checks == check.probed == check.stored == check.distinct
            and check.seeded == seeded.monitors
        )
        within = "within the load" if cycle.ended_s <= duration else "ENDED AFTER the load"
        print(
            f"    cycle {cycle.number}: +{cycle.started_s:.0f} s to +{cycle.ended_s:.0f} s"
            f" ({within}), process {cycle.wall_s:.1f} s wall, {cycle.cpu_s:.1f} s CPU,"
            f" peak RSS {cycle.peak_rss_mb:.0f} MB"
        )
        print(f"      {cycle.cycle_line or 'no cycle line: see ' + str(cycle.log)}")
        print(
            f"      in the database: outcome {check.outcome}, {check.checks:,} checks of"
            f" {check.distinct:,} monitors ({check.seeded:,} of the {seeded.monitors:,} seeded,"
            f" {posted:,} POSTed ones); every monitor active at its start checked exactly once:"
            f" {'yes' if exact else 'NO'}"
        )
    if len(v.cycles) != len(run.cycles):
        print(
            f"    the database records {len(v.cycles)} cycles for {len(run.cycles)} processes:"
            " MISMATCH"
        )
    for cycle in run.cycles:
        if cycle.returncode != 0:
            print(f"    cycle {cycle.number} exited {cycle.returncode}: see {cycle.log}")


def print_posts(run: LoadRun, v: Verification) -> None:
    r = run.result
    got_201 = r.count("post", 201)
    unanswered = r.sent.get("post", 0) - r.count("post")
    duplicates = len(v.created) - len(set(v.created))
    extra = v.posted_in_db - v.created_found
    kept = v.created_found == got_201 == len(v.created) and duplicates == 0
    kept = kept and 0 <= extra <= unanswered
    print(
        f"\n  POSTs: {got_201:,} answered 201; their {len(v.created):,} ids"
        f" ({duplicates} twice) looked up: {v.created_found:,} stored. The database holds"
        f" {v.posted_in_db:,} monitors of the load's POSTs = the 201s + {extra:,} whose answer wrk"
        f" never read ({unanswered:,} POSTs were in flight when it stopped)."
        f" Nothing dropped: {'yes' if kept else 'NO'}"
    )
    print(
        f"  Warm-up: {v.warmup_created:,} POSTs answered 201, {v.warmup_in_db:,} stored (the"
        f" difference: in flight when its wrk stopped); the latency probe: {run.probe.created:,}"
        f" answered 201, {v.probe_in_db:,} stored. In all {v.monitors:,} monitors and"
        f" {v.total_checks:,} checks at the end"
    )


def print_log(path: Path, what: str) -> None:
    lines = path.read_text(errors="replace").splitlines()
    bad = [line for line in lines if " ERROR " in line or "Traceback" in line or "Error" in line]
    warnings = [line for line in lines if " WARNING " in line]
    print(
        f"  {what} log ({path}): {len(lines)} lines, {len(bad)} errors or tracebacks,"
        f" {len(warnings)} warnings"
    )
    for line in (bad or warnings)[:8]:
        print(f"    {line[:240]}")


# -- main ----------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (wrk -d)")
    parser.add_argument("--connections", type=int, default=200, help="wrk -c: open connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t: client threads")
    parser.add_argument("--urls", type=int, default=10_000, help="monitors seeded")
    parser.add_argument(
        "--history-hours", type=float, default=6, help="hours of checks seeded (one per 10 min)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=5,
        help="seconds after which wrk counts a request as a timeout error (wrk's default is 2)",
    )
    parser.add_argument(
        "--cached-pct", type=int, default=CACHED_PCT, help="%% of requests: GET of a statistic"
    )
    parser.add_argument(
        "--uncached-pct",
        type=int,
        default=UNCACHED_PCT,
        help="%% of requests: GET of a statistic with ?cache=false (the rest are POSTs)",
    )
    parser.add_argument(
        "--api-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting of the API processes, e.g. MAX_POOL=20 (repeatable; for experiments)",
    )
    parser.add_argument("--warmup", type=float, default=5, help="seconds of warm-up load")
    parser.add_argument(
        "--compute-start", type=float, default=5, help="seconds into the load of the first cycle"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke check: 15 s of load on 1,000 URLs with 2 hours of history",
    )
    args = parser.parse_args()
    if not 0 <= args.cached_pct <= args.cached_pct + args.uncached_pct <= 100:
        parser.error("--cached-pct and --uncached-pct must be at least 0 and add up to 100 at most")
    for item in args.api_setting:
        if "=" not in item:
            parser.error(f"--api-setting {item!r}: expected NAME=VALUE")
    if args.quick:
        args.duration, args.urls, args.history_hours = 15, 1000, 2
        args.warmup, args.compute_start = 3, 3
    return args


def main() -> None:
    args = parse_args()
    require_wrk()  # before anything is loaded
    for sub in ("logs", "created"):
        (WORK_DIR / sub).mkdir(parents=True, exist_ok=True)
    hold_run_lock(WORK_DIR / "bench-load.lock", "bench-load")
    for old in [*(WORK_DIR / "created").glob("*.txt"), *(WORK_DIR / "logs").glob("compute-*")]:
        old.unlink()  # the last run's: this one's are read back
    fd_limit = raise_open_file_limit()
    key = secrets.token_urlsafe(24)
    print(
        f"bench-load: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start,"
        f" {asyncio.run(server_facts())}, Redis 127.0.0.1:6379, {wrk_version()}; open files"
        f" {fd_limit:,}; work dir {WORK_DIR}, database {MYSQL_DB}, Redis keys {REDIS_PREFIX}*",
        flush=True,
    )
    farm, farm_port = start_farm()
    try:
        closed = free_port()
        urls = make_urls(args.urls, farm_port, closed, seed=args.urls)
        settings = load_settings(**store_env())
        print(
            f"\n1. Store: {args.urls:,} monitors on the target farm (port {farm_port}; refused ones"
            f" on {closed}), {args.history_hours:g} h of history...",
            flush=True,
        )
        seeded = asyncio.run(seed(settings, urls, args.history_hours))
        print(
            f"   {seeded.monitors:,} monitors (ids up to {seeded.max_id:,}), {seeded.checks:,}"
            f" checks written with add_checks in {seeded.insert_s:.1f} s, rolled up in"
            f" {seeded.roll_up_s:.1f} s",
            flush=True,
        )
        common = {**store_env(), "ALLOW_PRIVATE_TARGETS": "true", "TIMEOUT": f"{PROBE_TIMEOUT_S:g}"}
        extra = dict(item.split("=", 1) for item in args.api_setting)
        api_env = clean_env(**common, API_KEYS=key, LOG_LEVEL="WARNING", **extra)
        api_settings = load_settings(**{**store_env(), **extra})
        compute_env = clean_env(**common, LOG_LEVEL="INFO")  # INFO: the "cycle done" line
        with serve(
            "api", "service_monitor.api.app:app", api_env, WORK_DIR / "logs", workers=2
        ) as api:
            print(
                f"\n2. API: uvicorn, 2 workers, {api.base} (master pid {api.proc.pid}),"
                f" API_KEYS=<random>, ALLOW_PRIVATE_TARGETS=true"
                f"{''.join(', ' + item for item in args.api_setting)}, other settings default"
                f" (MAX_POOL {api_settings.MAX_POOL} connections per worker, CACHE_LOCAL_TTL"
                f" {api_settings.CACHE_LOCAL_TTL:g} s); {preflight(api.port, key, farm_port)}",
                flush=True,
            )
            warm = run_wrk_blocking(
                wrk_command(api.port, "w", key, farm_port, args, args.warmup),
                WORK_DIR / "wrk-warmup.txt",
            )
            print(
                f"   warm-up: {args.warmup:g} s of the same mix, {warm.summary['requests']:,}"
                f" answers, {warm.unexpected} neither 2xx nor 409, {warm.socket_errors} socket"
                " errors",
                flush=True,
            )
            print(
                f"\n3. Load: wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s"
                f" --timeout {args.timeout:g}s --latency; {args.cached_pct}% GET of the 7 statistics,"
                f" {args.uncached_pct}% with ?cache=false,"
                f" {100 - args.cached_pct - args.uncached_pct}% POST"
                f" /urls/; compute cycles from +{args.compute_start:g} s (TIMEOUT"
                f" {PROBE_TIMEOUT_S:g} s, CONCURRENCY {settings.CONCURRENCY})",
                flush=True,
            )
            cmd = wrk_command(api.port, "m", key, farm_port, args, args.duration)
            probe = KindProbe(api.port, key, farm_port)
            run = run_load(api, cmd, compute_env, args, probe, farm.pid)
            status, _, _ = get(api.port, "/status", timeout=30)
            print(f"    after the load: GET /status {status}")
        verification = asyncio.run(verify(seeded))
    finally:
        farm.terminate()
        farm.wait()

    print("\nResults")
    print_results(run, args)
    print_cpu(run)
    print_memory(run.memory)
    print_cycles(run, verification, seeded, args.duration)
    print_posts(run, verification)
    print()
    print_log(WORK_DIR / "logs" / "api.log", "API (uvicorn and both workers)")
    for cycle in run.cycles:
        print_log(cycle.log, f"compute cycle {cycle.number}")
    print(
        f"\nLoad average {os.getloadavg()[0]:.2f} at the end; wrk's own output:"
        f" {WORK_DIR / 'wrk-load.txt'}"
    )


if __name__ == "__main__":
    main()
