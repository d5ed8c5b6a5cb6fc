"""`service-monitor stats` and `service-monitor urls` against a real API process on both deployments:
run as a user runs them (separate processes) or in-process through cli.main, output captured."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from service_monitor.cli import main
from service_monitor.models import Status
from tests.api_process import api_process, store_checks
from tests.servers import ROOT, server_env
from tests.targets import closed_port

KEY = "k-remote-cli-9b8c7d"
CLI = (sys.executable, "-m", "service_monitor.cli")


@dataclass
class Ran:
    code: int
    out: str
    err: str


async def cli_process(*args: str, **env: str) -> Ran:
    """The command as a separate process, its API settings from `env` only."""
    environment = server_env()
    for name in ("SERVICE_MONITOR_API_URL", "SERVICE_MONITOR_API_KEY"):
        environment.pop(name, None)
    process = await asyncio.create_subprocess_exec(
        *CLI, *args, cwd=ROOT, env={**environment, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 110)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("SERVICE_MONITOR_API_URL", raising=False)
    monkeypatch.delenv("SERVICE_MONITOR_API_KEY", raising=False)
    return CliRunner(capsys)


class CliRunner:
    """The command in this process (cli.main in a thread: it runs an event loop of its own)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    async def __call__(self, *args: str) -> Ran:
        self.capsys.readouterr()
        code = await asyncio.to_thread(main, list(args))
        captured = self.capsys.readouterr()
        return Ran(code, captured.out, captured.err)


def row(*cells: str) -> re.Pattern[str]:
    """A table row holding these cells in this order, whatever the column widths."""
    return re.compile(r"│\s*" + r"\s*│\s*".join(re.escape(cell) for cell in cells) + r"\s*│")


async def test_stats_prints_the_summary_and_the_top_lists_as_tables(
    deployment: dict[str, str], cli: CliRunner
) -> None:
    async with api_process(deployment) as base:
        empty = await cli("stats", "--api-url", base, "--no-cache")
        assert empty.code == 0, empty.err
        assert row("0", "0", "-").search(empty.out)
        assert "Top 10 by failed checks, past hour: none" in empty.out
        assert "Top 10 by successful checks, past 30 days: none" in empty.out

        ids = []
        for name in ("up", "down"):
            added = await cli("urls", "add", name, f"https://{name}.example/", "--api-url", base)
            assert added.code == 0, added.err
            ids.append(int(added.out.split()[2].rstrip(":")))  # "added monitor 1: ..."
        up, down = ids
        await store_checks(
            deployment,
            [(up, Status.SUCCESS, 3), (down, Status.FAIL, 2), (down, Status.SUCCESS, 1)],
        )

        tables = await cli("stats", "--api-url", base, "--no-cache")
        assert tables.code == 0, tables.err
        assert row("4", "2", "66.7%").search(tables.out)
        for span in ("past hour", "past 7 days", "past 30 days"):
            fail_title = f"Top 1 by failed checks, {span}"
            success_title = f"Top 2 by successful checks, {span}"
            assert fail_title in tables.out
            assert success_title in tables.out
        successes = tables.out.split("Top 2 by successful checks, past hour")[1]
        assert row("1", "up", "https://up.example/", "3").search(successes)
        assert row("2", "down", "https://down.example/", "1").search(successes)
        failures = tables.out.split("Top 1 by failed checks, past hour")[1]
        assert row("1", "down", "https://down.example/", "2").search(failures)

        machine = await cli("stats", "--api-url", base, "--span", "week", "--json")
        assert machine.code == 0, machine.err
        assert json.loads(machine.out) == {
            "summary": {"success": 4, "fail": 2, "ratio": pytest.approx(4 / 6)},
            "top": {
                "week": {
                    "fail": [{"name": "down", "url": "https://down.example/", "count": 2}],
                    "success": [
                        {"name": "up", "url": "https://up.example/", "count": 3},
                        {"name": "down", "url": "https://down.example/", "count": 1},
                    ],
                }
            },
        }


