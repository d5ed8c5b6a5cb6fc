"""How a full compute cycle compares with a plain aiohttp loop on the same URLs, at 1k to 100k URLs.

For each size and round, in turn: (a) bench/bare_loop.py, the reference; (b) one cycle of ours on
MariaDB + Redis; (c) one cycle of ours on the embedded default (SQLite files). Each runs as its own
process, our cycle through the real entry point (`python -m service_monitor.compute.scheduler`), and
is measured from outside with os.wait4: wall seconds, CPU seconds (user + system) and peak RSS of
that process alone. Stored checks are counted in the database afterwards: one per URL, no more.

The targets are answered by bench/farm.py on distinct loopback hosts (127.A.B.C), with a mix close
to real life: 85% 200, 10% 500, 3% slow (200-2000 ms), 1% never answering, 1% refused.

Two mixes of checks (--mix):
- default: every monitor has the default check (one GET, success below 400), the seed's case;
- assertions: every monitor has a body keyword, a JSON path and a latency assertion (ASSERTION_SPEC)
  and the 200s answer a health-check JSON; the plain loop then reads, decodes and parses the same
  bodies and judges them the same way (bare_loop.py --assertions).

With --loops, our cycles also run on asyncio's own event loop (`--loop asyncio`) beside the default
(uvloop), so both are measured in the same rounds.

With --alerting, our cycles also run with alerting on (b+, c+): a default webhook channel (to
bench/alert_receiver.py) and `service-monitor dispatch` running on the same store during the cycle,
with FAILURE_THRESHOLD=1 so that every failing monitor (15 % of the mix) opens an incident in the
measured cycle and the dispatcher sends them (bursts in digests) while it runs: the worst case.

    python bench/bench_compute.py [--sizes 1000,10000] [--big] [--runs 3] [--mix default,assertions]
                                  [--loops] [--alerting]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncmy
import redis.asyncio as aioredis

from service_monitor.alerting.sealing import Sealer, new_key
from service_monitor.alerting.senders import new_webhook_secret
from service_monitor.alerting.targets import target_hint
from service_monitor.alerts import ChannelType
from service_monitor.check_spec import CheckSpec
from service_monitor.config import Settings, load_settings
from service_monitor.storage import open_storage

ROOT = Path(__file__).resolve().parent.parent
MYSQL_DB = "bench_compute"
REDIS_PREFIX = "bench-compute:"
VARIANTS = (
    "bare",
    "mysql",
    "sqlite",
    "mysql_asyncio",
    "sqlite_asyncio",
    "mysql_alerting",
    "sqlite_alerting",
)
LABELS = {
    "bare": "(a) plain aiohttp loop",
    "mysql": "(b) ours, MariaDB + Redis",
    "sqlite": "(c) ours, embedded",
    "mysql_asyncio": "(b') ours, MariaDB, asyncio",
    "sqlite_asyncio": "(c') ours, embedded, asyncio",
    "mysql_alerting": "(b+) ours, MariaDB, alerting",
    "sqlite_alerting": "(c+) ours, embedded, alerting",
}
MIXES = ("default", "assertions")
# The assertion mix's check on every monitor: what bare_loop.py --assertions judges too.
ASSERTION_SPEC = {
    "assertions": [
        {"type": "body", "op": "contains", "value": "healthy"},
        {"type": "json", "path": "$.status", "op": "equals", "value": "ok"},
        {"type": "latency", "below_ms": 3000},
    ]
}
_CYCLE_LINE = re.compile(
    r"cycle done: (?P<probed>\d+) URLs probed, (?P<success>\d+) success, (?P<fail>\d+) fail,"
    r" (?P<stored>\d+) checks stored, .*?, (?P<cycle_s>[\d.]+) s,"
    r" last probe started after (?P<last_start_s>[\d.]+) s"
)


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float
    rss_mb: float
    probed: int
    success: int
    stored: int  # rows in the checks table afterwards (bare loop: probes made)
    distinct: int  # distinct URLs among them
    last_start_s: float


def make_urls(
    count: int, port: int, closed_port: int, seed: int, mix: str = "default"
) -> list[str]:
    """Distinct loopback hosts, one URL each, in the farm's mix; the same list for every variant.
    In the assertion mix the 200s (and the slow ones) answer the farm's health-check JSON."""
    ok, slow = ("json", "slowjson") if mix == "assertions" else ("ok", "slow")
    rng = random.Random(seed)
    urls = []
    for i in range(count):
        host = f"127.{1 + (i >> 16) % 254}.{(i >> 8) & 0xFF}.{i & 0xFF}"
        roll = rng.random()
        if roll < 0.85:
            urls.append(f"http://{host}:{port}/{ok}/{i}")
        elif roll < 0.95:
            urls.append(f"http://{host}:{port}/err/{i}")
        elif roll < 0.98:
            urls.append(f"http://{host}:{port}/{slow}/{rng.randint(200, 2000)}/{i}")
        elif roll < 0.99:
            urls.append(f"http://{host}:{port}/hang/{i}")
        else:
            urls.append(f"http://{host}:{closed_port}/refused/{i}")
    return urls


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_farm() -> tuple[subprocess.Popen[str], int]:
    farm = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "farm.py")], stdout=subprocess.PIPE, text=True
    )
    assert farm.stdout is not None
    line = farm.stdout.readline()
    if not line.startswith("listening "):
        raise SystemExit(f"target farm did not start: {line!r}")
    return farm, int(line.split()[1])


