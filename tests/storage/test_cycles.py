"""The cycle lock and the cycle record, run against every backend (SQLite and MariaDB): two compute
processes never run a cycle at once, a dead holder never blocks the next one, and every cycle's
outcome is kept for metrics."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service_monitor.config import Settings, load_settings
from service_monitor.errors import StorageUnavailable
from service_monitor.models import CycleOutcome, CycleRecord, CycleTotals
from service_monitor.storage import Storage, open_storage
from service_monitor.storage.mysql import MySQLStorage
from service_monitor.storage.sqlite import SQLiteStorage
from tests.conftest import MYSQL_HOST, production_settings
from tests.targets import closed_port

NOW = 1_800_000_000.0
# Seconds a refusal may take: "at once" is a round trip to the store, never a wait on the holder.
REFUSAL_S = 2.0
# Seconds the server may take to notice a killed holder's dropped connection and free its lock.
DEAD_HOLDER_S = 10.0
POLL_S = 0.05

# A second compute process: it opens the store from the environment, as the real one does, takes
# the lock and keeps it until it is killed.
HOLDER = """
import asyncio

from service_monitor.config import load_settings
from service_monitor.storage import open_storage


async def hold() -> None:
    storage = await open_storage(load_settings())
    async with storage.cycle_lock() as held:
        print("held" if held else "refused", flush=True)
        await asyncio.sleep(3600)


asyncio.run(hold())
"""


@pytest.fixture
def store_settings(storage: Storage) -> Settings:
    """The settings that open `storage`'s own store again, from another object or process."""
    if isinstance(storage, SQLiteStorage):
        return load_settings(DB_ADDRESS=None, SQLITE_PATH=storage.path)
    return production_settings()


@pytest.fixture
async def other_storage(store_settings: Settings) -> AsyncIterator[Storage]:
    """A second Storage on the same store, as a second compute process holds one."""
    opened = await open_storage(store_settings)
    yield opened
    await opened.close()


async def try_lock(storage: Storage) -> bool:
    """Take the lock and leave at once: whether it was free."""
    async with storage.cycle_lock() as held:
        return held


async def lock_within(storage: Storage, seconds: float) -> bool:
    """Whether the lock comes free within `seconds`, asking every POLL_S."""
    deadline = time.monotonic() + seconds
    while not await try_lock(storage):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(POLL_S)
    return True


async def fail_inside_the_lock(storage: Storage) -> None:
    async with storage.cycle_lock() as held:
        assert held
        raise RuntimeError("the cycle broke")


def holder_env(settings: Settings) -> dict[str, str]:
    """This environment without any setting of ours, then exactly the store's settings."""
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    for name, value in settings.model_dump().items():
        if isinstance(value, list):  # as the environment writes a list: comma-separated
            env[name] = ",".join(str(item) for item in value)
        elif value is not None:
            env[name] = str(value)
    return env


# -- the cycle lock --
async def test_a_second_holder_is_refused_at_once_while_the_first_holds_the_lock(
    storage: Storage, other_storage: Storage
) -> None:
    async with storage.cycle_lock() as first:
        assert first
        async with asyncio.timeout(REFUSAL_S):
            assert not await try_lock(other_storage)
            assert not await try_lock(storage)  # a second cycle in the same process too
        assert not await try_lock(other_storage)  # leaving a refused block frees nothing


async def test_the_lock_is_free_again_after_the_holder_leaves_its_block(
    storage: Storage, other_storage: Storage
) -> None:
    async with storage.cycle_lock() as held:
        assert held
    assert await try_lock(other_storage)

    with pytest.raises(RuntimeError, match="the cycle broke"):
        await fail_inside_the_lock(storage)
    assert await try_lock(other_storage)

    entered = asyncio.Event()

    async def hold_until_cancelled() -> None:  # as Compute.stop cancels a running cycle
        async with storage.cycle_lock() as held:
            assert held
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(hold_until_cancelled())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await try_lock(other_storage)


