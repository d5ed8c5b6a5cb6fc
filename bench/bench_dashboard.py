"""How long the dashboard takes to show its first screen, at 100 and at 10,000 monitors.

The dashboard's monitors table is paginated and searched on the server, so its first load should
cost the same at 10,000 monitors as at 100; this script gives the figures (it asserts none).

For each data set (bench/stats_data.py: N monitors x 30 days of checks, one every 10 minutes,
rolled up through the product, shared with bench/bench_stats.py and reused across runs), one
uvicorn process serves the API and the page, and Debian's Chromium (headless, through Playwright,
never `playwright install`) loads `/` in a new browser context each time (a cold browser cache),
--runs times. A load is timed from navigation start to the moment app.js has rendered the summary,
both top lists and the first page of the table (its `data-ready-ms`, from performance.now()).

The first load after the API starts finds the statistics cache empty (Redis keys of the set are
removed; the embedded cache's entries deleted): it is printed apart, as "first, cache empty"; the
median is over the loads after it, statistics cached as they are in service.

    python bench/bench_dashboard.py [--sizes 100,10000] [--runs 7] [--only mysql|sqlite]
        [--screenshot docs/dashboard.png] [--reload]

MariaDB databases are bench_stats_*, Redis keys bench-stats:*, files under /tmp/bench-stats/.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import shutil
import sqlite3
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from playwright.sync_api import Browser, sync_playwright

from service_monitor.models import CycleOutcome, CycleRecord
from service_monitor.storage import open_storage
from stats_data import (
    WORK_DIR,
    DataSetSpec,
    ensure,
    hold_run_lock,
    mysql_spec,
    server_facts,
    sqlite_spec,
)
from stats_http import clean_env, get, serve

DAYS = 30
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}


@dataclass
class Load:
    ready_ms: float  # navigation start -> summary, top lists and first table page rendered
    dom_ms: float  # navigation start -> DOMContentLoaded
    slowest_api_ms: float  # the slowest of the page's API requests (resource timing)
    requests: int


@dataclass
class Result:
    spec: DataSetSpec
    first: Load
    loads: list[Load] = field(default_factory=list)
    endpoints: dict[str, float] = field(default_factory=dict)  # label -> median ms over HTTP


ENDPOINT_REPEATS = 15


def endpoint_paths(monitors: int) -> dict[str, str]:
    """The dashboard's own reads, at the start, the middle and the end of the list."""
    middle = monitors // 2
    return {
        "overview p1": "/urls/overview?limit=25",
        "overview mid": f"/urls/overview?limit=25&offset={middle}",
        "overview last": f"/urls/overview?limit=25&offset={max(monitors - 25, 0)}",
        "search": "/urls/overview?limit=25&q=00042",
        "history day": f"/urls/{middle}/history?span=day",
        "history week": f"/urls/{middle}/history?span=week",
        "history month": f"/urls/{middle}/history?span=month",
    }


