"""How fast the store takes the compute's checks (CheckStore.add_checks, one executemany per batch),
so a change to the checks table is measured on its hot path; run it against two checkouts (with
PYTHONPATH) to compare them.

    PYTHONPATH=src python bench/bench_add_checks.py --backend mysql --checks 100000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from service_monitor.config import Settings
from service_monitor.models import Cause, Check, Status
from service_monitor.storage import Storage
from service_monitor.storage.mysql import MySQLStorage
from service_monitor.storage.sqlite import SQLiteStorage

NOW = 1_800_000_000.0
MONITORS = 10_000


def checks_of_one_cycle(
    count: int, seed: int, fail_share: float = 0.05, start: float = NOW
) -> list[Check]:
    """A cycle's mix: successes (half of them https with a certificate expiry, 1 in 20 degraded)
    and `fail_share` failures with a detail sentence (5 % by default)."""
    rng = random.Random(seed)
    made = []
    for index in range(count):
        monitor_id = index % MONITORS + 1
        https = index % 2 == 0
        expires = start + 40 * 86400 if https else None
        if rng.random() >= fail_share:
            made.append(
                Check(
                    monitor_id,
                    start + index / 1000,
                    Status.SUCCESS,
                    200,
                    rng.randint(20, 900),
                    degraded=rng.random() < 0.05,
                    tls_expires_at=expires,
                )
            )
        else:
            made.append(
                Check(
                    monitor_id,
                    start + index / 1000,
                    Status.FAIL,
                    503,
                    rng.randint(5, 50),
                    Cause.HTTP_STATUS,
                    detail="status 503 is not one of 200-299",
                    tls_expires_at=expires,
                )
            )
    return made


async def open_store(backend: str, directory: Path) -> Storage:
    if backend == "sqlite":
        return await SQLiteStorage.open(directory / "bench.sqlite3")
    settings = Settings(
        DB_ADDRESS="127.0.0.1", DB_USER="root", DB_PASSWORD="", DB_NAME="bench_add_checks"
    )
    store = await MySQLStorage.open(settings)
    await store.execute("TRUNCATE TABLE checks")
    return store


async def add_monitors(store: Storage) -> None:
    """The MONITORS monitors the checks are of, active, so the store judges their health too."""
    await store.import_monitors(
        ((f"m{i}", f"http://m{i}.example.com") for i in range(1, MONITORS + 1)), NOW
    )


async def run(backend: str, count: int, batch: int, rounds: int, fail_share: float) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = await open_store(backend, Path(directory))
        try:
            await add_monitors(store)
            rates = []
            for round_ in range(rounds):
                # Each round a later cycle: its checks are newer than the last, as in production.
                checks = checks_of_one_cycle(
                    count, seed=round_ + 1, fail_share=fail_share, start=NOW + round_ * 3600
                )
                started, cpu = time.perf_counter(), time.process_time()
                for start in range(0, count, batch):
                    await store.add_checks(checks[start : start + batch])
                wall = time.perf_counter() - started
                rates.append(count / wall)
                print(
                    f"{backend}: {count:,} checks ({fail_share:.0%} failing) in batches of {batch}:"
                    f" {wall:.2f} s wall,"
                    f" {time.process_time() - cpu:.2f} s CPU, {count / wall:,.0f} checks/s"
                )
            print(f"{backend}: median {statistics.median(rates):,.0f} checks/s")
        finally:
            if isinstance(store, MySQLStorage):
                await store.execute("DROP DATABASE bench_add_checks")
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backend", choices=("sqlite", "mysql"), help="one backend (default: both in turn)"
    )
    parser.add_argument("--checks", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500, help="WRITE_BATCH_SIZE")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--fail-share", type=float, default=0.05, help="share of failed checks (default 0.05)"
    )
    args = parser.parse_args()
    for backend in [args.backend] if args.backend else ["sqlite", "mysql"]:
        asyncio.run(run(backend, args.checks, args.batch, args.rounds, args.fail_share))


if __name__ == "__main__":
    main()