def measure(cmd: Sequence[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """Run `cmd`; its wall seconds, CPU seconds, peak RSS in MB, and its stdout + stderr."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[1:]} exited {proc.returncode}:\n{text[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env.update(values)
    return env


async def prepare_mysql(settings: Settings, urls: list[str]) -> None:
    conn = await asyncmy.connect(host="127.0.0.1", user="root", password="")
    async with conn.cursor() as cur:
        await cur.execute("SET sql_notes = 0")  # no "database doesn't exist" note on a first run
        await cur.execute(f"DROP DATABASE IF EXISTS {MYSQL_DB}")
    conn.close()
    client = aioredis.Redis(host="127.0.0.1")
    keys = [key async for key in client.scan_iter(match=f"{REDIS_PREFIX}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
    await load_monitors(settings, urls)


async def load_monitors(settings: Settings, urls: list[str]) -> None:
    storage = await open_storage(settings)
    try:
        rows = [(f"target {i}", url) for i, url in enumerate(urls)]
        for start in range(0, len(rows), 10_000):
            await storage.import_monitors(rows[start : start + 10_000], time.time())
    finally:
        await storage.close()


async def count_mysql() -> tuple[int, int]:
    conn = await asyncmy.connect(host="127.0.0.1", user="root", password="", database=MYSQL_DB)
    async with conn.cursor() as cur:
        await cur.execute("SELECT COUNT(*), COUNT(DISTINCT monitor_id) FROM checks")
        total, distinct = await cur.fetchone()
    conn.close()
    return int(total), int(distinct)


def count_sqlite(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as conn:
        total, distinct = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT monitor_id) FROM checks"
        ).fetchone()
    return int(total), int(distinct)


async def store_spec(settings: Settings, spec: CheckSpec) -> None:
    """Give every monitor the spec, stored as the API stores it (canonical JSON in
    monitors.check_spec): one statement, where 100,000 PATCHes would take minutes."""
    storage = await open_storage(settings)
    try:
        await storage.execute("UPDATE monitors SET check_spec = ?", (spec.to_json(),))  # type: ignore[attr-defined]
    finally:
        await storage.close()


def run_variant(
    variant: str, urls: list[str], work: Path, concurrency: int, timeout: float, mix: str
) -> Sample:
    common = {"CONCURRENCY": str(concurrency), "TIMEOUT": str(timeout), "LOG_LEVEL": "INFO"}
    # The farm listens on 127.0.0.0/8: the guard stays on and this range is allowed, so every
    # probe pays what production pays for the SSRF check (ALLOW_PRIVATE_TARGETS would skip it).
    common["ALLOWED_TARGET_NETWORKS"] = "127.0.0.0/8"
    if variant == "bare":
        url_file = work / "urls.txt"
        url_file.write_text("\n".join(urls))
        cmd = [
            sys.executable,
            str(ROOT / "bench" / "bare_loop.py"),
            str(url_file),
            f"--concurrency={concurrency}",
            f"--timeout={timeout}",
            *(["--assertions"] if mix == "assertions" else []),
        ]
        wall, cpu, rss, out = measure(cmd, clean_env())
        result = json.loads(out.strip().splitlines()[-1])
        probed = int(result["probed"])
        return Sample(
            wall,
            cpu,
            rss,
            probed,
            int(result["success"]),
            probed,
            probed,
            float(result["last_start_s"]),
        )
    backend, _, loop = variant.partition("_")
    alerting = loop == "alerting"
    loop = "" if alerting else loop
    if backend == "mysql":
        values = {
            "DB_ADDRESS": "127.0.0.1",
            "DB_NAME": MYSQL_DB,
            "CACHE_ADDRESS": "127.0.0.1",
            "CACHE_KEY_PREFIX": REDIS_PREFIX,
            **common,
        }
        asyncio.run(prepare_mysql(load_settings(**values), urls))
    else:
        db_file = work / f"sqlite-{time.monotonic_ns()}" / "bench.sqlite3"
        db_file.parent.mkdir()
        values = {"SQLITE_PATH": str(db_file), **common}
        asyncio.run(load_monitors(load_settings(**values), urls))
    cmd = [sys.executable, "-m", "service_monitor.compute.scheduler"]
    if mix == "assertions":
        asyncio.run(store_spec(load_settings(**values), CheckSpec.model_validate(ASSERTION_SPEC)))
    if loop:
        cmd.append(f"--loop={loop}")
    if alerting:
        with alerting_on(values) as alert_values:
            wall, cpu, rss, out = measure(cmd, clean_env(**alert_values))
    else:
        wall, cpu, rss, out = measure(cmd, clean_env(**values))
    match = _CYCLE_LINE.search(out)
    if match is None:
        raise SystemExit(f"no cycle line in the compute's output:\n{out[-3000:]}")
    stored, distinct = asyncio.run(count_mysql()) if backend == "mysql" else count_sqlite(db_file)
    return Sample(
        wall,
        cpu,
        rss,
        int(match["probed"]),
        int(match["success"]),
        stored,
        distinct,
        float(match["last_start_s"]),
    )


@contextlib.contextmanager
def alerting_on(values: dict[str, str]) -> Iterator[dict[str, str]]:
    """A default webhook channel to a receiver process and a dispatcher process on the store of
    `values` for the block; yields the compute's settings (the channel key, FAILURE_THRESHOLD=1).
    At the end, prints what the receiver got and the outbox by state."""
    key = new_key()
    alert_values = {**values, "CHANNEL_KEYS": key, "FAILURE_THRESHOLD": "1"}
    receiver = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "alert_receiver.py")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert receiver.stdout is not None
    base = receiver.stdout.readline().split()[1]
    asyncio.run(add_default_channel(load_settings(**alert_values), key, f"{base}/hook"))
    dispatcher = subprocess.Popen(
        [sys.executable, "-m", "service_monitor.cli", "dispatch"],
        env=clean_env(**{**alert_values, "LOG_LEVEL": "WARNING"}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield alert_values
        time.sleep(3)  # the dispatcher's last ticks
    finally:
        dispatcher.terminate()
        dispatcher.wait()
        receiver.terminate()
        received = receiver.stdout.readlines()
        receiver.wait()
    outbox = asyncio.run(outbox_states(load_settings(**alert_values)))
    print(f"    alerting: received {received[-1].strip() if received else '?'}; outbox {outbox}")


async def add_default_channel(settings: Settings, key: str, url: str) -> None:
    storage = await open_storage(settings)
    sealer = Sealer([key])
    try:
        await storage.add_channel(
            "bench",
            ChannelType.WEBHOOK,
            target_hint=target_hint(url),
            sealed_target=sealer.seal(url),
            sealed_secret=sealer.seal(new_webhook_secret()),
            is_default=True,
            send_resolved=True,
            resend_every=None,
            now=time.time(),
        )
    finally:
        await storage.close()


async def outbox_states(settings: Settings) -> dict[str, int]:
    storage = await open_storage(settings)
    try:
        counts = await storage.outbox_counts()
    finally:
        await storage.close()
    return {f"{kind.value}/{state.value}": n for (kind, state), n in sorted(counts.items())}


def report(size: int, mix: str, samples: dict[str, list[Sample]]) -> None:
    def med(variant: str, attr: str) -> float:
        return float(statistics.median(getattr(s, attr) for s in samples[variant]))

    runs = len(samples["bare"])
    ran = [v for v in VARIANTS if samples[v]]
    print(f"\n{size:,} URLs, {mix} mix, median of {runs} runs")
    print(
        f"  {'':28} {'wall s':>8} {'CPU s':>8} {'CPU ms/probe':>13} {'peak RSS MB':>12}"
        f" {'probes/s':>9} {'stored':>8} {'once each':>9} {'last start s':>13}"
    )
    for variant in ran:
        wall, cpu = med(variant, "wall_s"), med(variant, "cpu_s")
        stored = [s.stored for s in samples[variant]]
        exact = all(s.stored == size and s.distinct == size for s in samples[variant])
        print(
            f"  {LABELS[variant]:28} {wall:8.2f} {cpu:8.2f} {cpu / size * 1000:13.3f}"
            f" {med(variant, 'rss_mb'):12.0f} {size / wall:9.0f} {min(stored):8}"
            f" {'yes' if exact else 'NO':>9} {med(variant, 'last_start_s'):13.2f}"
        )
    for variant in ran[1:]:
        print(
            f"  {LABELS[variant]} / {LABELS['bare']}: wall"
            f" {med(variant, 'wall_s') / med('bare', 'wall_s'):.2f}x,"
            f" CPU {med(variant, 'cpu_s') / med('bare', 'cpu_s'):.2f}x"
        )
    for backend in ("mysql", "sqlite"):
        if samples[backend] and samples[f"{backend}_alerting"]:
            on, off = f"{backend}_alerting", backend
            print(
                f"  alerting on / off, {backend} (ratios to the plain loop): wall"
                f" {med(on, 'wall_s') / med('bare', 'wall_s'):.2f}x vs"
                f" {med(off, 'wall_s') / med('bare', 'wall_s'):.2f}x"
                f" = {med(on, 'wall_s') / med(off, 'wall_s'):.2f},"
                f" CPU {med(on, 'cpu_s') / med('bare', 'cpu_s'):.2f}x vs"
                f" {med(off, 'cpu_s') / med('bare', 'cpu_s'):.2f}x"
                f" = {med(on, 'cpu_s') / med(off, 'cpu_s'):.2f}"
            )


def raise_open_file_limit() -> int:
    """Let the farm and the clients (who inherit it) hold one socket per URL: 100k URLs need it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for wanted in (1_048_576, 262_144, hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(wanted, hard)))
            return wanted
        except (ValueError, OSError):
            continue
    return soft


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated URL counts")
    parser.add_argument("--big", action="store_true", help="add 100,000 URLs (a few minutes)")
    parser.add_argument("--runs", type=int, default=3, help="rounds per size (median reported)")
    parser.add_argument("--concurrency", type=int, default=Settings().CONCURRENCY)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per probe")
    parser.add_argument("--only", default="bare,mysql,sqlite", help="variants to run")
    parser.add_argument("--mix", default=",".join(MIXES), help="mixes of checks to run")
    parser.add_argument(
        "--loops", action="store_true", help="also run our cycles on asyncio's event loop"
    )
    parser.add_argument(
        "--alerting",
        action="store_true",
        help="also run our cycles with alerting on (a default channel and the dispatcher)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.big:
        sizes.append(100_000)
    only = args.only.split(",")
    if args.loops:
        only += [f"{v}_asyncio" for v in only if v in ("mysql", "sqlite")]
    if args.alerting:
        only += [f"{v}_alerting" for v in only if v in ("mysql", "sqlite")]
    variants = [v for v in VARIANTS if v in only]
    mixes = [m for m in MIXES if m in args.mix.split(",")]
    fd_limit = raise_open_file_limit()
    farm, port = start_farm()
    closed = free_port()
    print(
        f"target farm on port {port} (refused URLs on closed port {closed});"
        f" concurrency {args.concurrency}, timeout {args.timeout:g} s, {os.cpu_count()} CPUs,"
        f" open files limit {fd_limit:,}"
    )
    per_probe: dict[tuple[str, int], dict[str, float]] = {}
    peak_mb: dict[tuple[str, int], dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for mix in mixes:
                for size in sizes:
                    urls = make_urls(size, port, closed, seed=size, mix=mix)
                    samples: dict[str, list[Sample]] = {v: [] for v in VARIANTS}
                    for round_no in range(args.runs):
                        for variant in variants:
                            sample = run_variant(
                                variant, urls, Path(tmp), args.concurrency, args.timeout, mix
                            )
                            samples[variant].append(sample)
                            print(
                                f"  {mix:10} {size:>7,} round {round_no + 1} {variant:14}:"
                                f" {sample.wall_s:6.2f} s wall, {sample.cpu_s:6.2f} s CPU,"
                                f" {sample.rss_mb:5.0f} MB, {sample.stored} stored,"
                                f" {sample.success / size:.1%} success",
                                flush=True,
                            )
                    if "bare" in variants:
                        report(size, mix, samples)
                    per_probe[mix, size] = {
                        v: statistics.median(s.cpu_s for s in samples[v]) / size for v in variants
                    }
                    peak_mb[mix, size] = {
                        v: statistics.median(s.rss_mb for s in samples[v]) for v in variants
                    }
                if 10_000 in sizes and 100_000 in sizes:
                    print(f"\n{mix} mix, at 100,000 URLs / at 10,000 (1.0 = linear, flat):")
                    for variant in variants:
                        cpu = per_probe[mix, 100_000][variant] / per_probe[mix, 10_000][variant]
                        rss = peak_mb[mix, 100_000][variant] / peak_mb[mix, 10_000][variant]
                        print(
                            f"  {LABELS[variant]:28} CPU per probe {cpu:.2f}x, peak RSS {rss:.2f}x"
                        )
    finally:
        farm.terminate()
        farm.wait()


if __name__ == "__main__":
    main()
