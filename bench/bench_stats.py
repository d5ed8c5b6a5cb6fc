"""How fast the statistics answer with 30 days of checks stored, and what keeping only 30 days costs.

It exists because top lists and the summary counted raw checks, slow at 43 million rows: this
script gives the figures before and after rollups, next to the issue's targets (it asserts none).

1. Data sets, loaded server-side once and reused (topped up to now) by later runs: on MariaDB
   10,000 URLs x 30 days at one check every 10 minutes (43.2 M checks) and 1,000 URLs (4.32 M), on
   the embedded SQLite file 1,000 URLs; each then rolled up through the product. Load time, rows/s,
   roll_up time, size on disk per million checks.
2. Uncached: a uvicorn process per set, GET /urls/top/{success|fail}/{hour|week|month}?cache=false
   and /urls/summary?cache=false, N requests each in a row; median and p95 in ms, every answer
   checked; the growth from the smallest to the largest MariaDB set.
3. Cached: wrk on /urls/top/fail/hour served from the cache (Redis; and the embedded cache), then
   on bench/bare_app.py, a bare FastAPI route returning a constant list, never both at once.
4. Retention: days 31..30+N on a MariaDB set of its own, a simulated day at a time: insert the
   day's checks, roll_up(now), prune(now, rollup_days=400), with probe-like writes and top/summary
   reads running meanwhile; the longest wait they saw during prune against a baseline without.

MariaDB databases are bench_stats_*, Redis keys bench-stats:*, files under /tmp/bench-stats/;
nothing else is touched. --quick runs every step on tiny sets in about a minute.

    python bench/bench_stats.py [--sizes 1000,10000] [--sqlite-size 1000] [--days 30]
        [--requests 30] [--wrk-duration 15] [--retention-days 30] [--reload]
        [--only mysql|sqlite] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import resource
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from stats_data import (
    MYSQL_PREFIX,
    REDIS_PREFIX,
    WORK_DIR,
    DataSetSpec,
    LoadReport,
    ensure,
    hold_run_lock,
    mysql_spec,
    server_facts,
    sqlite_spec,
)
from stats_http import (
    ROOT,
    Expect,
    Timing,
    WrkResult,
    clean_env,
    get,
    run_wrk,
    serve,
    time_uncached,
    warm_cache,
)
from stats_retention import RetentionReport, Worst, simulate

CACHED_PATH = "/urls/top/fail/hour"
# The targets, printed next to the figures.
MYSQL_TARGET = (50.0, 100.0)  # ms: median, p95, uncached, at 10,000 URLs
SQLITE_TARGET = 50.0  # ms: median, uncached, at 1,000 URLs


@dataclass
class Clock:
    """Wall seconds and peak RSS after each phase, printed at the end."""

    rows: list[tuple[str, float, float]]

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.rows.append((name, time.perf_counter() - started, peak_rss_mb()))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def mb(size: float) -> str:
    return f"{size / 1e6:,.1f} MB"


def print_load(spec: DataSetSpec, r: LoadReport) -> None:
    print(f"  {spec.label} ({spec.name}): {r.action}", flush=True)
    how = "this run" if r.action != "reused" else f"the run of {r.loaded_at}"
    load_s = r.insert_s + r.index_s
    rate = r.loaded_rows / load_s if load_s > 0 else math.nan
    print(
        f"    load ({how}): {r.loaded_rows:,} checks in {load_s:.1f} s = {rate:,.0f}"
        f" rows/s (insert {r.insert_s:.1f} s with the secondary indexes dropped, re-adding them"
        f" {r.index_s:.1f} s{', identical to the migration' if r.indexes_identical else ''})"
    )
    print(
        f"    roll_up after the load ({how}): {r.load_roll_up_s:.1f} s, {r.load_roll_up_hours} hours"
        " added"
    )
    if r.action == "reused":
        pruned = r.prune
        print(
            f"    this run: topped up {r.topped_up_rows:,} checks in {r.top_up_s:.1f} s; roll_up"
            f" {r.roll_up_s:.1f} s ({r.roll_up_hours} hours); prune {r.prune_s:.1f} s"
            + (
                f" ({pruned.checks:,} checks, {pruned.rollups:,} rollups, {pruned.batches} batches)"
                if pruned
                else ""
            )
        )
    total = sum(r.sizes.values())
    per_million = total / (r.checks / 1e6) if r.checks else math.nan
    print(
        f"    holds {r.checks:,} checks (COUNT(*) {r.count_s:.1f} s) from"
        f" {_date(r.data_start_ms)} to {_date(r.data_end_ms)} UTC"
    )
    print(
        f"    on disk: {mb(total)} = {per_million / 1e6:,.1f} MB per million checks"
        f" ({r.size_source}; every table of the product, rollups included, bench_meta not)"
    )
    print("      " + ", ".join(f"{t} {mb(b)}" for t, b in r.sizes.items()), flush=True)


def _date(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ms / 1000))


def print_timings(timings: list[Timing], target: tuple[float, float | None]) -> None:
    med_t, p95_t = target
    goal = f"median < {med_t:g} ms" + (f", p95 < {p95_t:g} ms" if p95_t else "")
    print(
        f"    {'endpoint (cache=false)':24} {'n':>3} {'median ms':>10} {'p95 ms':>9}"
        f" {'max ms':>9}  {'target: ' + goal:34} answers"
    )
    for t in timings:
        met = t.median < med_t and (p95_t is None or t.p95 < p95_t) and not t.errors
        answers = (
            f"{len(t.errors)} BAD: {t.errors[0]}" if t.errors else f"all 200 and sane ({t.note})"
        )
        print(
            f"    {t.endpoint:24} {len(t.ms):>3} {t.median:10.1f} {t.p95:9.1f} {t.worst:9.1f}"
            f"  {'met' if met else 'MISSED':34} {answers}"
        )


def print_wrk(results: list[WrkResult]) -> None:
    print(
        f"    {'':34} {'req/s':>9} {'requests':>9} {'avg ms':>8} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'cached: true':>13} {'other':>6} {'non-200':>8}"
    )
    for r in results:
        print(
            f"    {r.label:34} {r.requests_per_s:9.0f} {r.requests:9,} {r.latency_avg_ms:8.2f}"
            f" {r.latency_p50_ms:8.2f} {r.latency_p99_ms:8.2f} {r.cached_true:13,}"
            f" {r.cached_other:6,} {r.not_200:8,}"
            + (f"  socket errors: {r.socket_errors}" if r.socket_errors else "")
        )
    bare = next((r for r in results if r.label.startswith("bare")), None)
    if bare is None:
        return
    for r in results:
        if r is not bare:
            ratio = r.requests_per_s / bare.requests_per_s if bare.requests_per_s else math.nan
            print(
                f"    {r.label} / bare: {ratio:.2f}x requests/s (target >= 1.0:"
                f" {'met' if ratio >= 1.0 else 'MISSED'}), every answer from the cache:"
                f" {'yes' if r.cached_other == 0 and r.not_200 == 0 and r.cached_true > 0 else 'NO'}"
            )


def wrk_cached(
    label: str, spec: DataSetSpec, port: int, args: argparse.Namespace
) -> WrkResult | None:
    """wrk on the cached top list of a running API, with the cache checked before and after."""
    _, problem = warm_cache(port, CACHED_PATH)
    if problem:
        print(f"    cached run of {spec.label} skipped: {problem}")
        return None
    result = run_wrk(
        label,
        f"http://127.0.0.1:{port}{CACHED_PATH}",
        args.wrk_duration,
        args.wrk_connections,
        args.wrk_threads,
        WORK_DIR,
    )
    status, headers, _ = get(port, CACHED_PATH)
    age = int(headers.get("age", "-1"))
    # One entry served the whole run: it is still cached and at least as old as the run.
    print(
        f"    {label}: {result.requests_per_s:,.0f} req/s; after the run: HTTP {status},"
        f" cached: {headers.get('cached')}, Age {age} s"
        f" ({'the entry stored before the run served all of it' if age >= args.wrk_duration else 'RECOMPUTED during the run'})",
        flush=True,
    )
    return result


def growth(timings: dict[DataSetSpec, list[Timing]], loads: dict[DataSetSpec, LoadReport]) -> None:
    specs = sorted((s for s in timings if s.backend == "mysql"), key=lambda s: s.urls)
    if len(specs) < 2:
        return
    small, big = specs[0], specs[-1]
    url_ratio = big.urls / small.urls
    checks_ratio = loads[big].checks / loads[small].checks if loads[small].checks else math.nan
    print(
        f"\n  Growth on MariaDB, {big.urls:,} URLs / {small.urls:,}: URLs x{url_ratio:.1f}, stored"
        f" checks x{checks_ratio:.1f}. Target: the time grows with the URLs, not with the stored"
        " checks."
    )
    print(f"    {'endpoint (cache=false)':24} {'median small':>13} {'median big':>11} {'ratio':>7}")
    by_endpoint = {t.endpoint: t for t in timings[small]}
    for t in timings[big]:
        s = by_endpoint[t.endpoint]
        ratio = t.median / s.median if s.median > 0 else math.nan
        print(f"    {t.endpoint:24} {s.median:13.1f} {t.median:11.1f} {ratio:7.2f}x")


def print_worst(name: str, w: Worst | None) -> None:
    if w is None:
        return
    print(
        f"    {name:34} {w.count:>6} {w.max_ms:10.0f} {w.p99_ms:9.0f} {w.errors:>7}",
    )


def print_retention(r: RetentionReport) -> None:
    print(
        f"  {r.spec.name}: {'this run: ' + r.load.action if r.load else 'reused'};"
        f" setup {r.setup_s:.0f} s, simulation {r.simulate_s:.0f} s"
    )
    if not r.load:
        meta = r.meta
        print(
            f"    loaded {meta.get('loaded_at')}: {int(meta.get('loaded_rows', 0)):,} checks in"
            f" {float(meta.get('insert_s', 'nan')) + float(meta.get('index_s', 'nan')):.1f} s,"
            f" roll_up {float(meta.get('roll_up_s', 'nan')):.1f} s; simulated days continue from"
            f" {r.start_date} UTC"
        )
    if r.load:
        load = r.load
        print(
            f"    load: {load.loaded_rows:,} checks in {load.insert_s + load.index_s:.1f} s"
            f" = {load.loaded_rows / max(load.insert_s + load.index_s, 1e-9):,.0f} rows/s (insert"
            f" {load.insert_s:.1f} s, indexes {load.index_s:.1f} s), roll_up"
            f" {load.roll_up_s:.1f} s ({load.roll_up_hours} hours)"
        )
    if not r.days:
        return
    print(
        f"  At the end: {r.final_rows:,} raw checks (COUNT(*); 30 days of {r.spec.urls:,} URLs are"
        f" {r.spec.urls * 4320:,}, plus an hour {r.spec.urls * 6:,}, plus the writers' checks),"
        f" oldest {r.final_oldest_days:.2f} days"
        f" old (target: about 30 days, at most 30 d + 1 h + a 10-minute slot:"
        f" {'met' if r.final_oldest_days <= 30 + 1 / 24 + 1 / 144 else 'MISSED'});"
        f" probe-like writes stored {r.written:,} checks."
    )
    print(f"    {'longest wait, ms':34} {'ops':>6} {'max ms':>10} {'p99 ms':>9} {'errors':>7}")
    print_worst("writers (add_checks 500), baseline", r.baseline_writer)
    print_worst("writers during roll_up", r.roll_up_writer)
    print_worst("writers during prune", r.prune_writer)
    print_worst("readers (top/summary), baseline", r.baseline_reader)
    print_worst("readers during roll_up", r.roll_up_reader)
    print_worst("readers during prune", r.prune_reader)
    longest = max(d.longest_batch_s for d in r.days)
    print(
        f"    longest single prune batch: {longest:.3f} s; prune per day median"
        f" {statistics.median(d.prune_s for d in r.days):.1f} s, max {max(d.prune_s for d in r.days):.1f} s;"
        f" roll_up per day median {statistics.median(d.roll_up_s for d in r.days):.1f} s"
    )
    for error in r.errors[:5]:
        print(f"    error seen: {error}")


def clear_redis() -> None:
    client = redis.Redis(host="127.0.0.1")
    try:
        keys = list(client.scan_iter(match=f"{REDIS_PREFIX}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def wrk_version() -> str:
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return (done.stdout + done.stderr).splitlines()[0].split(" Copyright")[0]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="MariaDB URL counts, comma-separated")
    parser.add_argument("--sqlite-size", type=int, default=1000, help="URLs of the SQLite set")
    parser.add_argument("--days", type=int, default=30, help="days of checks in each set")
    parser.add_argument(
        "--requests", "--runs", type=int, default=30, help="uncached requests per endpoint"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="seconds per endpoint after which no further request starts (at least 3 are made)",
    )
    parser.add_argument("--wrk-duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--wrk-connections", type=int, default=50)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument(
        "--retention-days", type=int, default=30, help="days to simulate (0 skips it)"
    )
    parser.add_argument(
        "--retention-urls",
        type=int,
        default=0,
        help="URLs of the retention set (default: largest size)",
    )
    parser.add_argument("--reload", action="store_true", help="load every data set afresh")
    parser.add_argument("--only", choices=("mysql", "sqlite"), help="one store only")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sets (200 and 20 URLs x 3 days; retention 50 URLs, 3 days): a smoke test",
    )
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.sqlite_size, args.days = "20,200", 200, 3
        args.requests, args.budget, args.wrk_duration = 5, 10.0, 3
        args.retention_days, args.retention_urls = min(args.retention_days, 3), 50
    return args


def main() -> None:
    args = parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s})
    use_mysql, use_sqlite = args.only in (None, "mysql"), args.only in (None, "sqlite")
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    hold_run_lock(WORK_DIR / "bench-stats.lock", "bench-stats")
    log_dir = WORK_DIR / "logs"
    log_dir.mkdir(exist_ok=True)
    clock = Clock([])
    began = time.perf_counter()
    print(
        f"bench-stats: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start,"
        f" {asyncio.run(server_facts()) if use_mysql else 'SQLite only'}, {wrk_version()};"
        f" work dir {WORK_DIR}, MariaDB databases {MYSQL_PREFIX}*, Redis keys {REDIS_PREFIX}*",
        flush=True,
    )

    specs: list[DataSetSpec] = []
    if use_mysql:
        specs += [mysql_spec(urls, args.days) for urls in sizes]
    if use_sqlite:
        specs.append(sqlite_spec(args.sqlite_size, args.days))
    loads: dict[DataSetSpec, LoadReport] = {}
    print("\n1. Data sets (one check per URL every 10 minutes, ending now)", flush=True)
    for spec in specs:
        with clock.phase(f"1. data set {spec.label}"):
            print(f"  {spec.label}: ...", flush=True)
            loads[spec] = asyncio.run(ensure(spec, reload=args.reload))
            print_load(spec, loads[spec])

    print(
        f"\n2. Uncached statistics, {args.requests} requests per endpoint in a row (fewer when"
        f" {args.budget:g} s are spent; at least 3)",
        flush=True,
    )
    if use_mysql:
        clear_redis()
    timings: dict[DataSetSpec, list[Timing]] = {}
    cached: list[WrkResult] = []
    largest_mysql = max(
        (s for s in specs if s.backend == "mysql"), key=lambda s: s.urls, default=None
    )
    for spec in specs:
        with clock.phase(
            f"2. uncached {spec.label}"
            + (" + 3. wrk" if spec is largest_mysql or spec.backend == "sqlite" else "")
        ):
            # Slots since the load are topped up, so the windows end at real time.
            fresh = asyncio.run(ensure(spec, reload=False, measure_size=False))
            print(
                f"  {spec.label}: data to {_date(fresh.data_end_ms)} UTC (topped up"
                f" {fresh.topped_up_rows:,} checks, roll_up {fresh.roll_up_s:.1f} s); API up...",
                flush=True,
            )
            expect = Expect(spec.urls, fresh.data_start_ms, fresh.data_end_ms)
            env = clean_env(**spec.env)
            with serve(
                f"api-{os.path.basename(spec.name)}", "service_monitor.api.app:app", env, log_dir
            ) as server:
                timings[spec] = time_uncached(server.port, expect, args.requests, args.budget)
                target = MYSQL_TARGET if spec.backend == "mysql" else (SQLITE_TARGET, None)
                print_timings(timings[spec], target)
                if spec is largest_mysql or spec.backend == "sqlite":
                    store = "MariaDB + Redis" if spec.backend == "mysql" else "embedded"
                    result = wrk_cached(
                        f"cached ({store}, {spec.urls:,} URLs)", spec, server.port, args
                    )
                    if result:
                        cached.append(result)
    growth(timings, loads)

    if cached:
        print(
            f"\n3. Cached {CACHED_PATH} against a bare FastAPI route: wrk -t{args.wrk_threads}"
            f" -c{args.wrk_connections} -d{args.wrk_duration}s, one server at a time, same uvicorn"
            " command line",
            flush=True,
        )
        with (
            clock.phase("3. wrk bare app"),
            serve(
                "bare-app",
                "bare_app:app",
                clean_env(),
                log_dir,
                ready_path=CACHED_PATH,
                app_dir=ROOT / "bench",
            ) as bare,
        ):
            cached.append(
                run_wrk(
                    "bare FastAPI route",
                    f"http://127.0.0.1:{bare.port}{CACHED_PATH}",
                    args.wrk_duration,
                    args.wrk_connections,
                    args.wrk_threads,
                    WORK_DIR,
                )
            )
        print_wrk(cached)

    if use_mysql and args.retention_days > 0:
        urls = args.retention_urls or max(sizes)
        print(
            f"\n4. Retention: {args.retention_days} simulated days on {urls:,} URLs x 30 days"
            " (a database of its own), each: insert the day, roll_up, prune(rollup_days=400)",
            flush=True,
        )
        with clock.phase(f"4. retention {args.retention_days} days"):
            report = asyncio.run(simulate(urls, args.retention_days, args.reload))
            print_retention(report)

    print("\nPhases (wall seconds; peak RSS of this process after each)")
    for name, seconds, rss in clock.rows:
        print(f"  {name:52} {seconds:8.1f} s {rss:8.0f} MB")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"  {'total':52} {time.perf_counter() - began:8.1f} s; peak RSS: this process"
        f" {peak_rss_mb():.0f} MB, largest child (API server or wrk) {children:.0f} MB;"
        f" load average {os.getloadavg()[0]:.2f} at the end"
    )


if __name__ == "__main__":
    main()