async def test_a_lock_held_by_a_killed_process_is_freed(
    storage: Storage, store_settings: Settings
) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, env=holder_env(store_settings),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert holder.stdout is not None
    try:
        line = await asyncio.wait_for(holder.stdout.readline(), 30)
        if line != b"held\n":
            holder.kill()
            rest, _ = await holder.communicate()
            pytest.fail(f"the holder process did not hold the lock: {(line + rest).decode()}")
        assert not await try_lock(storage)

        holder.send_signal(signal.SIGKILL)  # no exit handler, no release: only the OS cleans up
        await holder.wait()
        assert await lock_within(storage, DEAD_HOLDER_S)
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()


@pytest.mark.usefixtures("require_mysql")
async def test_a_cycle_holding_the_lock_still_has_the_whole_pool_even_a_pool_of_one() -> None:
    storage = await MySQLStorage.open(production_settings(MIN_POOL=1, MAX_POOL=1))
    try:
        async with storage.cycle_lock() as held, asyncio.timeout(REFUSAL_S):
            assert held
            await storage.ping()  # the lock holds a session of its own, not the pool's only one
    finally:
        await storage.close()


@pytest.mark.usefixtures("require_mysql")
async def test_an_unreachable_database_server_refuses_the_lock_with_storage_unavailable() -> None:
    port = closed_port()
    settings = production_settings(DB_PORT=port)
    storage = MySQLStorage(None, f"{MYSQL_HOST}:{port}/{settings.DB_NAME}", settings)
    with pytest.raises(StorageUnavailable, match=f"database {MYSQL_HOST}:{port}/"):
        await try_lock(storage)


async def test_a_lock_file_that_cannot_be_made_raises_storage_unavailable(tmp_path: Path) -> None:
    storage = await SQLiteStorage.open(tmp_path / "gone" / "store.sqlite3")
    try:
        shutil.rmtree(tmp_path / "gone")  # the volume under the database went away
        with pytest.raises(StorageUnavailable, match="cycle lock file"):
            await try_lock(storage)
    finally:
        await storage.close()


# -- the cycle record --
async def test_cycle_records_are_counted_by_outcome_and_the_last_success_is_known(
    storage: Storage,
) -> None:
    done = CycleRecord(NOW - 3000, NOW - 2950.25, CycleOutcome.DONE, 10, 9, 1, 10)
    overran = CycleRecord(NOW - 1800, NOW - 1100.5, CycleOutcome.OVERRAN, 2000, 1990, 10, 2000)
    skipped = [CycleRecord(NOW - t, NOW - t, CycleOutcome.SKIPPED) for t in (1200, 1190)]
    failed = CycleRecord(NOW - 600, NOW - 599.125, CycleOutcome.FAILED, probed=5, fail=5)
    # The skips are recorded while the overrunning cycle still runs, so before its own record.
    for record in (done, *skipped, overran, failed):
        await storage.record_cycle(record)

    totals = await storage.cycle_totals()
    assert totals.by_outcome == {
        CycleOutcome.DONE: 1,
        CycleOutcome.OVERRAN: 1,
        CycleOutcome.SKIPPED: 2,
        CycleOutcome.FAILED: 1,
        CycleOutcome.STOPPED: 0,
    }
    assert totals.last == failed
    assert totals.last_success_at == overran.finished_at

    latest = CycleRecord(NOW - 10, NOW - 0.001, CycleOutcome.DONE, 3, 2, 1, 3)
    await storage.record_cycle(latest)
    totals = await storage.cycle_totals()
    assert totals.by_outcome[CycleOutcome.DONE] == 2
    assert totals.last == latest
    assert totals.last_success_at == latest.finished_at


async def test_totals_of_an_empty_store_are_zero_with_no_last_cycle(storage: Storage) -> None:
    assert await storage.cycle_totals() == CycleTotals(
        by_outcome=dict.fromkeys(CycleOutcome, 0), last=None, last_success_at=None
    )
