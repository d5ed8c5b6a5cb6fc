"""The seed's own commands as a user runs them, as separate processes: API, compute, and `serve`."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

from service_monitor.config import load_settings
from service_monitor.models import Check, Counts, Status
from service_monitor.storage import open_storage
from tests.servers import ROOT, SETTING_NAMES, run_to_end, running, server_env
from tests.targets import closed_port, target_server

COMPUTE = (sys.executable, "-m", "src.service_monitor.compute.scheduler")


async def test_seed_commands_post_probe_and_count(
    deployment: dict[str, str], tmp_path: Path
) -> None:
    port = closed_port()
    api = (sys.executable, "-m", "uvicorn", "src.service_monitor.api.app:app", "--host",
           "127.0.0.1", "--port", str(port))  # fmt: skip
    csv = tmp_path / "urls.csv"
    async with target_server() as target, running(*api, env=deployment, port=port) as base:
        csv.write_text(f"name,url\nfrom csv,{target}/status/503\nbroken,ftp://nope\n")
        async with httpx.AsyncClient(base_url=base) as client:
            posted = await client.post("/urls/", json={"name": "posted", "url": f"{target}/ok"})
            assert posted.status_code == 201

            code, output = await run_to_end(*COMPUTE, "--data-path", str(csv), env=deployment)
            assert code == 0, output
            assert "urls.csv:3" in output  # the bad row, by line
            assert "cycle done: 2 URLs probed, 1 success, 1 fail" in output

            success = await client.get("/urls/top/success/hour", params={"cache": "false"})
            assert success.json() == [{"name": "posted", "url": f"{target}/ok", "count": 1}]
            fail = await client.get("/urls/top/fail/hour", params={"cache": "false"})
            assert fail.json() == [{"name": "from csv", "url": f"{target}/status/503", "count": 1}]
            summary = await client.get("/urls/summary/", params={"cache": "false"})
            assert summary.json() == [
                {"status": "success", "count": 1},
                {"status": "fail", "count": 1},
            ]
            # A fresh compute process (as ECS runs one per cycle) still probes the posted URL.
            code, output = await run_to_end(*COMPUTE, env=deployment)
            assert code == 0, output
            assert "cycle done: 2 URLs probed" in output
            detail = await client.get(f"/urls/{posted.json()['id']}")
            assert detail.json()["counts"]["hour"] == {"success": 2, "fail": 0, "degraded": 0}


async def test_run_local_repeats_cycles_until_stopped(
    deployment: dict[str, str], tmp_path: Path
) -> None:
    async with target_server() as target:
        csv = tmp_path / "urls.csv"
        csv.write_text(f"name,url\nok,{target}/ok\n")
        process = await asyncio.create_subprocess_exec(
            *COMPUTE, "--run-local", "--interval", "0.5", "--data-path", str(csv),
            cwd=ROOT, env=deployment, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        assert process.stdout is not None
        seen: list[str] = []
        try:
            async with asyncio.timeout(30):
                while len(seen) < 2:
                    line = (await process.stdout.readline()).decode()
                    assert line, "the compute exited early"
                    if "cycle done" in line:
                        seen.append(line)
        finally:
            process.send_signal(signal.SIGTERM)
            rest, _ = await asyncio.wait_for(process.communicate(), 15)
        assert process.returncode == 0, rest.decode()
        assert all("1 URLs probed, 1 success" in line for line in seen)


async def test_compute_that_cannot_reach_the_database_exits_1_with_one_line() -> None:
    # STARTUP_TIMEOUT=0: one attempt (the waiting itself is tests/test_startup.py's)
    env = server_env(
        DB_ADDRESS="127.0.0.1", DB_PORT=closed_port(), DB_CONNECT_TIMEOUT=1, STARTUP_TIMEOUT=0
    )
    code, output = await run_to_end(*COMPUTE, env=env)
    assert code == 1
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert "cannot run: database 127.0.0.1" in lines[0]


async def test_compute_that_cannot_reach_the_cache_exits_1_with_one_line(tmp_path: Path) -> None:
    env = server_env(
        SQLITE_PATH=tmp_path / "x.sqlite3",
        CACHE_ADDRESS="127.0.0.1",
        CACHE_PORT=closed_port(),
        STARTUP_TIMEOUT=0,
    )
    code, output = await run_to_end(*COMPUTE, env=env)
    assert code == 1
    assert len(output.strip().splitlines()) == 1, output
    assert "cannot run: cache 127.0.0.1" in output


@pytest.mark.parametrize(
    "command",
    [
        COMPUTE,
        (sys.executable, "-m", "uvicorn", "src.service_monitor.api.app:app", "--port", "1"),
        (sys.executable, "-m", "service_monitor.cli", "serve"),
    ],
    ids=["compute", "uvicorn", "serve"],
)
async def test_bad_setting_stops_start_up_with_one_line(command: tuple[str, ...]) -> None:
    code, output = await run_to_end(*command, env=server_env(TIMEOUT="soon"))
    assert code == 2
    assert output.strip() == (
        "service-monitor: invalid setting TIMEOUT='soon': Input should be a valid number,"
        " unable to parse string as a number"
    )


async def test_serve_runs_api_and_cycles_in_one_process(tmp_path: Path) -> None:
    port = closed_port()
    env = server_env(SQLITE_PATH=tmp_path / "serve.sqlite3", CYCLE_INTERVAL=1, TIMEOUT=2)
    csv = tmp_path / "urls.csv"
    serve = (sys.executable, "-m", "service_monitor.cli", "serve", "--port", str(port),
             "--data-path", str(csv))  # fmt: skip
    async with target_server() as target:
        # Local targets only: tests never send traffic off this machine.
        csv.write_text(f"name,url\nfailing,{target}/status/500\n")
        async with (
            running(*serve, env=env, port=port) as base,
            httpx.AsyncClient(base_url=base) as client,
        ):
            listed = (await client.get("/urls")).json()
            assert [m["name"] for m in listed["items"]] == ["failing"]  # the CSV was imported
            posted = await client.post("/urls/", json={"name": "mine", "url": f"{target}/ok"})
            assert posted.status_code == 201
            async with asyncio.timeout(30):
                while True:
                    top = await client.get("/urls/top/success/hour", params={"cache": "false"})
                    if top.json():
                        break
                    await asyncio.sleep(0.3)
            assert top.json()[0]["name"] == "mine"


async def test_import_command_upserts_and_reports_bad_rows(tmp_path: Path) -> None:
    env = server_env(SQLITE_PATH=tmp_path / "import.sqlite3")
    csv = tmp_path / "urls.csv"
    csv.write_text("name,url\nok,http://a.example/\nbad,not a url\n")
    cli = (sys.executable, "-m", "service_monitor.cli")
    code, output = await run_to_end(*cli, "import", str(csv), env=env)
    assert code == 1  # a row was rejected: scripts can tell
    assert "urls.csv:3" in output
    assert "imported 1 monitors" in output
    code, output = await run_to_end(*cli, "import", str(tmp_path / "missing.csv"), env=env)
    assert code == 1
    assert "missing.csv" in output


async def test_api_command_serves_the_api(tmp_path: Path) -> None:
    port = closed_port()
    env = server_env(SQLITE_PATH=tmp_path / "api.sqlite3")
    api = (sys.executable, "-m", "service_monitor.cli", "api", "--port", str(port))
    async with (
        running(*api, env=env, port=port) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        assert (await client.get("/urls/summary")).status_code == 200


async def test_cleanup_command_rolls_up_and_prunes_unless_a_cycle_runs(
    deployment: dict[str, str],
) -> None:
    settings = load_settings(**{k: v for k, v in deployment.items() if k in SETTING_NAMES})
    storage = await open_storage(settings)
    try:
        monitor = await storage.add_monitor("old", "http://old.example/", time.time())
        now = time.time()
        await storage.add_checks(
            [Check(monitor.id, now - days * 86400, Status.SUCCESS, 200, 5) for days in (40, 1)]
        )
        cli = (sys.executable, "-m", "service_monitor.cli", "cleanup")
        async with storage.cycle_lock() as held:
            assert held
            code, output = await run_to_end(*cli, env=deployment)
        assert code == 1
        assert "a cycle is running" in output
        assert len(await storage.recent_checks(monitor.id, 10)) == 2

        code, output = await run_to_end(*cli, env=deployment)
        assert code == 0, output
        assert "removed 1 raw checks" in output
        assert [c.checked_at for c in await storage.recent_checks(monitor.id, 10)] == [
            round((now - 86400) * 1000) / 1000
        ]  # the raw check of 40 days ago is gone
        assert await storage.summary(now - 30 * 86400) == Counts(success=1, fail=0)
    finally:
        await storage.close()
