"""We picked our MySQL driver (asyncmy vs aiomysql) by measurement; this script reproduces it."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import aiomysql
import asyncmy

DATABASE = "bench_driver"
POOL_SIZE = 4
BATCH_ROWS = 500
SELECT_COUNT = 200
PHASES = ("insert", "select", "fetch")

CREATE_TABLE = """CREATE TABLE checks (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    monitor_id INT NOT NULL,
    checked_at BIGINT NOT NULL,
    status TINYINT NOT NULL,
    http_status SMALLINT NULL,
    latency_ms INT NOT NULL,
    cause VARCHAR(24) NULL,
    KEY (status, checked_at, monitor_id)
) ENGINE=InnoDB"""
INSERT = (
    "INSERT INTO checks (monitor_id, checked_at, status, http_status, latency_ms, cause)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)
SMALL_SELECT = (
    "SELECT monitor_id, COUNT(*) FROM checks WHERE status=%s AND checked_at>=%s"
    " GROUP BY monitor_id ORDER BY 2 DESC LIMIT 10"
)
BIG_SELECT = "SELECT id, monitor_id FROM checks"

Row = tuple[int, int, int, int | None, int, str | None]


@dataclass
class Driver:
    name: str
    module: ModuleType
    # samples[phase] -> list of (wall seconds, CPU seconds), one per round
    samples: dict[str, list[tuple[float, float]]] = field(
        default_factory=lambda: {phase: [] for phase in PHASES}
    )

    @property
    def version(self) -> str:
        return metadata.version(self.name)

    async def create_pool(self, args: argparse.Namespace, db: str | None) -> Any:
        # Same settings as production: autocommit on, explicit BEGIN/COMMIT for batches.
        # (With autocommit off, a bare SELECT leaves a transaction open and both pools
        # then close the connection on release instead of reusing it.)
        return await self.module.create_pool(
            minsize=POOL_SIZE,
            maxsize=POOL_SIZE,
            host=args.host,
            port=args.port,
            user=args.user,
            password=args.password,
            db=db,
            autocommit=True,
            charset="utf8mb4",
        )


def make_rows(count: int, seed: int) -> list[Row]:
    rng = random.Random(seed)
    start = 1_700_000_000_000
    rows: list[Row] = []
    for i in range(count):
        ok = rng.random() < 0.9
        rows.append(
            (
                rng.randint(1, 500),
                start + i * 1000,
                1 if ok else 0,
                200 if ok else rng.choice((None, 500, 503)),
                rng.randint(5, 2000),
                None if ok else rng.choice(("timeout", "dns", "connect", "http_5xx")),
            )
        )
    return rows


def make_select_params(rows: Sequence[Row], count: int, seed: int) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    lo, hi = rows[0][1], rows[-1][1]
    return [(rng.choice((0, 1)), rng.randint(lo, hi)) for _ in range(count)]


async def run_workers(items: Sequence[Any], work: Callable[[Any], Awaitable[None]]) -> None:
    """Process items with POOL_SIZE concurrent workers (one pooled connection each at a time)."""
    it = iter(items)

    async def worker() -> None:
        for item in it:
            await work(item)

    async with asyncio.TaskGroup() as tg:
        for _ in range(POOL_SIZE):
            tg.create_task(worker())


async def phase_insert(pool: Any, rows: Sequence[Row]) -> None:
    batches = [rows[i : i + BATCH_ROWS] for i in range(0, len(rows), BATCH_ROWS)]

    async def insert_batch(batch: Sequence[Row]) -> None:
        async with pool.acquire() as conn:
            await conn.begin()
            try:
                async with conn.cursor() as cur:
                    await cur.executemany(INSERT, batch)
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()

    await run_workers(batches, insert_batch)


async def phase_select(pool: Any, params: Sequence[tuple[int, int]]) -> None:
    async def one(param: tuple[int, int]) -> None:
        async with pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute(SMALL_SELECT, param)
            await cur.fetchall()

    await run_workers(params, one)


async def phase_fetch(pool: Any, expected: int) -> None:
    async with pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute(BIG_SELECT)
        result = await cur.fetchall()
    if len(result) != expected:
        raise RuntimeError(f"fetched {len(result)} rows, expected {expected}")


async def timed(coro: Awaitable[None]) -> tuple[float, float]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    await coro
    return time.perf_counter() - wall0, time.process_time() - cpu0


async def scalar(pool: Any, sql: str) -> Any:
    async with pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute(sql)
        row = await cur.fetchone()
    return row[-1]


async def inserts_per_executemany(pool: Any, rows: Sequence[Row]) -> int:
    """How many INSERT statements the server saw for one executemany() of len(rows) rows."""
    async with pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute("SHOW SESSION STATUS LIKE 'Com_insert'")
        before = int((await cur.fetchone())[1])
        await cur.executemany(INSERT, rows)
        await cur.execute("SHOW SESSION STATUS LIKE 'Com_insert'")
        after = int((await cur.fetchone())[1])
        await cur.execute("TRUNCATE TABLE checks")
    return after - before


async def run_round(
    driver: Driver,
    pool: Any,
    rows: Sequence[Row],
    params: Sequence[tuple[int, int]],
) -> None:
    await scalar(pool, "SELECT 1")  # make sure the pool is warm and the table is empty
    driver.samples["insert"].append(await timed(phase_insert(pool, rows)))
    count = await scalar(pool, "SELECT COUNT(*) FROM checks")
    if count != len(rows):
        raise RuntimeError(f"{driver.name}: {count} rows after insert, expected {len(rows)}")
    driver.samples["select"].append(await timed(phase_select(pool, params)))
    driver.samples["fetch"].append(await timed(phase_fetch(pool, len(rows))))
    async with pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute("TRUNCATE TABLE checks")


def print_table(drivers: Sequence[Driver], args: argparse.Namespace) -> None:
    base, other = drivers  # ratio is other/base, i.e. asyncmy/aiomysql
    header = (
        f"{'phase':<8} {'metric':<7} {base.name + ' s':>12} {other.name + ' s':>12}"
        f" {other.name + '/' + base.name:>18}"
    )
    print()
    print(
        f"median of {args.rounds} rounds; insert={args.rows} rows in {BATCH_ROWS}-row"
        f" executemany batches, select={SELECT_COUNT} queries, fetch={args.rows} rows;"
        f" pool size {POOL_SIZE}"
    )
    print(header)
    print("-" * len(header))
    for phase in PHASES:
        for index, metric in enumerate(("wall", "cpu")):
            b = statistics.median(s[index] for s in base.samples[phase])
            o = statistics.median(s[index] for s in other.samples[phase])
            ratio = f"{o / b:.2f}" if b > 0 else "n/a"
            print(f"{phase:<8} {metric:<7} {b:>12.4f} {o:>12.4f} {ratio:>18}")
    print("(ratio < 1: asyncmy is faster / uses less CPU)")


async def main(args: argparse.Namespace) -> None:
    drivers = [Driver("aiomysql", aiomysql), Driver("asyncmy", asyncmy)]
    rows = make_rows(args.rows, seed=1)
    params = make_select_params(rows, SELECT_COUNT, seed=2)

    admin = await drivers[1].create_pool(args, db=None)
    pools: dict[str, Any] = {}
    try:
        async with admin.acquire() as conn, conn.cursor() as cur:
            # Checked first: DROP ... IF EXISTS on a missing database raises a server note,
            # which both drivers fetch with SHOW WARNINGS and print (asyncmy via logging).
            await cur.execute(
                "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=%s", (DATABASE,)
            )
            if await cur.fetchone():
                await cur.execute(f"DROP DATABASE {DATABASE}")
            await cur.execute(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4")
            await cur.execute(f"USE {DATABASE}")
            await cur.execute(CREATE_TABLE)
            await cur.execute("SELECT VERSION()")
            server = (await cur.fetchone())[0]
        print(
            f"server {server}; python drivers: "
            + ", ".join(f"{d.name} {d.version}" for d in drivers)
        )

        for driver in drivers:
            pools[driver.name] = await driver.create_pool(args, db=DATABASE)

        checks = {
            d.name: await inserts_per_executemany(pools[d.name], rows[:BATCH_ROWS]) for d in drivers
        }
        print(
            f"INSERT statements seen by the server for one {BATCH_ROWS}-row executemany: "
            + ", ".join(f"{name}={n}" for name, n in checks.items())
        )

        for round_no in range(args.rounds):
            order = drivers if round_no % 2 == 0 else drivers[::-1]
            for driver in order:
                await run_round(driver, pools[driver.name], rows, params)
            print(
                f"round {round_no + 1}/{args.rounds} done ({' then '.join(d.name for d in order)})"
            )

        print_table(drivers, args)
    finally:
        for pool in pools.values():
            pool.close()
            await pool.wait_closed()
        async with admin.acquire() as conn, conn.cursor() as cur:
            await cur.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.close()
        await admin.wait_closed()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="rounds per driver (default 5)")
    parser.add_argument("--rows", type=int, default=20_000, help="rows per round (default 20000)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3306)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", default="")
    args = parser.parse_args()
    if args.rounds < 1 or args.rows < 1:
        parser.error("--rounds and --rows must be positive")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
