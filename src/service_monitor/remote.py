"""The `stats` and `urls` commands: they talk to the HTTP API, never to the store, so they work against a remote deployment.

`service-monitor stats` prints the 30-day summary and the top-10 lists as tables (or JSON);
`service-monitor urls list|add|remove|import` manages monitors. Both reach the API at `--api-url`
(default: $SERVICE_MONITOR_API_URL, else http://127.0.0.1:8000) with the key of `--api-key` (default:
$SERVICE_MONITOR_API_KEY, which keeps the key out of the shell history and the process list).

Exit codes: 0 done; 1 the API refused something (a bad row of an import, an unknown id, a
database that is down); 2 a usage error, an unreadable file, an API that cannot be reached or that
refused the key. Errors are one line each, never a traceback, and never show the key.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .compute.importer import Row, csv_rows

if TYPE_CHECKING:  # imported when a command runs, so the server's commands never load them
    from rich.console import Console

    from .client import ApiClient, ApiError, Monitor, Summary, TopItem

API_URL_ENV = "SERVICE_MONITOR_API_URL"
API_KEY_ENV = "SERVICE_MONITOR_API_KEY"
DEFAULT_API_URL = "http://127.0.0.1:8000"
SPANS = ("hour", "week", "month")
SPAN_WORDS = {"hour": "past hour", "week": "past 7 days", "month": "past 30 days"}
MAX_PAGE = 1000  # the API's largest `limit`
DEFAULT_CONCURRENCY = 16
PIPE_WIDTH = 10_000  # columns of a table printed to a pipe: wide enough for any URL


class UsageError(Exception):
    """A bad option or an unreadable file: one line, exit code 2."""


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


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


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
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="seconds one answer may take (default: 30)",
    )
    return options


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `stats` and `urls` on the `service-monitor` parser (cli.build_parser)."""
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

    urls = commands.add_parser(
        "urls",
        help="list, add, remove and import monitored URLs, through the API",
        description="Manage monitored URLs through the API.",
    )
    actions = urls.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", parents=[connection], help="list the monitored URLs")
    listing.add_argument("--search", metavar="TEXT", help="only URLs whose name or URL contain it")
    listing.add_argument(
        "--limit",
        type=_bounded_int(1, MAX_PAGE),
        help="monitors per page, 1 to 1000 (default: 100; with --all, 1000)",
    )
    listing.add_argument("--offset", type=_bounded_int(0), default=0, help="monitors to skip")
    listing.add_argument("--all", action="store_true", help="every page, not only the first")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(run=_urls_list)

    add = actions.add_parser("add", parents=[connection], help="monitor a URL")
    add.add_argument("name")
    add.add_argument("url")
    add.set_defaults(run=_urls_add)

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


# --- running a command -----------------------------------------------------------------------


