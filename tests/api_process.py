"""The API as a separate process for the tests of its clients (the `stats` and `urls` commands), and
the stored checks they count."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from service_monitor.config import load_settings
from service_monitor.models import Check, Status
from service_monitor.storage import open_storage
from tests.servers import SETTING_NAMES, running
from tests.targets import closed_port


@asynccontextmanager
async def api_process(deployment: dict[str, str], **settings: object) -> AsyncIterator[str]:
    """`service-monitor api` on a free port with the deployment's settings plus `settings`; yields
    its base URL once /status answers."""
    port = closed_port()
    env = {**deployment, **{name: str(value) for name, value in settings.items()}}
    command = (sys.executable, "-m", "service_monitor.cli", "api", "--port", str(port))
    async with running(*command, env=env, port=port) as base:
        yield base


async def store_checks(
    deployment: dict[str, str], checks: Sequence[tuple[int, Status, int]]
) -> None:
    """Write `count` checks of `status` for each (monitor id, status, count), made a minute ago,
    straight into the deployment's store (as a compute cycle would)."""
    settings = load_settings(**{k: v for k, v in deployment.items() if k in SETTING_NAMES})
    storage = await open_storage(settings)
    try:
        now = time.time()
        await storage.add_checks(
            [
                Check(monitor_id, now - 60 - i, status, 200 if status is Status.SUCCESS else 500, 5)
                for monitor_id, status, count in checks
                for i in range(count)
            ]
        )
    finally:
        await storage.close()
