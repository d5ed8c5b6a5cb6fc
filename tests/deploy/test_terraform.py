"""The Terraform in terraform/, checked offline (no Terraform CLI here): the files are as
`terraform fmt` leaves them, and every task definition (the primary region's and an extra region's,
modules/probe_region) sets exactly the settings the application reads, so code and deployment never
drift apart. checkov's findings and skips: test_checkov.py.

python-hcl2 runs from a venv of its own (tests/deploy/conftest.py): checkov's bc-python-hcl2
provides a module named hcl2 too. The settings come from this venv's Settings class.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from service_monitor.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
TF_FILES = sorted(TERRAFORM.rglob("*.tf"))
PROBE_REGION = TERRAFORM / "modules" / "probe_region"

# The drift rule. Every field of Settings is set in EVERY task definition (API, compute, planner and
# workers share one list, so none runs with a value another does not), as `secrets` for the SECRETS
# and as plain `environment` for the rest, except the fields below; and no other name is set. An
# extra region's workers (modules/probe_region) take that same list with REGION_OVERRIDE changed.
SECRETS = {"DB_PASSWORD", "CACHE_PASSWORD", "API_KEYS", "CHANNEL_KEYS"}
DELIBERATELY_UNSET = {
    # The embedded SQLite store's file: never opened once DB_ADDRESS and CACHE_ADDRESS are set,
    # and the containers' file system is read-only anyway.
    "SQLITE_PATH": "embedded store only",
    # A file inside the container: only an image built with an internal CA's PEM sets it.
    "PROBE_CA_BUNDLE": "a file baked into a custom image",
}
# The one setting an extra region's workers set differently: the region they probe from.
REGION_OVERRIDE = {"REGION"}
# Names set in the task definitions ahead of the application reading them, each with what it is
# for: the test fails once one becomes a Settings field, so that it is moved out of here.
NOT_YET_IN_SETTINGS: dict[str, str] = {}
# A value written out in terraform/settings.tf is the application's default, so a default changed in
# the code is changed on AWS too (or made a variable), except for these.
NOT_THE_DEFAULT = {
    "CACHE_TLS": "ElastiCache encrypts in transit: the client must use TLS",
}

# python-hcl2 as a JSON filter: the parsed form of every file named on the command line.
_PARSE = """
import json, sys
import hcl2
documents = {}
for path in sys.argv[1:]:
    with open(path) as handle:
        documents[path] = hcl2.load(handle)
