"""Real server processes for tests: the environment of a deployment (embedded, or MariaDB and
Redis) and a context manager that runs a command until its /status answers."""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from service_monitor.config import Settings
from tests.conftest import (
    MYSQL_DATABASE,
    MYSQL_HOST,
    MYSQL_PORT,
    REDIS_HOST,
    REDIS_PORT,
    TEST_CHANNEL_KEY,
    redis_cleanup,
    run_aside,
    service_missing,
)

ROOT = Path(__file__).resolve().parents[1]
SETTING_NAMES = set(Settings.model_fields)  # scrubbed from the environment the tests pass on


def server_env(**settings: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env.update({k: str(v) for k, v in settings.items()})
    env.setdefault("ALLOW_PRIVATE_TARGETS", "true")  # the targets listen on 127.0.0.1
    env["PYTHONUNBUFFERED"] = "1"
    return env


@asynccontextmanager
async def running(*command: str, env: dict[str, str], port: int) -> AsyncIterator[str]:
    """Start a server process from the repository root; yield its base URL once /status answers.

    Its output goes to a file, not a pipe: a pipe nobody reads fills up and blocks the server.
    """
    log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in the finally below)
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):  # up to 20 s to start
                if process.returncode is not None:
                    break
                try:
                    if (await client.get(f"{base}/status")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                pytest.fail(f"{command} did not answer on {base}")
        if process.returncode is not None:
            log.seek(0)
            pytest.fail(f"{command} exited {process.returncode}: {log.read().decode()}")
        yield base
    except BaseException:
        log.seek(0)
        print(log.read().decode()[-5000:])  # shown by pytest when the test fails
        raise
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()


async def run_to_end(*command: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, output.decode()


def deployment_env(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, tag: str
) -> Iterator[dict[str, str]]:
    """The environment of server processes on `backend`: one SQLite file under `tmp_path`, or
    MariaDB (a database named with `tag`, dropped with the session's) and Redis (a key prefix of
    its own, cleaned up after). Skips, or fails under REQUIRE_SERVICES=1, when they are down."""
    if backend == "embedded":
        yield server_env(SQLITE_PATH=tmp_path / "monitor.sqlite3", TIMEOUT=2)
        return
    for needed in ("mysql_available", "redis_available"):
        problem = request.getfixturevalue(needed)
        if problem:
            service_missing(problem)
    prefix = f"sm-test:{uuid.uuid4().hex}:"
    yield server_env(
        DB_ADDRESS=MYSQL_HOST,
        DB_PORT=MYSQL_PORT,
        DB_NAME=f"{MYSQL_DATABASE}_{tag}_{uuid.uuid4().hex[:8]}",
        CACHE_ADDRESS=REDIS_HOST,
        CACHE_PORT=REDIS_PORT,
        CACHE_KEY_PREFIX=prefix,
        CHANNEL_KEYS=TEST_CHANNEL_KEY,
        TIMEOUT=2,
    )
    run_aside(redis_cleanup(prefix))