async def test_urls_add_then_list_shows_it_and_remove_takes_it_away(
    deployment: dict[str, str], cli: CliRunner
) -> None:
    async with api_process(deployment) as base:
        api = ("--api-url", base)
        added = await cli("urls", "add", "[bold]shop[/bold]", "https://shop.example/", *api)
        assert added.code == 0, added.err
        assert re.fullmatch(
            r"added monitor (\d+): \[bold\]shop\[/bold\] https://shop.example/ \(pending\)\n",
            added.out,
        )
        monitor_id = added.out.split()[2].rstrip(":")

        again = await cli("urls", "add", "other name", "https://SHOP.example:443/", *api)
        assert again.code == 0, again.err
        assert (
            again.out == f"already monitored as monitor {monitor_id}: https://SHOP.example:443/\n"
        )

        refused = await cli("urls", "add", "ftp", "ftp://files.example/", *api)
        assert refused.code == 1
        assert refused.err == (
            "service-monitor: the API answered 422: url: must be an absolute http:// or"
            " https:// URL, got scheme 'ftp'\n"
        )

        listed = await cli("urls", "list", *api)
        assert listed.code == 0, listed.err
        # The name is text, never rich markup: shown as it was given.
        assert row(monitor_id, "[bold]shop[/bold]", "https://shop.example/", "pending").search(
            listed.out
        )
        assert listed.out.endswith("monitors 1-1 of 1\n")
        as_json = json.loads((await cli("urls", "list", "--json", *api)).out)
        assert [(m["id"], m["url"]) for m in as_json["items"]] == [
            (int(monitor_id), "https://shop.example/")
        ]
        assert (as_json["total"], as_json["limit"], as_json["offset"]) == (1, 100, 0)

        removed = await cli("urls", "remove", monitor_id, *api)
        assert (removed.code, removed.out) == (0, f"removed monitor {monitor_id}\n")
        gone = await cli("urls", "remove", monitor_id, "99999", *api)
        assert gone.code == 1
        assert gone.err == (
            f"service-monitor: monitor {monitor_id} not found\n"
            "service-monitor: monitor 99999 not found\n"
        )
        empty = await cli("urls", "list", *api)
        assert empty.out == "no monitors at offset 0 (of 0)\n"


async def test_importing_2000_csv_rows_reports_each_bad_row_by_line_and_stores_the_good_ones(
    deployment: dict[str, str], tmp_path: Path, cli: CliRunner
) -> None:
    lines = ["name,url", *(f"site {i},https://site-{i}.example/" for i in range(2000))]
    # Bad rows replace good ones, at known lines (line n of the file is lines[n - 1]).
    lines[100 - 1] = "bad url,not a url"
    lines[500 - 1] = "internal,http://10.0.0.5/"
    lines[900 - 1] = "duplicate,https://SITE-1.example/"  # site 1 is on line 3
    lines[1300 - 1] = "lonely"
    lines[1700 - 1] = f"{'n' * 101},https://long-name.example/"
    lines.insert(1000, "")  # a blank line is no row; the rows after it are one line further on
    csv = tmp_path / "urls.csv"
    csv.write_text("\n".join(lines) + "\n")

    # The SSRF guard on, as deployed: the API refuses internal addresses.
    async with api_process(deployment, ALLOW_PRIVATE_TARGETS="false") as base:
        started = time.monotonic()
        imported = await cli_process("urls", "import", str(csv), SERVICE_MONITOR_API_URL=base)
        took = time.monotonic() - started
        with cli.capsys.disabled():  # informative, never asserted
            print(f"\nimport of 2000 rows took {took:.1f} s")
        assert imported.code == 1, imported.err  # a row was refused: scripts can tell
        assert imported.err.splitlines() == [
            f"{csv}:100: not a url: url: must not contain spaces or control characters",
            f"{csv}:500: http://10.0.0.5/: url: 10.0.0.5 is a private address (10.0.0.0/8);"
            " internal targets are refused unless ALLOW_PRIVATE_TARGETS=true or"
            " ALLOWED_TARGET_NETWORKS includes the address",
            f"{csv}:1301: expected name and url, got ['lonely']",
            f"{csv}:1701: https://long-name.example/: name: String should have at most 100"
            " characters",
        ]
        last = imported.out.splitlines()[-1]
        assert last.startswith("added 1,995, already monitored 1, failed 4 (2,000 rows in ")

        stored = await cli("urls", "list", "--all", "--limit", "700", "--json", "--api-url", base)
        assert stored.code == 0, stored.err
        listing = json.loads(stored.out)
        replaced = {line - 2 for line in (100, 500, 900, 1300, 1700)}
        good = {f"https://site-{i}.example/" for i in range(2000) if i not in replaced}
        assert listing["total"] == len(listing["items"]) == 1995
        assert {m["url"] for m in listing["items"]} == good

        again = await cli_process("urls", "import", str(csv), SERVICE_MONITOR_API_URL=base)
        assert again.code == 1
        assert again.out.splitlines()[-1].startswith("added 0, already monitored 1,996, failed 4")