def time_endpoints(port: int, monitors: int) -> dict[str, float]:
    """Median ms of each path over one keep-alive connection, timed around send and read; a non-200
    answer stops the run (a figure of an error page would mean nothing)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    medians: dict[str, float] = {}
    try:
        for label, path in endpoint_paths(monitors).items():
            times = []
            for _ in range(ENDPOINT_REPEATS):
                started = time.perf_counter()
                status, _, body = get(port, path, conn=conn)
                times.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    raise SystemExit(f"{path}: {status} {body[:200]!r}")
            medians[label] = statistics.median(times)
    finally:
        conn.close()
    return medians


def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None
    )
    if found is None:
        raise SystemExit("bench-dashboard needs Chromium: apt-get install -y chromium")
    return found


def clear_statistics_cache(spec: DataSetSpec) -> None:
    """Empty the set's statistics cache, so the first load computes them from the database."""
    if spec.backend == "mysql":
        client = redis.Redis(host="127.0.0.1")
        try:
            keys = list(client.scan_iter(match=f"{spec.env['CACHE_KEY_PREFIX']}*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
    else:  # the embedded cache lives in the store's file
        conn = sqlite3.connect(spec.name)
        try:
            conn.execute("DELETE FROM cache_entries")
            conn.commit()
        except sqlite3.OperationalError:
            pass  # no cache table yet: the API makes it, empty
        finally:
            conn.close()


async def record_cycle(spec: DataSetSpec, finished_ms: int) -> None:
    """A finished cycle at the data's end, as the compute would have recorded: the page shows it."""
    storage = await open_storage(spec.settings())
    try:
        totals = await storage.cycle_totals()
        if totals.last is None or totals.last.finished_at * 1000 < finished_ms:
            finished = finished_ms / 1000
            fail = spec.urls * 3 // 100  # about the data set's share of failed checks
            await storage.record_cycle(
                CycleRecord(
                    finished - 60, finished, CycleOutcome.DONE, spec.urls, spec.urls - fail, fail
                )
            )
    finally:
        await storage.close()


def load_once(browser: Browser, base: str) -> Load:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        page.goto(base + "/")
        page.wait_for_selector("html[data-ready]", timeout=120_000)
        timing: dict[str, Any] = page.evaluate(
            """() => {
              const nav = performance.getEntriesByType("navigation")[0];
              const api = performance.getEntriesByType("resource")
                .filter((r) => r.initiatorType === "fetch");
              return {
                ready: Number(document.documentElement.dataset.readyMs),
                dom: nav.domContentLoadedEventEnd,
                slowest: Math.max(0, ...api.map((r) => r.duration)),
                requests: api.length,
              };
            }"""
        )
        return Load(timing["ready"], timing["dom"], timing["slowest"], timing["requests"])
    finally:
        context.close()


def screenshot(browser: Browser, base: str, path: Path) -> None:
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")  # type: ignore[arg-type]
    try:
        page = context.new_page()
        page.goto(base + "/")
        page.wait_for_selector("html[data-ready]", timeout=120_000)
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=path)
    finally:
        context.close()
    print(f"  screenshot: {path}")


def prepare(spec: DataSetSpec, reload: bool) -> None:
    """Load or top up the data set and record a cycle at its end (before the browser starts:
    Playwright's sync API runs an event loop of its own)."""
    report = asyncio.run(ensure(spec, reload=reload, measure_size=False))
    data_end = time.strftime("%H:%M UTC", time.gmtime(report.data_end_ms / 1000))
    print(
        f"  {spec.label}: {report.action} (loaded {report.loaded_at}), data to {data_end}",
        flush=True,
    )
    asyncio.run(record_cycle(spec, report.data_end_ms))


def measure(browser: Browser, spec: DataSetSpec, runs: int, shot: Path | None) -> Result:
    clear_statistics_cache(spec)
    env = clean_env(**spec.env)
    name = f"dashboard-{spec.backend}-{spec.urls}"
    with serve(name, "service_monitor.api.app:app", env, WORK_DIR) as server:
        result = Result(spec, load_once(browser, server.base))
        for _ in range(runs):
            result.loads.append(load_once(browser, server.base))
        if shot is not None:
            screenshot(browser, server.base, shot)
        result.endpoints = time_endpoints(server.port, spec.urls)
    return result


def print_results(results: list[Result], runs: int) -> None:
    print()
    print(f"First load of / (cold browser, 1280x800): median of {runs} loads, min-max; ms")
    head = f"{'store':<16}{'monitors':>9}{'ready':>9}{'min-max':>14}{'DOM':>7}{'slowest API':>13}{'first, cache empty':>20}"
    print(head)
    print("-" * len(head))
    for r in results:
        ready = [x.ready_ms for x in r.loads]
        store = "MariaDB+Redis" if r.spec.backend == "mysql" else "SQLite embedded"
        print(
            f"{store:<16}{r.spec.urls:>9,}{statistics.median(ready):>9.0f}"
            f"{f'{min(ready):.0f}-{max(ready):.0f}':>14}"
            f"{statistics.median(x.dom_ms for x in r.loads):>7.0f}"
            f"{statistics.median(x.slowest_api_ms for x in r.loads):>13.0f}"
            f"{r.first.ready_ms:>20.0f}"
        )
    print(
        "ready: summary, top lists and first table page rendered; DOM: DOMContentLoaded;"
        f" slowest API: the slowest of the page's {results[0].loads[0].requests} API requests"
    )
    print()
    print(
        f"The dashboard's reads over HTTP (25 monitors a page; median of {ENDPOINT_REPEATS},"
        " one keep-alive connection); ms"
    )
    labels = list(results[0].endpoints)
    head = f"{'store':<16}{'monitors':>9}" + "".join(f"{label:>15}" for label in labels)
    print(head)
    print("-" * len(head))
    for r in results:
        store = "MariaDB+Redis" if r.spec.backend == "mysql" else "SQLite embedded"
        cells = "".join(f"{r.endpoints[label]:>15.1f}" for label in labels)
        print(f"{store:<16}{r.spec.urls:>9,}{cells}")
    print("search: q=00042 (a name scan); history of the middle monitor")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,10000", help="monitors per data set")
    parser.add_argument("--runs", type=int, default=7, help="cold loads per set (after the first)")
    parser.add_argument("--only", choices=["mysql", "sqlite"], help="one backend only")
    parser.add_argument("--screenshot", type=Path, help="save the largest MariaDB set's page here")
    parser.add_argument("--reload", action="store_true", help="load the data sets afresh")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    hold_run_lock(WORK_DIR / "bench-dashboard.lock", "bench-dashboard")
    sizes = [int(size) for size in args.sizes.split(",")]
    specs: list[DataSetSpec] = []
    if args.only != "sqlite":
        specs += [mysql_spec(size, DAYS) for size in sizes]
    if args.only != "mysql":
        specs += [sqlite_spec(size, DAYS) for size in sizes]
    if args.only != "sqlite":
        print(asyncio.run(server_facts()))
    largest_mysql = max(
        (s for s in specs if s.backend == "mysql"), key=lambda s: s.urls, default=None
    )
    print("Data sets:", flush=True)
    for spec in specs:
        prepare(spec, args.reload)
    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=LAUNCH_ARGS)
        print(f"Chromium {browser.version}, {args.runs} cold loads per set", flush=True)
        try:
            for spec in specs:
                shot = args.screenshot if spec is largest_mysql else None
                results.append(measure(browser, spec, args.runs, shot))
        finally:
            browser.close()
    print_results(results, args.runs)


if __name__ == "__main__":
    main()
