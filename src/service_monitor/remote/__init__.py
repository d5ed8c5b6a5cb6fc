"""The `stats`, `urls`, `apply`, `channels`, `incidents`, `incident` and `maintenance` commands, registered on the `service-monitor` parser: they talk to the HTTP API, never to the store, so they work against a remote deployment.

`service-monitor stats` prints the 30-day summary and the top-10 lists as tables (or JSON);
`service-monitor urls list|add|show|edit|remove|import` manages monitors, and
`service-monitor apply FILE.yaml` syncs the monitors a file lists. Both reach the API at `--api-url`
(default: $SERVICE_MONITOR_API_URL, else http://127.0.0.1:8000) with the key of `--api-key` (default:
$SERVICE_MONITOR_API_KEY, which keeps the key out of the shell history and the process list).

Exit codes: 0 done; 1 the API refused something (a bad row of an import, an unknown id, a
database that is down); 2 a usage error, an unreadable file, an API that cannot be reached or that
refused the key. Errors are one line each, never a traceback, and never show the key.

Modules: session.py (connection options, errors, exit codes, running a command), output.py
(tables and safe text), stats.py, urls.py (list, add, show, edit, remove), importing.py (urls
import), apply.py (apply) and alerting.py (channels, incidents, incident, maintenance).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ..arguments import positive_seconds
from .alerting import add_alerting_commands
from .apply import _apply
from .fleet import _fleet
from .importing import _urls_import, read_rows
from .session import API_KEY_ENV, API_URL_ENV, DEFAULT_API_URL, DEFAULT_CONCURRENCY, UsageError
from .stats import SPANS, _stats
from .urls import (
    MAX_PAGE,
    _urls_add,
    _urls_edit,
    _urls_list,
    _urls_remove,
    _urls_show,
    add_alerting_options,
    add_check_options,
    add_schedule_options,
)

__all__ = ["UsageError", "add_commands", "read_rows"]

# --- arguments -------------------------------------------------------------------------------


def _bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"{low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {value}")
        return value

    return parse


def _connection_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("API connection")
    group.add_argument(
        "--api-url",
        metavar="URL",
        help=f"the API's base URL (default: ${API_URL_ENV}, else {DEFAULT_API_URL})",
    )
    group.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"the API key, sent as 'Authorization: Bearer KEY' (default: ${API_KEY_ENV}; prefer"
        " the variable: a key on the command line stays in the shell history and shows in ps)",
    )
    group.add_argument(
        "--timeout",
        type=positive_seconds,
        default=30.0,
        metavar="SECONDS",
        help="seconds one answer may take (default: 30)",
    )
    return options


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the API's commands on the `service-monitor` parser (cli.build_parser)."""
    connection = _connection_options()

    stats = commands.add_parser(
        "stats",
        parents=[connection],
        help="the 30-day summary and the top-10 lists, from the API",
        description="The 30-day success/fail summary, then the top-10 failing and succeeding"
        " URLs of the past hour, 7 days and 30 days (or only of --span), as tables.",
    )
    stats.add_argument("--span", choices=SPANS, help="only this window's top lists (default: all)")
    stats.add_argument("--json", action="store_true", help="print JSON instead of tables")
    stats.add_argument(
        "--no-cache", action="store_true", help="ask the database, not the API's cache"
    )
    stats.set_defaults(run=_stats)

    fleet = commands.add_parser(
        "fleet",
        parents=[connection],
        help="the fleet's shard streams, dead letters and newest planner slots, from the API",
    )
    fleet.add_argument("--limit", type=int, default=10, help="newest slots shown (default 10)")
    fleet.add_argument("--json", action="store_true", help="print JSON instead of tables")
    fleet.set_defaults(run=_fleet)

    apply = commands.add_parser(
        "apply",
        parents=[connection],
        help="make the API's monitors of one owner what a YAML file says",
        description="Sync the monitors of FILE's owner through the API: add those the file"
        " lists and the API lacks, change those that differ, and with --prune delete those the"
        " file no longer lists. Monitors are matched by name; applying the same file twice"
        " changes nothing. ${NAME} in a header value is the environment variable NAME (the"
        " header is then secret). Errors are FILE:LINE: reason. Exit code 0 when everything"
        " was applied, 1 when the file or the API refused an entry, 2 when the file cannot be"
        " read or the API reached. See data/monitors.example.yaml.",
    )
    apply.add_argument("file", type=Path, metavar="FILE")
    apply.add_argument(
        "--dry-run", action="store_true", help="print what would change; change nothing"
    )
    apply.add_argument(
        "--prune",
        action="store_true",
        help="delete the owner's monitors the file no longer lists",
    )
    apply.add_argument(
        "--concurrency",
        type=_bounded_int(1, 256),
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"requests in flight at once, 1 to 256 (default: {DEFAULT_CONCURRENCY})",
    )
    apply.set_defaults(run=_apply)

    urls = commands.add_parser(
        "urls",
        help="list, add, remove and import monitored URLs, through the API",
        description="Manage monitored URLs through the API.",
    )
    actions = urls.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", parents=[connection], help="list the monitored URLs")
    listing.add_argument("--search", metavar="TEXT", help="only URLs whose name or URL contain it")
    listing.add_argument("--owner", metavar="LABEL", help="only the monitors with this owner")
    listing.add_argument(
        "--limit",
        type=_bounded_int(1, MAX_PAGE),
        help="monitors per page, 1 to 1000 (default: 100; with --all, 1000)",
    )
    listing.add_argument("--offset", type=_bounded_int(0), default=0, help="monitors to skip")
    listing.add_argument("--all", action="store_true", help="every page, not only the first")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(run=_urls_list)

    add = actions.add_parser(
        "add",
        parents=[connection],
        help="monitor a URL",
        description="Monitor URL as NAME; without check options, one GET every cycle, success"
        " when the final status is below 400.",
    )
    add.add_argument("name")
    add.add_argument("url")
    add_check_options(add)
    add_alerting_options(add, edit=False)
    add_schedule_options(add, edit=False)
    add.set_defaults(run=_urls_add)

    show = actions.add_parser(
        "show",
        parents=[connection],
        help="one monitor: its check (secrets redacted), counts and newest checks",
    )
    show.add_argument("id", type=_bounded_int(1, 2**31 - 1), metavar="ID")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.add_argument(
        "--region", metavar="NAME", help="list the newest checks made from this region only"
    )
    show.set_defaults(run=_urls_show)

    edit = actions.add_parser(
        "edit",
        parents=[connection],
        help="change a monitor's name, URL, check, owner, alerting or schedule",
        description="Change what the options say and keep the rest. Request options change the"
        " monitor's request (secret header values are kept); --assert replaces the assertions.",
    )
    edit.add_argument("id", type=_bounded_int(1, 2**31 - 1), metavar="ID")
    edit.add_argument("--name")
    edit.add_argument("--url")
    add_check_options(edit)
    add_alerting_options(edit, edit=True)
    add_schedule_options(edit, edit=True)
    edit.add_argument(
        "--remove-header", action="append", metavar="NAME", help="stop sending this header"
    )
    edit.add_argument("--clear-assertions", action="store_true", help="no assertions left")
    edit.add_argument("--no-degraded", action="store_true", help="never flag degraded")
    edit.add_argument("--no-owner", action="store_true", help="remove the owner label")
    edit.add_argument(
        "--dry-run", action="store_true", help="print what would change; change nothing"
    )
    edit.set_defaults(run=_urls_edit)

    remove = actions.add_parser("remove", parents=[connection], help="stop monitoring URLs by id")
    remove.add_argument("ids", nargs="+", type=_bounded_int(1, 2**31 - 1), metavar="ID")
    remove.set_defaults(run=_urls_remove)

    importer = actions.add_parser(
        "import",
        parents=[connection],
        help="add every URL of a CSV or JSON file",
        description="Add every row of FILE through the API: a CSV with the header 'name,url'"
        ' (like data/urls.csv) or a JSON array of {"name": ..., "url": ...}. Each bad row is'
        " reported as FILE:LINE with the API's reason; URLs already monitored are counted, not"
        " errors. Exit code 0 when every row is monitored, 1 when a row was refused.",
    )
    importer.add_argument("file", type=Path, metavar="FILE")
    importer.add_argument(
        "--format", choices=("csv", "json"), help="default: json for *.json, else csv"
    )
    importer.add_argument(
        "--concurrency",
        type=_bounded_int(1, 256),
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"requests in flight at once, 1 to 256 (default: {DEFAULT_CONCURRENCY})",
    )
    importer.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar (there is none either when stderr is not a terminal)",
    )
    importer.set_defaults(run=_urls_import)

    add_alerting_commands(commands, connection, _bounded_int)