async def test_importing_a_json_array_reports_bad_elements_by_the_line_they_start_on(
    deployment: dict[str, str], tmp_path: Path, cli: CliRunner
) -> None:
    elements = [
        {"name": "one", "url": "https://one.example/"},
        {"name": "ftp", "url": "ftp://files.example/"},
        {"name": "one again", "url": "https://one.example"},
        ["not", "an", "object"],
        {"name": "two", "url": "https://two.example/"},
    ]
    path = tmp_path / "monitors.json"
    # indent=2: element i starts on line 2 + 4 * i (the list on line 4 takes 5 lines)
    path.write_text(json.dumps(elements, indent=2))
    async with api_process(deployment) as base:
        api = ("--api-url", base)
        imported = await cli("urls", "import", str(path), "--concurrency", "2", *api)
        assert imported.code == 1
        assert imported.err.splitlines() == [
            f"{path}:6: ftp://files.example/: url: must be an absolute http:// or https:// URL,"
            " got scheme 'ftp'",
            f'{path}:14: expected an object with string "name" and "url", got'
            ' ["not", "an", "object"]',
        ]
        assert imported.out.startswith("added 2, already monitored 1, failed 2 (5 rows in ")
        listing = json.loads((await cli("urls", "list", "--json", *api)).out)
        assert [m["name"] for m in listing["items"]] == ["one", "two"]

        good = tmp_path / "good.data"  # not *.json: --format says how to read it
        good.write_text(json.dumps([{"name": "three", "url": "https://three.example/"}]))
        imported = await cli("urls", "import", str(good), "--format", "json", *api)
        assert imported.code == 0, imported.err
        assert imported.out.startswith("added 1, already monitored 0, failed 0 (1 rows in ")


async def test_with_api_keys_the_commands_need_the_key_and_never_show_it(
    deployment: dict[str, str], tmp_path: Path
) -> None:
    csv = tmp_path / "urls.csv"
    csv.write_text("name,url\na,https://a.example/\nb,https://b.example/\n")
    async with api_process(deployment, API_KEYS=KEY, READ_AUTH="true") as base:
        no_key = await cli_process("stats", SERVICE_MONITOR_API_URL=base)
        assert (no_key.code, no_key.out) == (2, "")
        assert no_key.err == (
            "service-monitor: the API needs a key (401): this endpoint needs an API key: send"
            " the header 'Authorization: Bearer <key>'; set SERVICE_MONITOR_API_KEY (or pass"
            " --api-key)\n"
        )
        no_key = await cli_process("urls", "import", str(csv), SERVICE_MONITOR_API_URL=base)
        assert no_key.code == 2
        assert no_key.err.startswith("service-monitor: the API needs a key (401): ")
        assert len(no_key.err.splitlines()) == 1

        wrong = await cli_process(
            "urls", "add", "x", "https://x.example/", "--api-key", "wrong-key-123",
            SERVICE_MONITOR_API_URL=base,
        )  # fmt: skip
        assert (wrong.code, wrong.out) == (2, "")
        assert wrong.err == (
            "service-monitor: the API refused the key (403): the API key sent is not valid\n"
        )

        keyed = {"SERVICE_MONITOR_API_URL": base, "SERVICE_MONITOR_API_KEY": KEY}
        imported = await cli_process("urls", "import", str(csv), **keyed)
        assert imported.code == 0, imported.err
        assert imported.out.startswith("added 2, already monitored 0, failed 0")
        stats = await cli_process("stats", "--json", **keyed)
        assert stats.code == 0, stats.err
        listed = await cli_process("urls", "list", "--api-url", base, "--api-key", KEY)
        assert listed.code == 0, listed.err
        assert "monitors 1-2 of 2" in listed.out
        for ran in (imported, stats, listed, wrong):
            assert KEY not in ran.out + ran.err
            assert "wrong-key-123" not in ran.out + ran.err


