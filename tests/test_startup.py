"""Start-up while the database or the cache is not up yet (the normal order on ECS): every entry
point waits, with a line per attempt, up to STARTUP_TIMEOUT; then one line and exit code 1."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from service_monitor.config import Settings, load_settings
from service_monitor.errors import CacheUnavailable, StorageUnavailable
from service_monitor.startup import StartupFailed, open_backends, open_with_retry
from tests.conftest import MYSQL_DATABASE, MYSQL_HOST, MYSQL_PORT, FakeClock
from tests.faults import Mode, TCPProxy, tcp_proxy
from tests.targets import closed_port, target_server

ROOT = Path(__file__).resolve().parents[1]
COMPUTE = (sys.executable, "-m", "src.service_monitor.compute.scheduler")
UVICORN = (
    sys.executable,
    "-m",
    "uvicorn",
    "src.service_monitor.api.app:app",
    "--host",
    "127.0.0.1",
)


# -- the rule, on a clock the test moves --
class Opener:
    """Fails `failures` times the way an unreachable server does, then opens."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise StorageUnavailable("database db.example:3306/x unreachable: refused")
        return "opened"


async def test_an_unreachable_backend_is_retried_with_backoff_and_a_line_per_attempt(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service_monitor.startup")

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    opener = Opener(failures=4)
    opened = await open_with_retry(
        "database", "db.example:3306/x", opener, deadline=clock.now + 120, clock=clock, sleep=sleep
    )
    assert opened == "opened"
    waits = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(waits) == 4
    assert waits[0] == (
        "waiting for the database at db.example:3306/x: attempt 1 failed (database"
        " db.example:3306/x unreachable: refused); next retry in 0.5 s, giving up in 120 s"
    )
    assert [w.split("next retry in ")[1].split(" s")[0] for w in waits] == [
        "0.5",
        "1.0",
        "2.0",
        "4.0",
    ]
    assert "answered at attempt 5" in caplog.records[-1].getMessage()


async def test_after_startup_timeout_it_gives_up_with_one_line_naming_the_backend(
    clock: FakeClock,
) -> None:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    opener = Opener(failures=1000)
    with pytest.raises(StartupFailed) as raised:
        await open_with_retry(
            "database",
            "db.example:3306/x",
            opener,
            deadline=clock.now + 30,
            clock=clock,
            sleep=sleep,
        )
    assert str(raised.value).startswith(
        "database db.example:3306/x unreachable after 8 attempts in 30 s (STARTUP_TIMEOUT);"
        " last error: database db.example:3306/x unreachable: refused"
    )
    assert opener.calls == 8  # 0.5 + 1 + 2 + 4 + 8 + 10 + 4.5: the backoff is capped at 10 s


async def test_a_cache_that_never_comes_leaves_no_store_open(tmp_path: Path) -> None:
    closed: list[str] = []

    class Store:
        async def close(self) -> None:
            closed.append("store")

    async def open_store(settings: Settings) -> Store:
        return Store()

    async def open_cache(settings: Settings) -> None:
        raise CacheUnavailable("cache cache.example:6379 unreachable: refused")

    settings = load_settings(SQLITE_PATH=tmp_path / "x.sqlite3", STARTUP_TIMEOUT=0)
    with pytest.raises(StartupFailed, match=r"^cache .* unreachable after 1 attempt"):
        await open_backends(settings, open_store=open_store, open_cache_backend=open_cache)  # type: ignore[arg-type]
    assert closed == ["store"]


# -- the entry points, as processes --
def _env(**settings: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env.update({k: str(v) for k, v in settings.items()})
    env.update({"PYTHONUNBUFFERED": "1", "ALLOW_PRIVATE_TARGETS": "true"})
    return env


async def run_to_end(*command: str, env: dict[str, str], limit: float = 30) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), limit)
    assert process.returncode is not None
    return process.returncode, output.decode()


