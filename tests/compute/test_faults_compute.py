"""The compute when MariaDB goes away mid-cycle, and when it is told to stop (SIGTERM, as ECS does):
no check is dropped silently, probing never waits for the database, and a stopped cycle is stored
and recorded, by a real process with a real exit code."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from service_monitor.cache.redis import RedisCache
from service_monitor.compute.cycle import run_cycle
from service_monitor.compute.prober import open_probe_sessions
from service_monitor.compute.report import CycleReport
from service_monitor.compute.worker import Compute
from service_monitor.config import Settings
from service_monitor.errors import StorageUnavailable
from service_monitor.models import Check, CycleOutcome
from service_monitor.services import Services
from service_monitor.storage import Storage
from service_monitor.storage.mysql import MySQLStorage
from service_monitor.storage.sqlite import SQLiteStorage
from tests.conftest import (
    MYSQL_DATABASE,
    MYSQL_HOST,
    MYSQL_PORT,
    REDIS_HOST,
    REDIS_PORT,
    open_mysql_storage,
    production_settings,
    redis_cleanup,
)
from tests.faults import Mode, TCPProxy, tcp_proxy
from tests.targets import closed_port, target_server

ROOT = Path(__file__).resolve().parents[2]
COMPUTE = (sys.executable, "-m", "src.service_monitor.compute.scheduler")


async def checks_in(storage: Storage) -> int:
    counts = await storage.summary(0)
    return counts.success + counts.fail


async def until(condition: object, seconds: float = 20.0) -> None:
    """Wait until the async callable `condition` returns true, asking every 50 ms."""
    assert callable(condition)
    async with asyncio.timeout(seconds):
        while not await condition():  # noqa: ASYNC110  (a database, not an event, is polled)
            await asyncio.sleep(0.05)


# -- the database goes away mid-cycle (in process, MariaDB behind a proxy) --
@pytest.fixture
async def db_proxy() -> AsyncIterator[TCPProxy]:
    async with tcp_proxy(MYSQL_HOST, MYSQL_PORT) as proxy:
        yield proxy


@pytest.fixture
async def observer(require_mysql: None) -> AsyncIterator[Storage]:
    """The same database reached directly: what is really stored while the proxy is cut."""
    storage = await MySQLStorage.open(production_settings())
    yield storage
    await storage.close()


async def compute_behind(proxy: TCPProxy, url: str, count: int, **overrides: object) -> Compute:
    settings = production_settings(
        DB_PORT=proxy.port,
        DB_CONNECT_TIMEOUT=1.0,
        DB_QUERY_TIMEOUT=2.0,
        CONCURRENCY=4,
        PER_HOST_LIMIT=0,
        RAMP_UP_SECONDS=0,
        WRITE_BATCH_SIZE=4,
        TIMEOUT=5.0,
        **overrides,
    )
    storage = await open_mysql_storage(settings)
    await storage.import_monitors([(f"m{i}", f"{url}/slow?i={i}") for i in range(count)], 0.0)
    cache = await RedisCache.open(settings)
    return Compute(storage, cache, settings)


async def close(compute: Compute) -> None:
    assert isinstance(compute.queue, RedisCache)
    await compute.queue.close()
    await compute.storage.close()
    await redis_cleanup(compute.settings.CACHE_KEY_PREFIX)


async def test_checks_made_while_the_database_is_down_are_stored_once_it_is_back(
    db_proxy: TCPProxy, observer: Storage
) -> None:
    async with target_server() as url:
        # 40 probes of 0.3 s, 4 at a time: 3 s of probing
        compute = await compute_behind(db_proxy, url, 40, WRITE_RETRY_SECONDS=30)
        try:
            running = asyncio.create_task(compute.cycle())
            await until(lambda: _at_least(observer, 4))  # the first batch is in
            cut_at = time.time()
            await db_proxy.set_mode(Mode.CUT)
            await asyncio.sleep(4.0)  # past the end of the probing
            back = time.time()
            await db_proxy.set_mode(Mode.PASS)
            report = await asyncio.wait_for(running, 30)
        finally:
            await close(compute)
    assert report is not None
    assert (report.probed, report.stored, report.lost) == (40, 40, 0)
    # Probing went on while the writes waited: the last probe started before the database was
    # back (the cycle started before the cut, so its last probe started before cut + last_start).
    assert report.last_start_s < back - cut_at
    assert await checks_in(observer) == 40
    monitors, _ = await observer.list_monitors(100, 0)
    assert [len(await observer.recent_checks(m.id, 5)) for m in monitors] == [1] * 40
    totals = await observer.cycle_totals()
    assert totals.by_outcome[CycleOutcome.DONE] == 1


async def _at_least(storage: Storage, count: int) -> bool:
    return await checks_in(storage) >= count


async def test_checks_the_database_never_takes_are_counted_lost_with_the_reason(
    db_proxy: TCPProxy, observer: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    async with target_server() as url:
        compute = await compute_behind(db_proxy, url, 24, WRITE_RETRY_SECONDS=1.0)
        try:
            running = asyncio.create_task(compute.cycle())
            await until(lambda: _at_least(observer, 4))
            await db_proxy.set_mode(Mode.CUT)
            report: CycleReport | None = await asyncio.wait_for(running, 30)
        finally:
            await db_proxy.set_mode(Mode.PASS)
            await close(compute)
    assert report is not None
    assert report.probed == 24
    assert report.lost > 0
    assert report.stored + report.lost == 24  # every check is either stored or counted lost
    # What is counted stored is there; a batch whose commit's answer the cut swallowed may be
    # there too, and the reason says so.
    observed = await checks_in(observer)
    assert report.stored <= observed <= report.stored + 4
    if observed > report.stored:
        assert "may have been stored" in (report.lost_why or "")
    assert report.lost_why is not None
    assert "did not take them within 1 s" in report.lost_why
    assert f"database 127.0.0.1:{db_proxy.port}/" in report.lost_why
    assert compute.outcomes == {CycleOutcome.FAILED: 1}
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(m.startswith(f"{report.lost} checks lost: ") for m in errors) or any(
        "checks lost: " in m for m in errors
    )
    assert f"{report.lost} checks LOST" in errors[-1]  # the cycle's own line says how many


async def test_a_cycle_runs_while_redis_is_down_and_the_queue_resumes_when_it_is_back(
    require_mysql: None, require_redis: None
) -> None:
    async with tcp_proxy(REDIS_HOST, REDIS_PORT) as redis, target_server() as url:
        settings = production_settings(
            CACHE_PORT=redis.port, CACHE_OP_TIMEOUT=0.5, CACHE_RETRY_AFTER=0.5, TIMEOUT=2.0
        )
        storage = await open_mysql_storage(settings)
        cache = await RedisCache.open(settings)
        compute = Compute(storage, cache, settings)
        try:
            first = await storage.add_monitor("first", f"{url}/ok?n=1", time.time())
            await cache.push(first.id)
            await redis.set_mode(Mode.CUT)
            report = await compute.cycle()  # the queue is down: taken in from the database
            assert report is not None
            assert (report.activated, report.probed, report.stored) == (1, 1, 1)

            await redis.set_mode(Mode.PASS)
            await asyncio.sleep(0.6)  # CACHE_RETRY_AFTER
            second = await storage.add_monitor("second", f"{url}/ok?n=2", time.time())
            await cache.push(second.id)
            report = await compute.cycle()  # no restart: the same compute, the same client
            assert report is not None
            assert (report.activated, report.probed) == (1, 2)
            assert await cache.depth() == 0  # both ids acknowledged, the first one late
            assert [len(await storage.recent_checks(m, 5)) for m in (first.id, second.id)] == [2, 1]
        finally:
            await cache.close()
            await storage.close()
            await redis_cleanup(settings.CACHE_KEY_PREFIX)


class AnswerLost:
    """A store whose connection drops right after the commit of the first `times` batches: the
    checks are stored, but the writer hears an error, as when the server's answer is lost."""

    def __init__(self, storage: Storage, times: int) -> None:
        self._storage = storage
        self.times = times

    async def add_checks(self, checks: Sequence[Check]) -> None:
        await self._storage.add_checks(checks)
        if self.times:
            self.times -= 1
            raise StorageUnavailable("database db failed: Lost connection to MySQL server")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