async def test_an_unreachable_api_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    csv = tmp_path / "urls.csv"
    csv.write_text("name,url\na,https://a.example/\n")
    for command in (("stats",), ("urls", "list"), ("urls", "import", str(csv))):
        ran = await cli_process(*command, SERVICE_MONITOR_API_URL=base)
        assert (ran.code, ran.out) == (2, ""), command
        assert ran.err.startswith(f"service-monitor: cannot reach the API at {base}: "), ran.err
        assert len(ran.err.splitlines()) == 1, ran.err


async def test_usage_errors_and_unreadable_files_exit_2_before_any_request(
    tmp_path: Path, cli: CliRunner
) -> None:
    unreachable = ("--api-url", f"http://127.0.0.1:{closed_port()}")
    bad_url = await cli("stats", "--api-url", "ftp://monitor.example")
    assert (bad_url.code, bad_url.err) == (
        2,
        "service-monitor: --api-url must be an http:// or https:// URL, got"
        " 'ftp://monitor.example'\n",
    )
    bad_key = await cli("stats", *unreachable, "--api-key", "clé secrète")
    assert (bad_key.code, bad_key.err) == (  # the key itself is never shown
        2,
        "service-monitor: --api-key: an API key must be printable ASCII without spaces\n",
    )
    missing = await cli("urls", "import", str(tmp_path / "missing.csv"), *unreachable)
    assert missing.code == 2
    assert missing.err.startswith(f"service-monitor: {tmp_path / 'missing.csv'}: [Errno 2] ")

    headless = tmp_path / "headless.csv"
    headless.write_text("a,https://a.example/\n")
    ran = await cli("urls", "import", str(headless), *unreachable)
    assert (ran.code, ran.err) == (
        2,
        f"service-monitor: {headless}: the first line must be the header 'name,url',"
        " got ['a', 'https://a.example/']\n",
    )
    broken = tmp_path / "broken.json"
    broken.write_text('[\n  {"name": "a", "url": "https://a.example/"},\n  {"name": \n')
    ran = await cli("urls", "import", str(broken), *unreachable)
    assert (ran.code, ran.err) == (
        2,
        f"service-monitor: {broken}:4: not valid JSON: Expecting value\n",
    )

    with pytest.raises(SystemExit) as too_many:
        await cli("urls", "list", "--limit", "1001")
    assert too_many.value.code == 2


async def test_urls_list_search_keeps_the_monitors_whose_name_or_url_hold_the_text(
    deployment: dict[str, str], cli: CliRunner
) -> None:
    async with api_process(deployment) as base:
        api = ("--api-url", base)
        for name, url in (
            ("Billing", "https://pay.example/health"),
            ("shop", "https://billing-eu.example/"),
            ("blog", "https://blog.example/"),
        ):
            assert (await cli("urls", "add", name, url, *api)).code == 0
        found = await cli("urls", "list", "--search", "billing", "--json", *api)
        assert found.code == 0, found.err
        listing = json.loads(found.out)
        assert [m["name"] for m in listing["items"]] == ["Billing", "shop"]
        assert listing["total"] == 2

        table = await cli("urls", "list", "--search", "billing", "--limit", "1", *api)
        assert table.out.endswith("monitors 1-1 of 2 matching 'billing'; next page: --offset 1\n")
        every = await cli("urls", "list", "--search", "billing", "--all", "--limit", "1", *api)
        assert every.out.endswith("2 monitors matching 'billing'\n")
        none = await cli("urls", "list", "--search", "nothing", *api)
        assert none.out == "no monitors matching 'nothing' at offset 0 (of 0)\n"


