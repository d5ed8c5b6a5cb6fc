"""checkov over what is deployed, offline: the Terraform, both Dockerfiles and the GitHub Actions
workflows, one framework each. It finds nothing, and every check it is told to skip is skipped
inline, with the reason, and reported as skipped: a skip that checkov no longer applies (its
resource gone, or the check not looking there) fails the test.

checkov runs from a venv of its own (tests/deploy/conftest.py): its bc-python-hcl2 provides a module
named hcl2 too.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = [ROOT / "Dockerfile.api", ROOT / "Dockerfile.compute"]

# A cold install of checkov takes about half a minute; the suite's default of 120 s per test counts
# the fixtures too.
pytestmark = pytest.mark.timeout(600)


@dataclass(frozen=True)
class Scan:
    framework: str
    targets: list[str]  # checkov's arguments naming what it reads, from ROOT
    files: list[Path]  # where skips are written
    # checkov applies a skip in a Dockerfile or a workflow to the whole file, wherever it stands
    # (checkov's docs, "Suppressing and Skipping Policies"; github_actions: its object runner reads
    # the file's every line), so one skip may be reported once for each block the check looks at.
    # In Terraform a skip stands inside the resource it is for.
    skips_hold_for_the_file: bool
    fewest_passed: int  # it did read them


SCANS = [
    Scan("terraform", ["-d", "terraform"], sorted((ROOT / "terraform").rglob("*.tf")), False, 250),
    Scan(
        "dockerfile",
        [argument for path in DOCKERFILES for argument in ("-f", path.name)],
        DOCKERFILES,
        True,
        150,
    ),
    Scan(
        "github_actions",
        ["-d", ".github/workflows"],
        sorted((ROOT / ".github" / "workflows").glob("*.yml")),
        True,
        60,
    ),
]
# What checkov takes for a skip, anywhere in a line; the only form allowed is WRITTEN_SKIP.
ANY_SKIP = re.compile(r"(?:checkov|bridgecrew|cortex):skip=")
WRITTEN_SKIP = re.compile(r"#checkov:skip=(\w+):(.*)")


@pytest.fixture(scope="session", params=SCANS, ids=[scan.framework for scan in SCANS])
def scan(request: pytest.FixtureRequest) -> Scan:
    chosen: Scan = request.param
    return chosen


@pytest.fixture(scope="session")
def checkov_report(checkov_bin: Path, scan: Scan) -> dict[str, Any]:
    # As README "Deploy" says; --skip-download: no Bridgecrew platform, no network.
    arguments = [*scan.targets, "--framework", scan.framework, "--skip-download", "-o", "json"]
    scanned = subprocess.run(
        [str(checkov_bin / "checkov"), *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert scanned.returncode in (0, 1), scanned.stderr[-2000:]  # 1: a check failed
    report: dict[str, Any] = json.loads(scanned.stdout)
    assert report["check_type"] == scan.framework
    return report


def test_checkov_finds_nothing(scan: Scan, checkov_report: dict[str, Any]) -> None:
    summary = checkov_report["summary"]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for check in checkov_report["results"]["failed_checks"]
    ]
    assert (summary["failed"], failed, summary["parsing_errors"]) == (0, [], 0)
    assert summary["passed"] > scan.fewest_passed  # it did read the files


def test_every_checkov_skip_is_explained_and_used(
    scan: Scan, checkov_report: dict[str, Any]
) -> None:
    written: Counter[tuple[str, str]] = Counter()
    for path in scan.files:
        where = "/" + str(path.relative_to(ROOT))  # as checkov's repo_file_path
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not ANY_SKIP.search(line):
                continue
            skip = WRITTEN_SKIP.search(line)
            assert skip, f"{where}:{number}: write a skip as #checkov:skip=ID:reason, one ID each"
            check, reason = skip.groups()
            assert len(reason.split()) >= 6, f"{where}:{number}: {check} needs its reason"
            written[(where, check)] += 1
    skipped = [
        (check["repo_file_path"], check["check_id"])
        for check in checkov_report["results"]["skipped_checks"]
    ]
    used = Counter(set(skipped) if scan.skips_hold_for_the_file else skipped)
    # A skip that checkov no longer applies is removed, so every one left is still a decision.
    assert written == used, (
        f"skips not applied: {sorted((written - used).elements())},"
        f" skipped but not written as above: {sorted((used - written).elements())}"
    )
