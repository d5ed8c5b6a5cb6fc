"""The suite's own promise: a test needing MariaDB skips with the reason when it is unreachable,
and fails instead under REQUIRE_SERVICES=1, so CI can never pass by skipping the real backends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.targets import closed_port

ROOT = Path(__file__).resolve().parents[1]
ONE_TEST = "tests/storage/test_storage_contract.py::test_ping_answers"


def _run(**env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "TEST_DB_PORT": str(closed_port()), **env}
    return subprocess.run(
        [sys.executable, "-m", "pytest", ONE_TEST, "-q", "-rs", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_unreachable_database_skips_with_the_reason() -> None:
    result = _run(REQUIRE_SERVICES="0")
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped" in result.stdout  # sqlite ran, mysql skipped
    assert "MariaDB/MySQL at 127.0.0.1" in result.stdout


def test_unreachable_database_fails_under_require_services() -> None:
    result = _run(REQUIRE_SERVICES="1")
    assert result.returncode == 1, result.stdout
    assert "REQUIRE_SERVICES=1 but MariaDB/MySQL at 127.0.0.1" in result.stdout
