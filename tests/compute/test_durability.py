"""An accepted URL is never lost: not when Redis restarts before the compute drains the queue, not
when the compute is killed with SIGKILL while it runs. Real processes, no simulation."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service_monitor.api.app import create_app
from service_monitor.cache.redis import RedisCache
from service_monitor.compute.worker import Compute
from service_monitor.config import Settings, load_settings
from service_monitor.models import MonitorState
from service_monitor.services import Services
from service_monitor.storage import Storage
from service_monitor.storage.mysql import MySQLStorage
from tests.conftest import (
    MYSQL_DATABASE,
    MYSQL_HOST,
    MYSQL_PORT,
    FakeClock,
)
from tests.faults import PrivateRedis
from tests.targets import closed_port, target_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def private_redis() -> AsyncIterator[PrivateRedis]:
    redis = PrivateRedis(closed_port())
    await redis.start()
    yield redis
    await redis.stop()


async def test_url_accepted_before_a_redis_restart_is_probed_after_it(
    storage: Storage, private_redis: PrivateRedis, clock: FakeClock
) -> None:
    settings = load_settings(
        CACHE_ADDRESS="127.0.0.1",
        CACHE_PORT=private_redis.port,
        TIMEOUT=2,
        ALLOW_PRIVATE_TARGETS=True,  # the target listens on 127.0.0.1
    )
    cache = await RedisCache.open(settings)
    services = Services(settings, storage, cache, clock=clock)
    transport = httpx.ASGITransport(app=create_app(services=services))
    try:
        async with target_server() as target:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                posted = await client.post("/urls/", json={"name": "a", "url": f"{target}/ok"})
                assert posted.status_code == 201
            assert await cache.depth() == 1

            await private_redis.stop()  # the queue is gone with the process...
            await private_redis.start()
            assert await cache.depth() == 0  # ...and the client reconnects by itself

            report = await Compute(storage, cache, settings, clock=clock).cycle()
        assert report is not None
        assert (report.activated, report.probed, report.success) == (1, 1, 1)
        monitor = await storage.get_monitor(posted.json()["id"])
        assert monitor.state is MonitorState.ACTIVE
    finally:
        await cache.close()


def _compute_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env.update({"DB_ADDRESS": MYSQL_HOST, "DB_PORT": str(MYSQL_PORT), "DB_NAME": settings.DB_NAME})
    env.update({"CACHE_ADDRESS": "127.0.0.1", "CACHE_PORT": str(settings.CACHE_PORT)})
    # All targets share one host: lift the per-host cap so the cycle takes seconds, not minutes.
    env.update({"TIMEOUT": "2", "WRITE_BATCH_SIZE": "50", "PER_HOST_LIMIT": "0"})
    env["ALLOW_PRIVATE_TARGETS"] = "true"  # the targets listen on 127.0.0.1
    return env


@pytest.mark.usefixtures("require_mysql")
@pytest.mark.parametrize("kill_after_s", [0.6, 1.5, 2.5])
async def test_compute_killed_mid_cycle_loses_no_queued_url(
    private_redis: PrivateRedis, kill_after_s: float
) -> None:
    """SIGKILL lands around the drain (0.6 s: the process has just started) or amid probing
    (1,500 URLs that each take 0.3 s); the next cycle takes in every queued URL and probes each
    exactly once."""
    settings = load_settings(
        DB_ADDRESS=MYSQL_HOST,
        DB_PORT=MYSQL_PORT,
        DB_NAME=f"{MYSQL_DATABASE}_kill_{uuid.uuid4().hex[:8]}",
        CACHE_ADDRESS="127.0.0.1",
        CACHE_PORT=private_redis.port,
        ALLOW_PRIVATE_TARGETS=True,  # the target listens on 127.0.0.1
    )
    storage = await MySQLStorage.open(settings)
    cache = await RedisCache.open(settings)
    count = 1500
    try:
        async with target_server() as target:
            for i in range(count):
                monitor = await storage.add_monitor(f"m{i}", f"{target}/slow?i={i}", 0.0)
                await cache.push(monitor.id)
            command = (sys.executable, "-m", "src.service_monitor.compute.scheduler")
            env = _compute_env(settings)
            victim = await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=env)
            await asyncio.sleep(kill_after_s)
            if victim.returncode is None:
                victim.send_signal(signal.SIGKILL)
            await victim.wait()

            before = await storage.summary(0)  # checks the killed cycle managed to write
            survivor = await asyncio.create_subprocess_exec(
                *command, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            output, _ = await asyncio.wait_for(survivor.communicate(), 60)
            assert survivor.returncode == 0, output.decode()
        assert f"cycle done: {count} URLs probed" in output.decode()
        assert len(await storage.targets()) == count
        assert await cache.depth() == 0
        after = await storage.summary(0)
        assert after.success - before.success == count  # each URL once in the surviving cycle
        # ...and at most once in the killed one: no URL has two checks from one cycle.
        per_monitor = await storage.fetch(
            "SELECT COUNT(*), COUNT(DISTINCT monitor_id), MAX(n) FROM"
            " (SELECT monitor_id, COUNT(*) AS n FROM checks GROUP BY monitor_id) AS m"
        )
        assert [tuple(int(v) for v in row) for row in per_monitor] == [
            (count, count, 2 if before.success else 1)
        ]
    finally:
        await storage.execute(f"DROP DATABASE `{settings.DB_NAME}`")
        await cache.close()
        await storage.close()