async def test_urls_add_with_a_check_then_show_and_edit_it(
    deployment: dict[str, str], cli: CliRunner
) -> None:
    async with api_process(deployment) as base:
        api = ("--api-url", base)
        added = await cli(
            "urls", "add", "api", "https://api.example/health", *api,
            "--header", "Authorization: Bearer cli-s3cret", "--header", "X-Env: prod",
            "--check-timeout", "1.5", "--assert", "status 2xx,301",
            "--assert", "json $.status equals ok", "--assert", '{"type": "latency", "below_ms": 900}',
            "--degraded-after", "400", "--owner", "ops",
        )  # fmt: skip
        assert added.code == 0, added.err
        monitor_id = added.out.split()[2].rstrip(":")

        shown = await cli("urls", "show", monitor_id, *api)
        assert shown.code == 0, shown.err
        assert shown.out.splitlines()[:12] == [
            f"monitor {monitor_id}: api",
            "url: https://api.example/health",
            shown.out.splitlines()[2],  # state and creation time
            "owner: ops",
            "request: GET, timeout 1.5 s",
            "  header Authorization: <redacted>",
            "  header X-Env: prod",
            "assertions:",
            "  status 2xx, 301",
            '  json $.status equals "ok"',
            "  latency below 900 ms",
            "degraded after: 400 ms",
        ]
        as_json = json.loads((await cli("urls", "show", monitor_id, "--json", *api)).out)
        assert as_json["request"]["headers"]["Authorization"] == "<redacted>"
        assert as_json["counts"]["hour"] == {"success": 0, "fail": 0, "degraded": 0}

        dry = await cli("urls", "edit", monitor_id, "--check-timeout", "1", "--dry-run", *api)
        assert (dry.code, dry.out) == (0, f"would change monitor {monitor_id}: request\n")
        edited = await cli(
            "urls", "edit", monitor_id, "--name", "api eu", "--assert", "status 200",
            "--no-degraded", *api,
        )  # fmt: skip
        assert edited.out == (
            f"changed monitor {monitor_id}: name, assertions, degraded_after_ms\n"
        ), edited.err
        again = await cli("urls", "edit", monitor_id, "--name", "api eu", *api)
        assert again.out == f"monitor {monitor_id} unchanged\n"
        listed = json.loads((await cli("urls", "list", "--owner", "ops", "--json", *api)).out)
        [item] = listed["items"]
        assert (item["name"], item["assertions"]) == (
            "api eu",
            [{"type": "status", "codes": [200]}],
        )
        table = await cli("urls", "list", "--owner", "ops", *api)
        assert row(monitor_id, "api eu").search(table.out)
        assert "│ GET, 1 assertion, owner ops │" in table.out
        assert table.out.endswith("monitors 1-1 of 1 owned by 'ops'\n")
        # The secret was kept through the edits (sent back redacted), and is never printed.
        assert item["request"]["headers"]["Authorization"] == "<redacted>"
        for ran in (added, shown, dry, edited, again):
            assert "cli-s3cret" not in ran.out + ran.err

        refused = await cli(
            "urls", "add", "x", "https://x.example/", "--assert", "status 7xx", *api
        )
        assert refused.code == 1
        assert refused.err.startswith("service-monitor: assertions.0.status.codes: '7xx' is not")
        over = await cli("urls", "edit", monitor_id, "--check-timeout", "30", *api)
        assert over.code == 1
        assert over.err == (
            "service-monitor: the API answered 422: request.timeout_s: 30 s is over TIMEOUT, the"
            " most a check may take here (2 s)\n"
        )