def _printable(text: str) -> str:
    """Text safe to print on a terminal: control characters shown escaped, never sent raw."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _fail(message: str) -> None:
    print(f"service-monitor: {_printable(message)}", file=sys.stderr)


def _api_url(args: argparse.Namespace) -> str:
    import httpx

    url = args.api_url or os.environ.get(API_URL_ENV) or DEFAULT_API_URL
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"--api-url must be an http:// or https:// URL, got {url!r}")
    return url


def _key_refused(exc: ApiError, key: str | None) -> str:
    if exc.status == 401 and not key:
        return (
            f"the API needs a key ({exc.status}): {exc.detail}; set {API_KEY_ENV}"
            " (or pass --api-key)"
        )
    return f"the API refused the key ({exc.status}): {exc.detail}"


def _run(args: argparse.Namespace, command: Callable[[ApiClient], Awaitable[int]]) -> int:
    """Open a client on --api-url, run the command, and turn every failure into one line."""
    from .client import ApiClient, ApiError, ApiUnreachable, valid_key

    key = args.api_key or os.environ.get(API_KEY_ENV) or None
    if key is not None and not valid_key(key):  # never shown: it may be a real key, mistyped
        where = "--api-key" if args.api_key else f"${API_KEY_ENV}"
        _fail(f"{where}: an API key must be printable ASCII without spaces")
        return 2

    async def run() -> int:
        limit = getattr(args, "concurrency", DEFAULT_CONCURRENCY)
        async with ApiClient(
            _api_url(args), key, timeout=args.timeout, max_connections=limit
        ) as api:
            return await command(api)

    try:
        return asyncio.run(run())
    except UsageError as exc:
        _fail(str(exc))
        return 2
    except ApiUnreachable as exc:
        _fail(str(exc))
        return 2
    except ApiError as exc:
        if exc.key_refused:
            _fail(_key_refused(exc, key))
            return 2
        _fail(f"the API answered {exc.status}: {exc.detail}")
        return 1
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130


def _console() -> Console:
    """Standard output; into a pipe or a file, tables are as wide as their cells (never folded
    at 80 columns) unless COLUMNS says otherwise."""
    from rich.console import Console

    console = Console(highlight=False, emoji=False)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(highlight=False, emoji=False, width=PIPE_WIDTH)
    return console


# --- stats -----------------------------------------------------------------------------------


def _stats(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _show_stats(api, args))


async def _show_stats(api: ApiClient, args: argparse.Namespace) -> int:
    spans = [args.span] if args.span else list(SPANS)
    use_cache = not args.no_cache
    pairs = [(span, status) for span in spans for status in ("fail", "success")]
    summary, tops = await asyncio.gather(
        api.summary(cache=use_cache),
        asyncio.gather(*(api.top(status, span, cache=use_cache) for span, status in pairs)),
    )
    lists: dict[str, dict[str, list[TopItem]]] = {span: {} for span in spans}
    for (span, status), items in zip(pairs, tops, strict=True):
        lists[span][status] = items
    if args.json:
        print(json.dumps(_stats_json(summary, lists), ensure_ascii=False, indent=2))
    else:
        _print_stats(summary, lists)
    return 0


def _stats_json(summary: Summary, lists: dict[str, dict[str, list[TopItem]]]) -> dict[str, Any]:
    return {
        "summary": {"success": summary.success, "fail": summary.fail, "ratio": summary.ratio},
        "top": {
            span: {
                status: [{"name": i.name, "url": i.url, "count": i.count} for i in items]
                for status, items in by_status.items()
            }
            for span, by_status in lists.items()
        },
    }


def _print_stats(summary: Summary, lists: dict[str, dict[str, list[TopItem]]]) -> None:
    from rich.table import Table

    console = _console()
    table = Table(title="Checks in the past 30 days", title_justify="left")
    table.add_column("success", justify="right")
    table.add_column("fail", justify="right")
    table.add_column("success ratio", justify="right")
    ratio = "-" if summary.ratio is None else f"{summary.ratio:.1%}"
    table.add_row(f"{summary.success:,}", f"{summary.fail:,}", ratio)
    console.print(table)
    for span, by_status in lists.items():
        for status, items in by_status.items():
            word = "failed" if status == "fail" else "successful"
            title = f"Top {len(items) or 10} by {word} checks, {SPAN_WORDS[span]}"
            if not items:
                console.print(f"\n{title}: none", markup=False)
                continue
            top = Table(title=title, title_justify="left")
            top.add_column("#", justify="right", no_wrap=True)
            top.add_column("name", overflow="fold")
            top.add_column("url", overflow="fold")
            top.add_column(status, justify="right", no_wrap=True)
            for rank, item in enumerate(items, 1):
                top.add_row(str(rank), _cell(item.name), _cell(item.url), f"{item.count:,}")
            console.print()
            console.print(top)


def _cell(value: str) -> Any:
    """A table cell shown as is: '[red]' in a name is text, not rich markup."""
    from rich.text import Text

    return Text(_printable(value))


# --- urls list, add, remove ------------------------------------------------------------------


def _urls_list(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _list(api, args))


async def _list(api: ApiClient, args: argparse.Namespace) -> int:
    limit = args.limit or (MAX_PAGE if args.all else 100)
    page = await api.list_urls(limit, args.offset, args.search)
    items, total = list(page.items), page.total
    if args.all:
        seen = {m.id for m in items}
        offset = args.offset + len(page.items)
        while page.items and offset < page.total:
            page = await api.list_urls(limit, offset, args.search)
            offset += len(page.items)
            total = page.total
            # Offsets shift when monitors are added or removed meanwhile: never list one twice.
            items.extend(m for m in page.items if m.id not in seen)
            seen.update(m.id for m in page.items)
    if args.json:
        body: dict[str, Any] = {"items": [_monitor_json(m) for m in items], "total": total}
        if not args.all:
            body.update(limit=limit, offset=args.offset)
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return 0
    _print_monitors(items)
    matching = f" matching {args.search!r}" if args.search is not None else ""
    if args.all:
        print(f"{len(items):,} monitors{matching}")
    elif items:
        first, last = args.offset + 1, args.offset + len(items)
        more = f"; next page: --offset {last}" if last < total else ""
        print(f"monitors {first:,}-{last:,} of {total:,}{matching}{more}")
    else:
        print(f"no monitors{matching} at offset {args.offset:,} (of {total:,})")
    return 0


def _monitor_json(monitor: Monitor) -> dict[str, Any]:
    return {
        "id": monitor.id,
        "name": monitor.name,
        "url": monitor.url,
        "created_at": monitor.created_at,
        "state": monitor.state,
    }


def _print_monitors(monitors: list[Monitor]) -> None:
    if not monitors:
        return
    from rich.table import Table

    table = Table()
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_column("url", overflow="fold")
    table.add_column("state", no_wrap=True)
    table.add_column("created (UTC)")
    for m in monitors:
        created = m.created_at.replace("T", " ")[:19]
        table.add_row(str(m.id), _cell(m.name), _cell(m.url), m.state, created)
    _console().print(table)


def _urls_add(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _add(api, args.name, args.url))


async def _add(api: ApiClient, name: str, url: str) -> int:
    from .client import ApiError

    try:
        monitor = await api.add_url(name, url)
    except ApiError as exc:
        if exc.status != 409:
            raise
        print(_printable(f"already monitored as monitor {exc.existing_id}: {url}"))
        return 0
    print(_printable(f"added monitor {monitor.id}: {monitor.name} {monitor.url} ({monitor.state})"))
    return 0


def _urls_remove(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _remove(api, args.ids))


async def _remove(api: ApiClient, ids: list[int]) -> int:
    from .client import ApiError

    code = 0
    for monitor_id in ids:
        try:
            await api.delete_url(monitor_id)
        except ApiError as exc:
            if exc.key_refused or exc.status >= 500:
                raise
            _fail(exc.detail)  # "monitor 7 not found"
            code = 1
            continue
        print(f"removed monitor {monitor_id}")
    return code


# --- urls import -----------------------------------------------------------------------------


def _json_rows(path: Path) -> list[Row]:
    """A JSON array of {"name": ..., "url": ...}; each element keeps the line it starts on."""
    text = path.read_text(encoding="utf-8-sig")
    decoder = json.JSONDecoder()
    rows: list[Row] = []

    def skip(at: int) -> int:
        while at < len(text) and text[at] in " \t\r\n":
            at += 1
        return at

    at, line, counted = skip(0), 1, 0
    try:
        if text[at : at + 1] != "[":
            raise UsageError(f"{path}: expected a JSON array of {{'name', 'url'}} objects")
        at = skip(at + 1)
        if text[at : at + 1] == "]":
            at += 1
        else:
            while True:
                line += text.count("\n", counted, at)
                counted = at
                value, at = decoder.raw_decode(text, at)
                rows.append(_json_row(line, value))
                at = skip(at)
                if text[at : at + 1] == ",":
                    at = skip(at + 1)
                    continue
                if text[at : at + 1] == "]":
                    at += 1
                    break
                raise json.JSONDecodeError("expected ',' or ']'", text, at)
        if skip(at) != len(text):
            raise json.JSONDecodeError("extra data after the array", text, skip(at))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    return rows


def _json_row(line: int, value: object) -> Row:
    if isinstance(value, dict):
        name, url = value.get("name"), value.get("url")
        if isinstance(name, str) and isinstance(url, str):
            return Row(line, name, url)
    shown = json.dumps(value, ensure_ascii=False)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return Row(line, problem=f'expected an object with string "name" and "url", got {shown}')


def read_rows(path: Path, file_format: str | None = None) -> list[Row]:
    """The file's rows in order; raises UsageError when it cannot be read as a whole."""
    chosen = file_format or ("json" if path.suffix.lower() == ".json" else "csv")
    try:
        return _json_rows(path) if chosen == "json" else csv_rows(path)
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        message = str(exc)  # csv_rows' own errors name the file already
        raise UsageError(
            message if message.startswith(str(path)) else f"{path}: {message}"
        ) from None


