"""`service-monitor apply FILE.yaml`: monitors as code, synced through the API. In-process against
the ASGI app on each deployment (apply_file with an ApiClient on the app), and as a user runs it,
a separate process against a real API process."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service_monitor.api.app import create_app
from service_monitor.check_spec import REDACTED
from service_monitor.cli import main
from service_monitor.client import ApiClient
from service_monitor.monitor_files import FileProblem, MonitorsFile, read_monitors_yaml
from service_monitor.remote.apply import Outcome, apply_file, check_entry
from service_monitor.services import Services
from tests.api_process import api_process
from tests.targets import closed_port
from tests.test_remote_cli import cli_process

TOKEN = "Bearer tok-5c4b3a2918"

FILE = """\
owner: team-a
monitors:
  - name: home
    url: https://www.example.com/
  - name: api
    url: https://api.example.com/health
    request:
      headers:
        Authorization: ${API_TOKEN}
        X-Tenant: ${TENANT}
      timeout_s: 1
    assertions:
      - type: status
        codes: ["2xx"]
      - type: json
        path: $.status
        op: equals
        value: ok
    degraded_after_ms: 800
  - name: api (HEAD)
    url: https://api.example.com/health
    request:
      method: HEAD
"""


@pytest.fixture
async def api(services: Services) -> AsyncIterator[ApiClient]:
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with ApiClient("http://test", transport=transport) as client:
        yield client


def write(tmp_path: Path, text: str, name: str = "monitors.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def read(path: Path, **environ: str) -> MonitorsFile:
    source = read_monitors_yaml(path, {"API_TOKEN": TOKEN, "TENANT": "t1", **environ})
    for monitor in source.monitors:
        check_entry(monitor)
        assert not monitor.problems, monitor.problems
    return source


async def sync(
    api: ApiClient, path: Path, *, dry_run: bool = False, prune: bool = False, **environ: str
) -> Outcome:
    return await apply_file(api, read(path, **environ), dry_run=dry_run, prune=prune)


async def test_applying_a_file_twice_creates_its_monitors_then_changes_nothing(
    api: ApiClient, services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, FILE)
    first = await sync(api, path)
    assert (first.created, first.updated, first.failed, first.errors) == (3, 0, 0, [])
    out = capsys.readouterr().out
    assert "created api (monitor " in out

    # Entries are sent concurrently: ids follow no order, names do.
    by_name = {m.name: m for m in (await api.list_urls(owner="team-a")).items}
    assert sorted(by_name) == ["api", "api (HEAD)", "home"]
    shown = by_name["api"].check.request.headers
    # Read from the environment: secret, so shown redacted, and the compute gets the value.
    assert shown == {"Authorization": REDACTED, "X-Tenant": REDACTED}
    stored = await services.monitors.get_monitor(by_name["api"].id)
    assert stored.check.request.headers == {"Authorization": TOKEN, "X-Tenant": "t1"}
    assert stored.check.request.secret_headers == ["X-Tenant"]

    again = await sync(api, path)
    assert (again.created, again.updated, again.unchanged, again.deleted) == (0, 0, 3, 0)
    assert capsys.readouterr().out == ""
    dry = await sync(api, path, dry_run=True, prune=True)
    assert (dry.created, dry.updated, dry.unchanged, dry.deleted) == (0, 0, 3, 0)


async def test_a_secret_changed_in_the_environment_is_an_update(
    api: ApiClient, services: Services, tmp_path: Path
) -> None:
    path = write(tmp_path, FILE)
    await sync(api, path)
    dry = await sync(api, path, dry_run=True, API_TOKEN="Bearer rotated")
    assert (dry.updated, dry.unchanged) == (1, 2)
    rotated = await sync(api, path, API_TOKEN="Bearer rotated")
    assert rotated.updated == 1
    # Entries are sent concurrently: ids follow no order, names do.
    [api_monitor] = [m for m in (await api.list_urls(owner="team-a")).items if m.name == "api"]
    stored = await services.monitors.get_monitor(api_monitor.id)
    assert stored.check.request.headers["Authorization"] == "Bearer rotated"


async def test_a_changed_file_updates_what_differs_and_prune_deletes_only_its_own(
    api: ApiClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await sync(api, write(tmp_path, FILE))
    mine = {m.name: m for m in (await api.list_urls(owner="team-a")).items}
    theirs = await api.add_url("theirs", "https://theirs.example/", owner="team-b")
    unowned = await api.add_url("by hand", "https://by-hand.example/")
    capsys.readouterr()

    changed = write(
        tmp_path,
        """\
        owner: team-a
        monitors:
          - name: home
            url: https://www.example.com/
            assertions:
              - type: body
                op: contains
                value: Welcome
          - name: api (HEAD)
            url: https://api.example.com/health
            request:
              method: HEAD
        """,
    )
    dry = await sync(api, changed, dry_run=True, prune=True)
    assert (dry.updated, dry.deleted, dry.unchanged) == (1, 1, 1)
    out = capsys.readouterr().out
    assert f"would update home (monitor {mine['home'].id}): assertions" in out
    assert f"would delete api (monitor {mine['api'].id})" in out
    assert len((await api.list_urls(owner="team-a")).items) == 3  # a dry run changes nothing

    kept = await sync(api, changed)
    assert (kept.updated, kept.deleted) == (1, 0)
    assert f"not in the file: api (monitor {mine['api'].id}); --prune deletes it" in (
        capsys.readouterr().out
    )
    pruned = await sync(api, changed, prune=True)
    assert (pruned.updated, pruned.deleted, pruned.unchanged) == (0, 1, 2)
    left = {m.id for m in (await api.list_urls()).items}
    assert left == {mine["home"].id, mine["api (HEAD)"].id, theirs.id, unowned.id}


async def test_a_renamed_monitor_and_an_unowned_one_with_the_same_check_are_taken_over(
    api: ApiClient, tmp_path: Path
) -> None:
    await sync(api, write(tmp_path, FILE))
    before = {m.name: m.id for m in (await api.list_urls(owner="team-a")).items}
    unowned = await api.add_url("by hand", "https://status.example/")
    renamed = write(
        tmp_path,
        FILE.replace("- name: home", "- name: homepage")
        + "  - name: status\n    url: https://status.example/\n",
    )
    outcome = await sync(api, renamed, prune=True)
    assert (outcome.adopted, outcome.created, outcome.deleted, outcome.failed) == (2, 0, 0, 0)
    after = {m.name: m.id for m in (await api.list_urls(owner="team-a")).items}
    assert after == {
        "homepage": before["home"],
        "api": before["api"],
        "api (HEAD)": before["api (HEAD)"],
        "status": unowned.id,
    }
    assert (await sync(api, renamed, prune=True)).unchanged == 4


async def test_the_apis_refusals_are_reported_by_file_line_with_its_reason(
    api: ApiClient, tmp_path: Path
) -> None:
    await api.add_url("theirs", "https://taken.example/", owner="team-b")
    path = write(
        tmp_path,
        """\
        owner: team-a
        monitors:
          - name: slow
            url: https://slow.example/
            request:
              timeout_s: 60
          - name: taken
            url: https://taken.example/
          - name: fine
            url: https://fine.example/
          - name: fine again
            url: https://FINE.example/
        """,
    )
    outcome = await sync(api, path)
    [fine] = (await api.list_urls(owner="team-a")).items
    assert fine.name == "fine"  # the first entry made it; the second may not take it over
    assert outcome.errors == [
        f"{path}:6: request.timeout_s: 60 s is over TIMEOUT, the most a check may take here (10 s)",
        f"{path}:7: the API answered 409: url 'https://taken.example/' is already monitored as"
        " monitor 1",
        f"{path}:11: the API answered 409: url 'https://FINE.example/' is already monitored as"
        f" monitor {fine.id}",
    ]
    assert (outcome.created, outcome.failed) == (1, 3)


def problems(path: Path, **environ: str) -> list[str]:
    source = read_monitors_yaml(path, environ)
    for monitor in source.monitors:
        check_entry(monitor)
    found = sorted(p for m in source.monitors for p in m.problems)
    return [f"{line}: {reason}" for line, reason in found]


def test_each_bad_entry_is_named_by_the_line_of_its_bad_value(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        owner: team-a
        monitors:
          - name: a
            url: https://a.example/
            request:
              method: BREW
          - name: b
            url: not a url
            assertions:
              - type: status
                codes: [200]
              - type: body
                op: matches
                value: "(unclosed"
          - name: a
            url: https://c.example/
            colour: red
          - url: https://d.example/
            request:
              headers:
                Authorization: Bearer ${MISSING_TOKEN}
          - name: e
            url: https://e.example/
            request:
              method: HEAD
            assertions:
              - type: json
                path: $.ok
                op: exists
        """,
    )
    assert problems(path) == [
        "6: request.method: Input should be 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE' or"
        " 'OPTIONS'",
        "8: url: must not contain spaces or control characters",
        "12: assertions.1.body: regex '(unclosed' does not compile: missing ) at position 9",
        "15: name: 'a' is given twice (first on line 3); apply tells monitors apart by name",
        "17: colour: unknown field; a monitor has: name, url, request, assertions,"
        " degraded_after_ms, failure_threshold, success_threshold, channels, interval, regions",
        "18: name: required",
        "21: request.headers.Authorization: environment variable MISSING_TOKEN is not set",
        "26: assertions: a HEAD answer has no body: body and json assertions need another method",
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("owner: a\nmonitors:\n  - name: [unclosed\n", "4: not valid YAML: "),
        ("monitors: []\n", "1: owner: required"),
        ("owner: a\nowner: b\n", "2: 'owner' is given twice (first on line 1)"),
        ("owner: a\nmonitors: {}\n", "2: monitors: expected a list of monitors"),
        ("owner: a\nextra: 1\n", "2: unknown key 'extra'"),
        ("- a\n- b\n", "1: expected a mapping with 'owner' and 'monitors', got list"),
        ('owner: "a\\tb"\n', "1: owner: must be 1 to 100 printable characters"),
    ],
)
def test_a_file_that_is_not_a_monitors_file_is_one_line_naming_where(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(FileProblem) as refused:
        read_monitors_yaml(path, {})
    assert str(refused.value).startswith(f"{path}:{reason}"), str(refused.value)


def test_dollar_dollar_is_a_literal_dollar_and_marks_nothing_secret(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "owner: a\nmonitors:\n  - name: a\n    url: https://a.example/\n    request:\n"
        "      headers:\n        X-Price: $$5 ${CUR}\n        X-Plain: $$9\n",
    )
    entry = read_monitors_yaml(path, {"CUR": "EUR"}).monitors[0]
    assert entry.fields["request"]["headers"] == {"X-Price": "$5 EUR", "X-Plain": "$9"}
    assert entry.fields["request"]["secret_headers"] == ["X-Price"]


async def test_apply_as_a_command_against_an_api_process(
    deployment: dict[str, str], tmp_path: Path
) -> None:
    path = write(tmp_path, FILE)
    env = {"API_TOKEN": TOKEN, "TENANT": "t1"}
    async with api_process(deployment) as base:
        first = await cli_process("apply", str(path), SERVICE_MONITOR_API_URL=base, **env)
        assert first.code == 0, first.err
        assert first.out.splitlines()[-1] == (
            "created 3, updated 0, taken over 0, deleted 0, unchanged 0, failed 0"
        )
        again = await cli_process("apply", str(path), SERVICE_MONITOR_API_URL=base, **env)
        assert (again.code, again.out, again.err) == (
            0,
            "created 0, updated 0, taken over 0, deleted 0, unchanged 3, failed 0\n",
            "",
        )
        smaller = write(tmp_path, FILE.split("  - name: api\n")[0], "smaller.yaml")
        dry = await cli_process(
            "apply", str(smaller), "--dry-run", "--prune", SERVICE_MONITOR_API_URL=base, **env
        )
        assert dry.code == 0, dry.err
        assert dry.out.splitlines()[-1] == (
            "dry run: would create 0, update 0, take over 0, delete 2; unchanged 1; failed 0"
        )
        pruned = await cli_process(
            "apply", str(smaller), "--prune", SERVICE_MONITOR_API_URL=base, **env
        )
        assert pruned.out.splitlines()[-1].endswith("deleted 2, unchanged 1, failed 0")
        for ran in (first, again, dry, pruned):
            assert "tok-5c4b3a2918" not in ran.out + ran.err

        # Within the API's rules but not this deployment's (TIMEOUT=2 here): the API's reason.
        bad = write(tmp_path, FILE.replace("timeout_s: 1", "timeout_s: 9"), "bad.yaml")
        refused = await cli_process("apply", str(bad), SERVICE_MONITOR_API_URL=base, **env)
        assert refused.code == 1
        assert refused.err == (
            f"{bad}:11: request.timeout_s: 9 s is over TIMEOUT, the most a check may take here"
            " (2 s)\n"
        )
        assert refused.out.splitlines()[-1].endswith("unchanged 1, failed 1")


async def test_apply_reports_file_problems_before_reaching_the_api(tmp_path: Path) -> None:
    unreachable = ("--api-url", f"http://127.0.0.1:{closed_port()}")
    missing = await asyncio.to_thread(main, ["apply", str(tmp_path / "none.yaml"), *unreachable])
    assert missing == 2
    broken = write(tmp_path, "owner: a\nmonitors:\n  - name: [\n")
    assert await asyncio.to_thread(main, ["apply", str(broken), *unreachable]) == 2
    bad = write(tmp_path, "owner: a\nmonitors:\n  - name: a\n", "bad.yaml")
    assert await asyncio.to_thread(main, ["apply", str(bad), *unreachable]) == 1
