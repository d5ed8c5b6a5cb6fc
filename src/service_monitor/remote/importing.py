"""The `service-monitor urls import` command: read a CSV or JSON file of URLs and add its rows through the API concurrently, with a progress bar and one error line per bad row.

CSV files are read by `csv_rows` of monitor_files.py, so both importers accept the same files.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..monitor_files import Row, csv_rows
from .output import _printable
from .session import UsageError, _fail, _run

if TYPE_CHECKING:
    from ..client import ApiClient


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

    from ..client import ApiError, ApiUnreachable

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
