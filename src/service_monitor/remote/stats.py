"""The `service-monitor stats` command: the API's 30-day summary and top-10 lists, printed as tables or JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING, Any

from .output import _cell, _console
from .session import _run

if TYPE_CHECKING:
    from ..client import ApiClient, Summary, TopItem

SPANS = ("hour", "week", "month")
SPAN_WORDS = {"hour": "past hour", "week": "past 7 days", "month": "past 30 days"}


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
