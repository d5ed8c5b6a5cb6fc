"""`service-monitor serve --fleet` as a user runs it, on each deployment: the planner and a worker
in the API's process probe the imported monitors, and /fleet shows the slot."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx

from tests.servers import running
from tests.targets import closed_port, target_server


async def test_serve_with_the_fleet_probes_the_imported_monitors(
    deployment: dict[str, str], tmp_path: Path
) -> None:
    port = closed_port()
    async with target_server() as target:
        csv = tmp_path / "urls.csv"
        csv.write_text("name,url\n" + "".join(f"m{i},{target}/ok?i={i}\n" for i in range(3)))
        # A default interval of a day: each new monitor's due time of the first slot is past
        # (1 chance in 1,440 it falls in the minute to come), so the worker probes at once
        # instead of waiting for it within the minute.
        env = {**deployment, "CYCLE_INTERVAL": "86400"}
        command = (
            *(sys.executable, "-m", "service_monitor.cli", "serve", "--fleet"),
            *("--port", str(port), "--data-path", str(csv)),
        )
        async with running(*command, env=env, port=port) as base, httpx.AsyncClient() as client:
            monitors = (await client.get(f"{base}/urls/")).json()["items"]
            assert len(monitors) == 3
            async with asyncio.timeout(70):
                for monitor in monitors:
                    while True:
                        detail = (await client.get(f"{base}/urls/{monitor['id']}")).json()
                        if detail["checks"]:
                            break
                        await asyncio.sleep(0.2)
            fleet = (await client.get(f"{base}/fleet")).json()
            assert fleet["recent_slots"][-1]["monitors"] == 3