async def test_a_batch_whose_commit_answer_was_lost_is_not_stored_twice(
    services: Services,
) -> None:
    async with target_server() as url:
        rows = [(f"m{i}", f"{url}/ok?i={i}") for i in range(10)]
        await services.storage.import_monitors(rows, 0)
        settings = services.settings.model_copy(
            update={"WRITE_BATCH_SIZE": 3, "CONCURRENCY": 2, "RAMP_UP_SECONDS": 0}
        )
        storage = AnswerLost(services.storage, times=2)
        async with open_probe_sessions(settings) as sessions:
            report = await run_cycle(cast(Storage, storage), services.cache, sessions, settings)
    assert storage.times == 0  # both answers were lost
    assert (report.probed, report.stored, report.lost) == (10, 10, 0)
    monitors, _ = await services.storage.list_monitors(100, 0)
    assert [len(await services.storage.recent_checks(m.id, 5)) for m in monitors] == [1] * 10


# -- SIGTERM and SIGKILL of the real process --
def compute_env(**settings: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env.update({k: str(v) for k, v in settings.items()})
    env.update({"PYTHONUNBUFFERED": "1", "ALLOW_PRIVATE_TARGETS": "true", "PER_HOST_LIMIT": "0"})
    return env


@pytest.fixture
async def mysql_redis(require_mysql: None, require_redis: None) -> AsyncIterator[dict[str, str]]:
    """A database of its own on MariaDB and a key prefix of its own on Redis, as environment."""
    name = f"{MYSQL_DATABASE}_term_{uuid.uuid4().hex[:8]}"
    prefix = f"sm-test:{uuid.uuid4().hex}:"
    yield compute_env(
        DB_ADDRESS=MYSQL_HOST,
        DB_PORT=MYSQL_PORT,
        DB_NAME=name,
        CACHE_ADDRESS=REDIS_HOST,
        CACHE_PORT=REDIS_PORT,
        CACHE_KEY_PREFIX=prefix,
    )
    await redis_cleanup(prefix)


async def test_sigterm_mid_cycle_stores_what_was_probed_records_it_and_exits_0(
    mysql_redis: dict[str, str],
) -> None:
    count = 300
    env = {**mysql_redis, "CONCURRENCY": "20", "WRITE_BATCH_SIZE": "10", "TIMEOUT": "5"}
    settings = production_settings(DB_NAME=env["DB_NAME"])
    storage = await MySQLStorage.open(settings)
    try:
        async with target_server() as url:
            # 300 probes of 0.3 s, 20 at a time: 4.5 s, stopped about a third of the way in
            await storage.import_monitors([(f"m{i}", f"{url}/slow?i={i}") for i in range(count)], 0)
            process = await asyncio.create_subprocess_exec(
                *COMPUTE, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            await until(lambda: _at_least(storage, 20))
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(process.communicate(), 15)
            text = output.decode()
            assert process.returncode == 0, text
            stored = await checks_in(storage)
            assert 20 <= stored < count
            assert f"cycle stopped: {stored} of {count} URLs probed" in text, text
            assert f"{stored} checks stored" in text
            totals = await storage.cycle_totals()
            assert totals.by_outcome[CycleOutcome.STOPPED] == 1
            assert totals.last is not None
            assert (totals.last.probed, totals.last.stored) == (stored, stored)

            # The next cycle (the next ECS task) runs normally and probes each URL once.
            code_next = await asyncio.create_subprocess_exec(
                *COMPUTE, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            output, _ = await asyncio.wait_for(code_next.communicate(), 30)
            assert code_next.returncode == 0, output.decode()
            assert f"cycle done: {count} URLs probed" in output.decode()
        assert await checks_in(storage) == stored + count
        monitors, _ = await storage.list_monitors(1000, 0)
        per_monitor = [len(await storage.recent_checks(m.id, 5)) for m in monitors]
        assert sorted(set(per_monitor)) == [1, 2]
        assert per_monitor.count(2) == stored  # probed once in each cycle, never twice in one
    finally:
        await storage.execute(f"DROP DATABASE `{settings.DB_NAME}`")
        await storage.close()


@pytest.mark.parametrize(
    "mode", [(), ("--run-local", "--interval", "600")], ids=["once", "run-local"]
)
async def test_sigterm_abandons_probes_still_in_flight_after_the_grace_period_and_exits_0(
    tmp_path: Path, mode: tuple[str, ...]
) -> None:
    env = compute_env(
        SQLITE_PATH=tmp_path / "store.sqlite3",
        TIMEOUT=60,
        SHUTDOWN_GRACE_SECONDS=1,
        WRITE_BATCH_SIZE=1,  # each check is stored as it comes: the test sees them
        RAMP_UP_SECONDS=0,  # all 5 probes start at once
    )
    async with target_server() as url:
        csv = tmp_path / "urls.csv"
        csv.write_text("name,url\n" + "".join(f"ok{i},{url}/ok?i={i}\n" for i in range(3))
                       + "".join(f"hung{i},{url}/hang?i={i}\n" for i in range(2)))  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            *COMPUTE, *mode, "--data-path", str(csv), cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        storage = await SQLiteStorage.open(tmp_path / "store.sqlite3")
        try:
            await until(lambda: _at_least(storage, 3))  # the 3 quick ones; 2 hang for 60 s
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(process.communicate(), 15)
            took = time.monotonic() - signalled
            text = output.decode()
            assert process.returncode == 0, text
            assert took < 6.0  # the 1 s grace and the writes, not the 60 s probe timeout
            assert "cycle stopped: 3 of 5 URLs probed" in text, text
            assert "2 probes abandoned after the grace period" in text
            totals = await storage.cycle_totals()
            assert totals.by_outcome[CycleOutcome.STOPPED] == 1
        finally:
            await storage.close()


async def test_serve_stops_its_cycle_gracefully_on_sigterm_and_exits_0(tmp_path: Path) -> None:
    port = closed_port()
    env = compute_env(
        SQLITE_PATH=tmp_path / "serve.sqlite3",
        CONCURRENCY=5,
        TIMEOUT=5,
        SHUTDOWN_GRACE_SECONDS=5,
        WRITE_BATCH_SIZE=5,
    )
    async with target_server() as url:
        csv = tmp_path / "urls.csv"
        # 100 probes of 0.3 s, 5 at a time: 6 s
        csv.write_text("name,url\n" + "".join(f"m{i},{url}/slow?i={i}\n" for i in range(100)))
        serve = (sys.executable, "-m", "service_monitor.cli", "serve", "--port", str(port),
                 "--data-path", str(csv))  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            *serve, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        await asyncio.sleep(0.5)
        storage = await SQLiteStorage.open(tmp_path / "serve.sqlite3")
        try:
            await until(lambda: _at_least(storage, 10))
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(process.communicate(), 15)
            text = output.decode()
            assert process.returncode == 0, text
            stored = await checks_in(storage)
            assert f"cycle stopped: {stored} of 100 URLs probed" in text, text
            totals = await storage.cycle_totals()
            assert totals.by_outcome[CycleOutcome.STOPPED] == 1
            assert "Traceback" not in text
        finally:
            await storage.close()
