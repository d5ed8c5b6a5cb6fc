"""`GET /fleet` and `service-monitor fleet` against a real API process on each deployment: the
planner's slots from the store, and beside Redis each region's shard stream."""

from __future__ import annotations

import json
import time

import httpx

from service_monitor.config import load_settings
from service_monitor.fleet.local import LocalShardQueue
from service_monitor.fleet.planner import Planner
from service_monitor.fleet.queue import ShardQueue
from service_monitor.fleet.redis_streams import RedisShardQueue
from service_monitor.storage import open_storage
from tests.api_process import api_process
from tests.fleet.intake import NoIntake
from tests.servers import SETTING_NAMES
from tests.test_remote_cli import CliRunner, cli, row

__all__ = ["cli"]


async def _plan(deployment: dict[str, str], monitors: int) -> int:
    settings = load_settings(**{k: v for k, v in deployment.items() if k in SETTING_NAMES})
    storage = await open_storage(settings)
    queue: ShardQueue = (
        await RedisShardQueue.open(settings) if settings.uses_redis else LocalShardQueue()
    )
    try:
        rows = [(f"m{i}", f"https://m{i}.example/") for i in range(monitors)]
        await storage.import_monitors(rows, time.time())
        planned = await Planner(storage, queue, NoIntake(), settings).tick()
        assert planned is not None
        return planned.slot_ms
    finally:
        await queue.close()
        await storage.close()


async def test_the_fleet_shows_the_planners_slot_and_the_regions_stream(
    deployment: dict[str, str], cli: CliRunner
) -> None:
    async with api_process(deployment) as base:
        await _plan(deployment, 30)
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{base}/fleet")
        assert answer.status_code == 200, answer.text
        fleet = answer.json()
        assert fleet["slots"] == {"planned": 1, "done": 0, "failed": 0}
        [slot] = fleet["recent_slots"]
        assert (slot["state"], slot["monitors"]) == ("planned", 30)
        redis = "CACHE_ADDRESS" in deployment
        if redis:
            shards = slot["shards"]
            assert fleet["streams"] == [
                {"region": "local", "length": shards, "lag": shards, "pending": 0}
            ]
            assert fleet["dead_letters"] == 0
        else:
            assert fleet["streams"] is None

        tables = await cli("fleet", "--api-url", base)
        assert tables.code == 0, tables.err
        assert "slots: planned 1, done 0, failed 0" in tables.out
        assert row("planned", "30").search(tables.out)
        if redis:
            assert row("local", str(shards), str(shards), "0").search(tables.out)
        machine = await cli("fleet", "--api-url", base, "--json")
        assert json.loads(machine.out)["recent_slots"][0]["monitors"] == 30

        async with httpx.AsyncClient() as client:
            refused = await client.get(f"{base}/fleet", params={"limit": 0})
        assert refused.status_code == 422
        assert "limit" in refused.text
