"""The fleet as deployed: real `service-monitor worker` processes on MariaDB and Redis Streams,
probing a local HTTP server that counts each monitor's probes. Every due monitor is stored exactly
once per slot, with three workers, with one of them killed with SIGKILL mid-shard, and with Redis
restarted mid-slot (a Redis of the test's own, so no other test loses its data)."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from service_monitor.config import load_settings
from service_monitor.due import SLOT_MS
from service_monitor.fleet.planner import Planner
from service_monitor.fleet.redis_streams import RedisShardQueue
from service_monitor.storage import Storage
from service_monitor.storage.mysql import MySQLStorage
from tests.conftest import FakeClock
from tests.fleet.intake import NoIntake
from tests.servers import ROOT, deployment_env
from tests.targets import closed_port

MONITORS = 60


@pytest.fixture
def fleet_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    for env in deployment_env("mysql+redis", tmp_path, request, "fleet"):
        env.update(
            SHARD_SIZE="10",
            SHARD_DEADLINE="2.0",  # a killed worker's shard is taken over after 4 s idle
            CONCURRENCY="10",
            TIMEOUT="5",
            LOG_LEVEL="INFO",
        )
        yield env


@asynccontextmanager
async def counted_targets(delay: float) -> AsyncIterator[tuple[str, Counter[str]]]:
    """200 after `delay` s at any path; counts the probes of each `?i=` value."""
    probes: Counter[str] = Counter()

    async def answer(request: web.Request) -> web.Response:
        probes[request.query.get("i", "")] += 1
        await asyncio.sleep(delay)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", probes
    finally:
        await runner.cleanup()


@asynccontextmanager
async def workers(
    count: int, env: dict[str, str]
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    logs = [tempfile.TemporaryFile() for _ in range(count)]  # noqa: SIM115  (closed below)
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "service_monitor.cli",
            "worker",
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for log in logs
    ]
    try:
        yield processes
    except BaseException:
        for number, log in enumerate(logs):
            log.seek(0)
            print(f"--- worker {number}:\n{log.read().decode()[-3000:]}")
        raise
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
        for log in logs:
            log.close()


async def _store(env: dict[str, str]) -> Storage:
    return await MySQLStorage.open(load_settings(**_settings_of(env)))


def _settings_of(env: dict[str, str]) -> dict[str, str]:
    from service_monitor.config import Settings

    return {k: v for k, v in env.items() if k in Settings.model_fields}


async def _plan_past_slot(storage: Storage, queue: RedisShardQueue, env: dict[str, str]) -> int:
    """Plan the slot a minute ago, so every due time is past and the workers probe at once."""
    settings = load_settings(**_settings_of(env))
    clock = FakeClock(time.time() - SLOT_MS / 1000)

    planner = Planner(storage, queue, NoIntake(), settings, clock=clock)
    planned = await planner.tick()
    assert planned is not None
    assert planned.monitors == MONITORS
    return planned.slot_ms


async def _until_done(queue: RedisShardQueue, slot: int, seconds: float) -> None:
    for _ in range(int(seconds * 10)):
        if await queue.outstanding(slot) == 0:
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"slot {slot} not done within {seconds} s: {await queue.outstanding(slot)} left")


async def _monitors(storage: Storage, base: str) -> list[int]:
    rows = [(f"m{i}", f"{base}/ok?i={i}") for i in range(MONITORS)]
    await storage.import_monitors(rows, time.time())
    return [m.id for m in (await storage.list_monitors(1000, 0))[0]]


async def _stored_once_each(storage: Storage, ids: list[int]) -> None:
    for monitor_id in ids:
        checks = await storage.recent_checks(monitor_id, 10)
        assert len(checks) == 1, f"monitor {monitor_id}: {len(checks)} checks"


async def test_three_workers_probe_every_due_monitor_exactly_once(
    fleet_env: dict[str, str],
) -> None:
    storage = await _store(fleet_env)
    queue = await RedisShardQueue.open(load_settings(**_settings_of(fleet_env)))
    try:
        async with counted_targets(delay=0.05) as (base, probes):
            ids = await _monitors(storage, base)
            slot = await _plan_past_slot(storage, queue, fleet_env)
            async with workers(3, fleet_env):
                await _until_done(queue, slot, 60)
            await _stored_once_each(storage, ids)
            assert sorted(probes.values()) == [1] * MONITORS  # not one probe more
    finally:
        await queue.close()
        await storage.close()


async def test_a_worker_killed_mid_shard_is_taken_over_and_nothing_is_lost_or_doubled(
    fleet_env: dict[str, str],
) -> None:
    storage = await _store(fleet_env)
    queue = await RedisShardQueue.open(load_settings(**_settings_of(fleet_env)))
    try:
        async with counted_targets(delay=1.5) as (base, probes):
            ids = await _monitors(storage, base)
            slot = await _plan_past_slot(storage, queue, fleet_env)
            async with workers(3, fleet_env) as processes:
                for _ in range(200):  # until every worker has probes in flight
                    if sum(probes.values()) >= 25:
                        break
                    await asyncio.sleep(0.05)
                victim = processes[0]
                victim.send_signal(signal.SIGKILL)
                await victim.wait()
                await _until_done(queue, slot, 60)
            await _stored_once_each(storage, ids)
            # The killed worker's shards were probed again by the one that took them over.
            assert all(count in (1, 2) for count in probes.values())
            assert len(probes) == MONITORS
    finally:
        await queue.close()
        await storage.close()


@asynccontextmanager
async def own_redis() -> AsyncIterator[tuple[int, RedisProcess]]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no redis-server binary to start a Redis of the test's own")
    port = closed_port()
    redis = RedisProcess(binary, port)
    redis.start()
    try:
        yield port, redis
    finally:
        redis.stop()


class RedisProcess:
    """A Redis without persistence on a port of its own: restarting it loses every key."""

    def __init__(self, binary: str, port: int) -> None:
        self.binary, self.port = binary, port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import socket

        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


async def test_a_slot_survives_a_redis_restart_mid_slot(fleet_env: dict[str, str]) -> None:
    async with own_redis() as (port, redis):
        # A deadline far enough for the slot planned a minute ago to be still open when Redis
        # comes back (else it is recorded failed, which the planner's own tests show).
        env = {**fleet_env, "CACHE_PORT": str(port), "SHARD_DEADLINE": "45"}
        settings = load_settings(**_settings_of(env))
        storage = await _store(env)
        queue = await RedisShardQueue.open(settings)
        try:
            async with counted_targets(delay=0.5) as (base, probes):
                ids = await _monitors(storage, base)
                slot = await _plan_past_slot(storage, queue, env)
                async with workers(2, env):
                    for _ in range(200):
                        if sum(probes.values()) >= 10:
                            break
                        await asyncio.sleep(0.05)
                    redis.stop()  # every shard, count and marker gone
                    redis.start()
                    assert await queue.outstanding(slot) is None
                    # The next planner tick finds the slot unknown to the queue: published again.
                    planner = Planner(storage, queue, NoIntake(), settings)
                    ticked = await planner.tick(plan=False)
                    assert ticked is not None
                    assert ticked.replanned == (slot,)
                    await _until_done(queue, slot, 60)
                finished = await planner.tick(plan=False)
                assert finished is not None
                assert [s for s, _ in finished.finished] == [slot]
            await _stored_once_each(storage, ids)
        finally:
            await queue.close()
            await storage.close()


async def test_a_planner_killed_is_carried_on_by_the_next_one(fleet_env: dict[str, str]) -> None:
    # A default interval of a day: the new monitors' due times are past, probed at once.
    env = {**fleet_env, "CYCLE_INTERVAL": "86400"}
    settings = load_settings(**_settings_of(env))
    storage = await _store(env)
    queue = await RedisShardQueue.open(settings)
    try:
        async with counted_targets(delay=0.05) as (base, probes), workers(2, env):
            ids = await _monitors(storage, base)
            planner = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "service_monitor.cli", "plan",
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            slot = None
            for _ in range(300):  # its first tick plans the current minute
                planned = await storage.open_plan_slots()
                if planned:
                    slot = planned[0].slot_ms
                    break
                await asyncio.sleep(0.1)
            assert slot is not None, "the planner planned nothing in 30 s"
            planner.send_signal(signal.SIGKILL)  # its cycle lock dies with its connection
            await planner.wait()
            await _until_done(queue, slot, 60)
            # The next planner takes the lock at once and finishes the slot the first one planned.
            code, output = await _run_planner(env)
            assert code == 0, output
            finished = await storage.get_plan_slot(slot)
            assert finished is not None
            assert finished.state.value == "done"
            await _stored_once_each(storage, ids)
            assert sorted(probes.values()) == [1] * MONITORS
    finally:
        await queue.close()
        await storage.close()


async def _run_planner(env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service_monitor.cli", "plan", "--once",
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, output.decode()