@pytest.mark.parametrize(
    "command",
    [
        COMPUTE,
        (*UVICORN, "--port", str(closed_port())),
        (
            sys.executable,
            "-m",
            "service_monitor.cli",
            "serve",
            "--no-data",
            "--port",
            str(closed_port()),
        ),
        (sys.executable, "-m", "service_monitor.cli", "api", "--port", str(closed_port())),
        (
            sys.executable,
            "-m",
            "service_monitor.cli",
            "api",
            "--workers",
            "2",
            "--port",
            str(closed_port()),
        ),
    ],
    ids=["compute", "uvicorn", "serve", "api", "api-workers"],
)
async def test_every_entry_point_gives_up_after_startup_timeout_with_one_line_and_exit_1(
    command: tuple[str, ...],
) -> None:
    port = closed_port()
    env = _env(DB_ADDRESS="127.0.0.1", DB_PORT=port, STARTUP_TIMEOUT=1.5, API_KEYS="k")
    started = time.monotonic()
    code, output = await run_to_end(*command, env=env)
    assert code == 1, output
    assert time.monotonic() - started < 15
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if "ERROR" in line]
    assert len(errors) == 1, output
    assert f"database 127.0.0.1:{port}/service_monitor unreachable after" in errors[0]
    assert "(STARTUP_TIMEOUT)" in errors[0]
    waiting = [line for line in output.splitlines() if "waiting for the database" in line]
    assert waiting, output  # a line per attempt, before giving up
    assert "attempt 1 failed" in waiting[0]
    assert "next retry in 0.5 s" in waiting[0]


@asynccontextmanager
async def cut_database() -> AsyncIterator[TCPProxy]:
    """MariaDB behind a proxy that starts cut: a database that is not up yet."""
    async with tcp_proxy(MYSQL_HOST, MYSQL_PORT) as proxy:
        await proxy.set_mode(Mode.CUT)
        yield proxy


@pytest.mark.usefixtures("require_mysql")
async def test_compute_waits_for_a_database_that_comes_up_late_then_runs_its_cycle(
    tmp_path: Path,
) -> None:
    async with cut_database() as proxy, target_server() as target:
        csv = tmp_path / "urls.csv"
        csv.write_text(f"name,url\nok,{target}/ok\n")
        env = _env(
            DB_ADDRESS="127.0.0.1",
            DB_PORT=proxy.port,
            DB_NAME=f"{MYSQL_DATABASE}_late",
            SQLITE_PATH=tmp_path / "cache.sqlite3",  # the embedded cache: only the database is late
            STARTUP_TIMEOUT=30,
        )
        compute = asyncio.create_task(run_to_end(*COMPUTE, "--data-path", str(csv), env=env))
        await asyncio.sleep(2.0)  # a few attempts fail meanwhile
        await proxy.set_mode(Mode.PASS)
        code, output = await compute
    assert code == 0, output
    assert "waiting for the database at 127.0.0.1" in output
    assert "attempt 2 failed" in output
    assert "answered at attempt" in output
    assert "cycle done: 1 URLs probed, 1 success" in output


@pytest.mark.usefixtures("require_mysql")
async def test_uvicorn_waits_for_a_database_that_comes_up_late_then_serves(
    tmp_path: Path,
) -> None:
    port = closed_port()
    async with cut_database() as proxy:
        env = _env(
            DB_ADDRESS="127.0.0.1",
            DB_PORT=proxy.port,
            DB_NAME=f"{MYSQL_DATABASE}_late",
            SQLITE_PATH=tmp_path / "cache.sqlite3",
            STARTUP_TIMEOUT=30,
        )
        log = tempfile.TemporaryFile()  # noqa: SIM115  (closed below)
        server = await asyncio.create_subprocess_exec(
            *UVICORN,
            "--port",
            str(port),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await asyncio.sleep(2.0)
            assert server.returncode is None  # still waiting, not crashed
            await proxy.set_mode(Mode.PASS)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                async with asyncio.timeout(20):
                    while True:
                        try:
                            status = await client.get("/status")
                            break
                        except httpx.TransportError:
                            await asyncio.sleep(0.1)
                assert status.status_code == 200, status.text
        finally:
            server.send_signal(signal.SIGTERM)
            await asyncio.wait_for(server.wait(), 10)
            log.seek(0)
            output = log.read().decode()
            log.close()
    assert "waiting for the database at 127.0.0.1" in output, output
    assert "Traceback" not in output


async def test_sigterm_while_waiting_for_the_database_exits_0_at_once() -> None:
    env = _env(DB_ADDRESS="127.0.0.1", DB_PORT=closed_port(), STARTUP_TIMEOUT=60)
    process = await asyncio.create_subprocess_exec(
        *COMPUTE,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 20)
    assert b"waiting for the database" in line
    process.send_signal(signal.SIGTERM)
    output, _ = await asyncio.wait_for(process.communicate(), 5)
    assert process.returncode == 0, output.decode()
    assert "stopped while waiting" in output.decode()