print(json.dumps(documents))
"""


def _unquote(text: str) -> str:
    """python-hcl2 8 keeps the quotes of string literals and block labels."""
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _parse(hcl2_bin: Path, paths: list[Path]) -> dict[str, Any]:
    result = subprocess.run(
        [str(hcl2_bin / "python"), "-c", _PARSE, *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    documents: dict[str, Any] = json.loads(result.stdout)
    return {Path(path).name: document for path, document in documents.items()}


@pytest.fixture(scope="session")
def parsed(hcl2_bin: Path) -> dict[str, Any]:
    """terraform/*.tf (the main configuration, not bootstrap/) and the example tfvars, parsed."""
    return _parse(
        hcl2_bin, [*sorted(TERRAFORM.glob("*.tf")), TERRAFORM / "terraform.tfvars.example"]
    )


@pytest.fixture(scope="session")
def parsed_probe_region(hcl2_bin: Path) -> dict[str, Any]:
    """terraform/modules/probe_region/*.tf, parsed: an extra region's workers."""
    return _parse(hcl2_bin, sorted(PROBE_REGION.glob("*.tf")))


def _blocks(parsed: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        block
        for name, document in parsed.items()
        if name.endswith(".tf")
        for block in document.get(kind, [])
    ]


def _locals(parsed: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in _blocks(parsed, "locals"):
        for key, value in block.items():
            if not key.startswith("__"):
                assert key not in merged, f"local.{key} is defined twice"
                merged[key] = value
    return merged


def _task_definitions(parsed: dict[str, Any]) -> dict[str, str]:
    """Each aws_ecs_task_definition's container_definitions expression, by resource name."""
    found: dict[str, str] = {}
    for block in _blocks(parsed, "resource"):
        for name, body in block.get('"aws_ecs_task_definition"', {}).items():
            found[_unquote(name)] = body["container_definitions"]
    return found


def _names(
    expression: Any,
    local_values: dict[str, Any],
    where: str,
    inputs: dict[str, set[str]] | None = None,
) -> set[str]:
    """The setting names an `environment` or `secrets` expression gives a container.

    Understood: a map (name = value), `local.X`, a list of {name = ...} objects, and
    `[for NAME, VALUE in local.X : {name = NAME, ...}]` with or without an `if` (the names are X's
    keys: a setting left out for an empty value reads as unset, its default). In a module, whose
    `inputs` are the names each map variable is given by the caller, also `var.X` and
    `merge(var.X, {NAME = ...})` (X's names and those set over them).
    """
    if isinstance(expression, dict):
        return {key for key in expression if not key.startswith("__")}
    if isinstance(expression, list):
        return {_unquote(item["name"]) for item in expression}
    reference = re.fullmatch(r"\$\{(local|var)\.(\w+)\}", expression)
    if reference and reference[1] == "local":
        return _names(local_values[reference[2]], local_values, f"local.{reference[2]}", inputs)
    if reference and inputs is not None:
        return inputs[reference[2]]
    loop = re.fullmatch(
        r"\$\{\[for (\w+), \w+ in (local|var)\.(\w+) : \{name = \1, .*\}(?: if .*)?\]\}",
        expression,
    )
    if loop:
        return _names(f"${{{loop[2]}.{loop[3]}}}", local_values, where, inputs)
    merged = re.fullmatch(r"\$\{merge\(var\.(\w+), \{(.*)\}\)\}", expression)
    if merged and inputs is not None:
        return inputs[merged[1]] | set(re.findall(r"(?:^|, )(\w+) = ", merged[2]))
    raise AssertionError(
        f"{where}: cannot read setting names from {expression!r}; write a map of name = value,"
        " or [for name, value in local.MAP : {name = name, ...}]"
    )


def _container_settings(
    parsed: dict[str, Any], inputs: dict[str, set[str]] | None = None
) -> dict[str, tuple[set[str], set[str]]]:
    """(environment names, secrets names) of each task definition's container."""
    local_values = _locals(parsed)
    settings = {}
    for task, containers in _task_definitions(parsed).items():
        lists = {}
        for key in ("environment", "secrets"):
            references = re.findall(rf"\b{key} = (\S+?)[,}}]", containers)
            assert len(references) == 1, f"{task}: one container with one {key}, got {references}"
            assert references[0].startswith("local."), (
                f"{task}: {key} must name a local shared by every task definition"
            )
            lists[key] = _names(f"${{{references[0]}}}", local_values, f"{task}.{key}", inputs)
        settings[task] = (lists["environment"], lists["secrets"])
    return settings


def _expected_settings() -> set[str]:
    fields = set(Settings.model_fields)
    return (fields - set(DELIBERATELY_UNSET)) | set(NOT_YET_IN_SETTINGS)


def _assert_exactly_the_settings(task: str, environment: set[str], secrets: set[str]) -> None:
    expected = _expected_settings()
    assert secrets == SECRETS, f"{task}: secrets"
    assert not environment & SECRETS, f"{task}: a secret in plain environment"
    assert environment | secrets == expected, (
        f"{task}: missing {sorted(expected - environment - secrets)},"
        f" not settings {sorted((environment | secrets) - expected)}"
    )


def _probe_region_modules(parsed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The module blocks that instantiate modules/probe_region, by name."""
    return {
        _unquote(name): body
        for block in _blocks(parsed, "module")
        for name, body in block.items()
        if _unquote(body["source"]) == "./modules/probe_region"
    }


def test_the_rule_names_only_fields_and_its_reasons() -> None:
    fields = set(Settings.model_fields)
    assert fields >= SECRETS
    typed_secret = {
        name
        for name, field in Settings.model_fields.items()
        if "SecretStr" in repr(field.annotation)
    }
    assert typed_secret <= SECRETS, "a SecretStr field must come from Secrets Manager"
    assert fields >= set(DELIBERATELY_UNSET)
    for name in NOT_YET_IN_SETTINGS:
        assert name not in fields, (
            f"{name} is a Settings field now: move it out of NOT_YET_IN_SETTINGS"
        )
    assert all(DELIBERATELY_UNSET.values())
    assert all(NOT_YET_IN_SETTINGS.values())


def test_every_task_definition_sets_exactly_the_settings_the_application_reads(
    parsed: dict[str, Any],
) -> None:
    settings = _container_settings(parsed)
    assert set(settings) == {"api", "compute", "planner", "worker"}
    for task, (environment, secrets) in settings.items():
        _assert_exactly_the_settings(task, environment, secrets)


def test_an_extra_regions_workers_set_the_same_settings_but_their_region(
    parsed: dict[str, Any], parsed_probe_region: dict[str, Any]
) -> None:
    modules = _probe_region_modules(parsed)
    assert modules, "regions.tf instantiates modules/probe_region at least once (the example)"
    for name, body in modules.items():
        # Every instance is given the primary's own maps, never a copy that could drift.
        assert body["app_environment"] == "${local.app_environment}", name
        assert body["app_secrets"] == "${local.app_secrets}", name
    primary = _locals(parsed)
    inputs = {
        "app_environment": _names("${local.app_environment}", primary, "local.app_environment"),
        "app_secrets": _names("${local.app_secrets}", primary, "local.app_secrets"),
    }
    module_locals = _locals(parsed_probe_region)
    # Only REGION differs, and it is the region the module's provider is in.
    merged = re.fullmatch(
        r"\$\{merge\(var\.app_environment, \{(.*)\}\)\}", module_locals["app_environment"]
    )
    assert merged, module_locals["app_environment"]
    assert merged[1] == "REGION = local.region"
    assert module_locals["region"] == "${data.aws_region.current.region}"
    settings = _container_settings(parsed_probe_region, inputs)
    assert set(settings) == {"worker"}
    for task, (environment, secrets) in settings.items():
        assert environment >= REGION_OVERRIDE
        _assert_exactly_the_settings(f"probe_region.{task}", environment, secrets)


def test_each_extra_region_has_its_provider_and_is_off_unless_named(
    parsed: dict[str, Any],
) -> None:
    providers = {
        _unquote(body["alias"]): _unquote(body["region"])
        for block in _blocks(parsed, "provider")
        for name, body in block.items()
        if _unquote(name) == "aws" and "alias" in body
    }
    listed = [_unquote(region) for region in _locals(parsed)["regions_with_a_module"]]
    modules = _probe_region_modules(parsed)
    regions = []
    for name, body in modules.items():
        [(alias_reference,)] = [tuple(body["providers"].values())]
        alias = re.fullmatch(r"\$\{aws\.(\w+)\}", alias_reference)
        assert alias, f"{name}: providers = {{ aws = aws.ALIAS }}"
        region = providers[alias[1]]
        assert name == "probe_region_" + region.replace("-", "_"), name
        # No instance unless var.extra_regions names the region: the default plan adds nothing.
        assert body["count"] == f'${{contains(keys(var.extra_regions), "{region}") ? 1 : 0}}'
        for key, value in body.items():
            if "extra_regions[" in str(value):
                assert f'var.extra_regions["{region}"]' in value, f"{name}.{key}: {value}"
        regions.append(region)
    assert sorted(listed) == sorted(regions)


def test_fleet_mode_replaces_the_cycle_rule_with_the_planner_and_the_workers(
    parsed: dict[str, Any],
) -> None:
    resources: dict[str, dict[str, Any]] = {}
    for block in _blocks(parsed, "resource"):
        for kind, named in block.items():
            for name, body in named.items():
                resources[f"{_unquote(kind)}.{_unquote(name)}"] = body
    cycle_only = ["aws_cloudwatch_event_rule.compute", "aws_cloudwatch_event_target.compute"]
    for address in cycle_only:
        assert resources[address]["count"] == "${local.fleet ? 0 : 1}", address
    fleet_only = [address for address in resources if re.search(r"\.(worker|planner)", address)]
    assert {
        "aws_ecs_service.worker",
        "aws_ecs_task_definition.worker",
        "aws_ecs_task_definition.planner",
        "aws_cloudwatch_event_rule.planner",
        "aws_appautoscaling_target.worker",
        "aws_appautoscaling_policy.worker_lag",
    } <= set(fleet_only)
    for address in fleet_only:
        assert resources[address]["count"] == "${local.fleet ? 1 : 0}", address
    assert _locals(parsed)["fleet"] == '${var.scheduler_mode == "fleet"}'
    planner = resources["aws_cloudwatch_event_rule.planner"]
    assert _unquote(planner["schedule_expression"]) == "rate(1 minute)"
    # The workers are scaled between worker_count and worker_max_count on their region's lag.
    target = resources["aws_appautoscaling_target.worker"]
    assert (target["min_capacity"], target["max_capacity"]) == (
        "${var.worker_count}",
        "${var.worker_max_count}",
    )
    policy = json.dumps(resources["aws_appautoscaling_policy.worker_lag"])
    assert "ShardStreamLag" in policy
    assert "${var.aws_region}" in policy
    alarm = resources["aws_cloudwatch_metric_alarm.dead_letters"]
    assert _unquote(alarm["metric_name"]) == "ShardDeadLetters"
    assert (alarm["comparison_operator"], alarm["threshold"]) == ('"GreaterThanThreshold"', 0)
    # Existing deployments keep their rule: the address moved to index 0.
    moved = {(block["from"], block["to"]) for block in _blocks(parsed, "moved")}
    assert moved == {(f"${{{address}}}", f"${{{address}[0]}}") for address in cycle_only}


def test_the_fleets_commands_are_the_images_console_script_and_the_cli_takes_them(
    parsed: dict[str, Any], parsed_probe_region: dict[str, Any]
) -> None:
    from service_monitor.cli import build_parser

    commands = {
        "worker": _locals(parsed)["worker_command"],
        "planner": _locals(parsed)["planner_command"],
    }
    assert commands["worker"] == ['"service-monitor"', '"worker"']
    # The module's workers run the same command (a module cannot read the caller's locals).
    module_worker = _task_definitions(parsed_probe_region)["worker"]
    assert 'command = ["service-monitor", "worker"]' in module_worker
    # pip installs the package (its [project.scripts]) into the image's /venv, whose bin is on PATH.
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'service-monitor = "service_monitor.cli:main"' in pyproject
    dockerfile = (ROOT / "Dockerfile.compute").read_text()
    assert "/venv/bin/pip install --no-cache-dir --no-deps ." in dockerfile
    assert "PATH=/venv/bin:$PATH" in dockerfile
    parser = build_parser()
    subcommands = next(
        action.choices for action in parser._actions if isinstance(action.choices, dict)
    )
    if not {"worker", "plan"} <= set(subcommands):
        pytest.skip("service-monitor worker and plan are not in this branch's CLI yet (issue 17)")
    for command in commands.values():
        parser.parse_args([_unquote(word) for word in command][1:])


def test_values_written_out_are_the_application_defaults(parsed: dict[str, Any]) -> None:
    environment = _locals(parsed)["app_environment"]
    written = {
        name: _unquote(value)
        for name, value in environment.items()
        if not name.startswith("__") and not value.startswith("${")
    }
    assert set(NOT_THE_DEFAULT) <= set(written)
    for name, value in written.items():
        field = Settings.model_fields[name]
        default = field.get_default(call_default_factory=True)
        read = getattr(load_settings(**{name: value}), name)
        if name in NOT_THE_DEFAULT:
            assert read != default, f"{name} is the default now: drop it from NOT_THE_DEFAULT"
        else:
            assert read == default, f"{name}={value!r} in settings.tf, {default!r} in the code"


def test_secrets_come_from_secrets_manager(parsed: dict[str, Any]) -> None:
    secrets = _locals(parsed)["app_secrets"]
    for name in SECRETS:
        assert re.fullmatch(r"\$\{aws_secretsmanager_secret\.\w+\.arn\}", secrets[name]), name


def test_every_variable_is_described_and_has_a_default_but_the_image_tag(
    parsed: dict[str, Any],
) -> None:
    variables = {
        _unquote(name): body
        for block in _blocks(parsed, "variable")
        for name, body in block.items()
    }
    assert len(variables) > 30
    for name, body in variables.items():
        assert len(_unquote(body.get("description", ""))) > 20, f"{name}: description"
        assert ("default" in body) == (name != "image_tag"), f"{name}: default"


def test_every_variable_of_the_probe_region_module_is_described(
    parsed_probe_region: dict[str, Any],
) -> None:
    variables = {
        _unquote(name): body
        for block in _blocks(parsed_probe_region, "variable")
        for name, body in block.items()
    }
    assert len(variables) > 10
    for name, body in variables.items():
        assert len(_unquote(body.get("description", ""))) > 20, f"probe_region {name}: description"


def test_the_tfvars_example_shows_every_variable(parsed: dict[str, Any]) -> None:
    variables = {_unquote(name) for block in _blocks(parsed, "variable") for name in block}
    example = parsed["terraform.tfvars.example"]
    shown = {name for name in example if not name.startswith("__")}
    commented = set(
        re.findall(
            r"^# (\w+) +=", (TERRAFORM / "terraform.tfvars.example").read_text(), re.MULTILINE
        )
    )
    assert commented == {"image_tag", "aws_region"}  # the deploy workflow passes these two
    assert shown | commented == variables


def test_terraform_files_are_as_terraform_fmt_leaves_them(node: str, node_tools: Path) -> None:
    # hclwrite.Format, which `terraform fmt` applies; fmt also unwraps interpolation-only strings.
    script = """
const {format} = require(process.argv[1]);
const fs = require("fs");
(async () => {
  const out = {};
  for (const path of process.argv.slice(2)) out[path] = await format(fs.readFileSync(path, "utf8"));
  process.stdout.write(JSON.stringify(out));
})();
"""
    formatted = subprocess.run(
        [node, "-e", script, str(node_tools / "@cdktf" / "hcl-tools"), *map(str, TF_FILES)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    for path, text in json.loads(formatted.stdout).items():
        assert Path(path).read_text() == text, f"{path} is not formatted"
    for path in TF_FILES:
        only_interpolation = re.findall(r'= "\$\{[^}"]*\}"$', path.read_text(), re.MULTILINE)
        assert not only_interpolation, f"{path.name}: write {only_interpolation} without quotes"


def test_metrics_are_refused_through_the_load_balancer_but_to_the_allowed_ranges(
    parsed: dict[str, Any],
) -> None:
    rules = {
        _unquote(name): body
        for block in _blocks(parsed, "resource")
        for name, body in block.get('"aws_lb_listener_rule"', {}).items()
    }
    allowed, denied = rules["metrics_allowed"], rules["metrics_denied"]
    # The allowing rule is looked at first, and only exists when ranges are given.
    assert allowed["priority"] < denied["priority"]
    assert "length(var.metrics_allowed_cidrs) > 0" in allowed["count"]
    assert "var.metrics_allowed_cidrs" in json.dumps(allowed["condition"])
    denial = json.dumps(denied["action"])
    assert "fixed-response" in denial
    assert "403" in denial
    assert "/metrics" in json.dumps(denied["condition"])
    assert "count" not in denied  # always there