def _urls_import(args: argparse.Namespace) -> int:
    try:
        rows = read_rows(args.file, args.format)
    except UsageError as exc:  # before any request: a file that cannot be read sends nothing
        _fail(str(exc))
        return 2
    return _run(args, lambda api: _import(api, args, rows))


@dataclass
class Tally:
    added: int = 0
    already: int = 0
    failed: int = 0

    def line(self, rows: int, seconds: float) -> str:
        return (
            f"added {self.added:,}, already monitored {self.already:,}, failed {self.failed:,}"
            f" ({rows:,} rows in {seconds:.1f} s)"
        )


async def _import(api: ApiClient, args: argparse.Namespace, rows: list[Row]) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from .client import ApiError, ApiUnreachable

    source = str(args.file)
    err = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
    started = time.monotonic()
    tally = Tally()
    # Row outcomes are reported in file order as soon as every earlier row is done: None while
    # the row is in flight, "" when it is monitored, else the message.
    outcomes: list[str | None] = [None] * len(rows)
    reported = 0
    fatal: list[BaseException] = []
    progress = Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        disable=args.quiet or not err.is_terminal,
        transient=True,
    )
    task = progress.add_task("import", total=len(rows))

    def done(index: int, message: str) -> None:
        nonlocal reported
        outcomes[index] = message
        progress.advance(task)
        while reported < len(outcomes) and outcomes[reported] is not None:
            text = outcomes[reported]
            if text:
                progress.console.print(_printable(text), markup=False)
            reported += 1

    def where(row: Row) -> str:
        url = row.url if len(row.url) <= 100 else row.url[:97] + "..."
        url = url or "''"
        return f"{source}:{row.line}: {url}"

    pending: Iterator[int] = iter(range(len(rows)))

    async def worker() -> None:
        for index in pending:  # one iterator shared by the workers: each row is sent once
            if fatal:
                return
            row = rows[index]
            if row.problem is not None:
                tally.failed += 1
                done(index, f"{source}:{row.line}: {row.problem}")
                continue
            try:
                await api.add_url(row.name, row.url)
            except ApiError as exc:
                if exc.key_refused:
                    fatal.append(exc)
                    return
                if exc.status == 409:
                    tally.already += 1
                    done(index, "")
                else:
                    tally.failed += 1
                    done(index, f"{where(row)}: {exc.detail}")
                continue
            except ApiUnreachable as exc:
                fatal.append(exc)
                return
            tally.added += 1
            done(index, "")

    with progress:
        await asyncio.gather(*(worker() for _ in range(min(args.concurrency, len(rows)) or 1)))
    seconds = time.monotonic() - started
    if fatal:
        for text in outcomes[reported:]:  # rows done after one still in flight when it stopped
            if text:
                err.print(_printable(text), markup=False)
        finished = tally.added + tally.already + tally.failed
        if finished:
            print(f"stopped: {tally.line(finished, seconds)}")
        raise fatal[0]
    print(tally.line(len(rows), seconds))
    return 1 if tally.failed else 0
