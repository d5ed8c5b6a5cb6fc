"""The `service-monitor urls list|add|remove` commands: browse, add and remove monitors through the API."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from .output import _cell, _console, _printable
from .session import _fail, _run

if TYPE_CHECKING:
    from ..client import ApiClient, Monitor

MAX_PAGE = 1000  # the API's largest `limit`


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
    from ..client import ApiError

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
    from ..client import ApiError

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
