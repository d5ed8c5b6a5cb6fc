"""The `service-monitor channels|incidents|incident|maintenance` commands: alerting managed through the API, printed as the other commands print (rich tables, or --json)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from typing import TYPE_CHECKING, Any

from .output import _cell, _console, _printable
from .session import UsageError, _fail, _run

if TYPE_CHECKING:
    from ..client import ApiClient, Channel, Incident, MaintenanceWindow

_DURATION = re.compile(r"(\d+)([smhdw]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> int:
    """Seconds of "3600", "90s", "45m", "2h", "1d", "1w" or "1h30m"; ValueError otherwise."""
    compact = text.strip().lower().replace(" ", "")
    total, at = 0, 0
    for match in _DURATION.finditer(compact):
        if match.start() != at:
            break
        total += int(match[1]) * _UNITS[match[2]]
        at = match.end()
    if not compact or at != len(compact):
        raise ValueError(f"expected seconds or a duration such as 90m, 2h, 1d, got {text!r}")
    return total


def duration_option(text: str) -> int:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _when(iso: str | None) -> str:
    return "-" if iso is None else iso.replace("T", " ")[:19]


def _span(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    shown = "".join(parts)
    return shown if shown and not secs else f"{shown}{secs}s"


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


async def find_channel(api: ApiClient, ref: str) -> Channel:
    """The channel named `ref`, else the one whose id it is; UsageError when there is none."""
    channels = await api.list_channels()
    for channel in channels:
        if channel.name == ref:
            return channel
    if ref.isdigit():
        for channel in channels:
            if channel.id == int(ref):
                return channel
    raise UsageError(f"no channel named {ref!r} (service-monitor channels list shows them)")


# --- channels -----------------------------------------------------------------------------------


def _channels_list(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _list_channels(api, args))


async def _list_channels(api: ApiClient, args: argparse.Namespace) -> int:
    channels = await api.list_channels()
    if args.json:
        _print_json({"items": [dataclasses.asdict(c) for c in channels], "total": len(channels)})
        return 0
    if not channels:
        print("no channels; service-monitor channels add NAME TYPE URL adds one")
        return 0
    from rich.table import Table

    table = Table()
    for column, justify in (("id", "right"), ("name", "left"), ("type", "left")):
        table.add_column(column, justify=justify, no_wrap=column != "name")  # type: ignore[arg-type]
    table.add_column("target", overflow="fold")
    table.add_column("default", no_wrap=True)
    table.add_column("resolved", no_wrap=True)
    table.add_column("reminders", no_wrap=True)
    table.add_column("monitors", justify="right", no_wrap=True)
    for c in channels:
        table.add_row(
            str(c.id),
            _cell(c.name),
            c.type,
            _cell(c.target_hint),
            "yes" if c.is_default else "no",
            "yes" if c.send_resolved else "no",
            "every " + _span(c.resend_every) if c.resend_every else "off",
            str(c.monitors),
        )
    _console().print(table)
    return 0


def _target_of(args: argparse.Namespace) -> str | None:
    """The URL option, read from standard input when it is `-` (it holds tokens: out of the
    shell's history and the process list)."""
    url: str | None = args.url
    if url == "-":
        url = sys.stdin.readline().strip()
        if not url:
            raise UsageError("expected the channel's URL on standard input")
    return url


def _channels_add(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _add_channel(api, args))


async def _add_channel(api: ApiClient, args: argparse.Namespace) -> int:
    from ..client import ApiError

    url = _target_of(args)
    assert url is not None
    try:
        made = await api.add_channel(
            args.name,
            args.type,
            url,
            is_default=args.default,
            send_resolved=not args.no_resolved,
            resend_every=args.resend_every,
        )
    except ApiError as exc:
        if exc.status != 422:
            raise
        _fail(exc.detail)
        return 1
    c = made.channel
    default = ", default" if c.is_default else ""
    print(_printable(f"added channel {c.id}: {c.name} ({c.type}, {c.target_hint}{default})"))
    if made.secret is not None:
        print(_printable(f"webhook secret (shown only now): {made.secret}"))
    return 0


def _channels_edit(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _edit_channel(api, args))


async def _edit_channel(api: ApiClient, args: argparse.Namespace) -> int:
    from ..client import UNSET, ApiError, Unset

    channel = await find_channel(api, args.channel)
    resend: int | Unset | None = UNSET
    if args.no_reminders:
        resend = None
    elif args.resend_every is not None:
        resend = args.resend_every
    try:
        change = await api.update_channel(
            channel.id,
            name=args.name,
            url=_target_of(args),
            is_default=args.default,
            send_resolved=args.resolved,
            resend_every=resend,
            rotate_secret=args.rotate_secret,
        )
    except ApiError as exc:
        if exc.status != 422:
            raise
        _fail(exc.detail)
        return 1
    if change.changed:
        print(_printable(f"changed channel {channel.id}: {', '.join(change.changed)}"))
    else:
        print(_printable(f"channel {channel.id} unchanged"))
    if change.secret is not None:
        print(_printable(f"new webhook secret (shown only now): {change.secret}"))
    return 0


def _channels_delete(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _delete_channel(api, args))


async def _delete_channel(api: ApiClient, args: argparse.Namespace) -> int:
    from ..client import ApiError

    channel = await find_channel(api, args.channel)
    try:
        await api.delete_channel(channel.id, force=args.force)
    except ApiError as exc:
        if exc.status != 409:
            raise
        _fail(f"{exc.detail}; --force detaches them")
        return 1
    print(_printable(f"deleted channel {channel.id}: {channel.name}"))
    return 0


def _channels_test(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _test_channel(api, args))


async def _test_channel(api: ApiClient, args: argparse.Namespace) -> int:
    channel = await find_channel(api, args.channel)
    outcome = await api.test_channel(channel.id)
    if args.json:
        _print_json({"channel": channel.name, "ok": outcome.ok, "detail": outcome.detail})
    else:
        verdict = "sent" if outcome.ok else "failed"
        print(_printable(f"test to {channel.name}: {verdict}: {outcome.detail}"))
    return 0 if outcome.ok else 1


# --- incidents ----------------------------------------------------------------------------------


def _incidents(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _list_incidents(api, args))


async def _list_incidents(api: ApiClient, args: argparse.Namespace) -> int:
    state = "all" if args.all else "open"
    page = await api.incidents(
        state=state, limit=args.limit, offset=args.offset, monitor_id=args.monitor
    )
    if args.json:
        _print_json(
            {
                "items": [dataclasses.asdict(i) for i in page.items],
                "total": page.total,
                "limit": page.limit,
                "offset": page.offset,
            }
        )
        return 0
    what = "open incidents" if state == "open" else "incidents"
    if not page.items:
        print(f"no {what}" + (f" at offset {args.offset:,}" if args.offset else ""))
        return 0
    _print_incidents(page.items)
    first, last = args.offset + 1, args.offset + len(page.items)
    more = f"; next page: --offset {last}" if last < page.total else ""
    print(f"{what} {first:,}-{last:,} of {page.total:,}{more}")
    return 0


def _print_incidents(incidents: list[Incident]) -> None:
    from rich.table import Table

    table = Table()
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("monitor", overflow="fold")
    table.add_column("state", no_wrap=True)
    table.add_column("started (UTC)", no_wrap=True)
    table.add_column("down for", no_wrap=True)
    table.add_column("cause", overflow="fold")
    for i in incidents:
        monitor = i.monitor_name or f"monitor {i.monitor_id} (deleted)"
        cause = ": ".join(part for part in (i.cause, i.detail) if part)
        table.add_row(
            str(i.id),
            _cell(monitor),
            i.state,
            _when(i.started_at),
            _span(i.duration_s),
            _cell(cause or "-"),
        )
    _console().print(table)


def _incident(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _show_incident(api, args))


async def _show_incident(api: ApiClient, args: argparse.Namespace) -> int:
    detail = await api.get_incident(args.id)
    i = detail.incident
    if args.json:
        _print_json(
            {
                **dataclasses.asdict(i),
                "notifications": [dataclasses.asdict(n) for n in detail.notifications],
            }
        )
        return 0
    lines = [
        f"incident {i.id}: {i.state}",
        f"monitor: {i.monitor_name or '(deleted)'} (monitor {i.monitor_id})"
        + (f" {i.url}" if i.url else ""),
        f"started: {_when(i.started_at)} UTC; threshold reached {_when(i.opened_at)} UTC",
    ]
    if i.resolved_at is not None:
        lines.append(f"resolved: {_when(i.resolved_at)} UTC ({i.resolution or '-'})")
    lines.append(f"down for: {_span(i.duration_s)}")
    if i.cause or i.detail:
        lines.append(f"first failure: {': '.join(p for p in (i.cause, i.detail) if p)}")
    for line in lines:
        print(_printable(line))
    if not detail.notifications:
        print("notifications: none")
        return 0
    from rich.table import Table

    table = Table(title="notifications", title_justify="left")
    table.add_column("kind", no_wrap=True)
    table.add_column("channel", overflow="fold")
    table.add_column("state", no_wrap=True)
    table.add_column("attempts", justify="right", no_wrap=True)
    table.add_column("sent (UTC)", no_wrap=True)
    table.add_column("last error", overflow="fold")
    for n in detail.notifications:
        table.add_row(
            n.kind,
            _cell(n.channel or f"channel {n.channel_id} (deleted)"),
            n.state,
            str(n.attempts),
            _when(n.sent_at),
            _cell(n.last_error or ""),
        )
    _console().print(table)
    return 0


# --- maintenance --------------------------------------------------------------------------------


def _maintenance_list(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _list_windows(api, args))


async def _list_windows(api: ApiClient, args: argparse.Namespace) -> int:
    windows = await api.list_windows(args.monitor)
    if args.json:
        _print_json({"items": [dataclasses.asdict(w) for w in windows], "total": len(windows)})
        return 0
    if not windows:
        print("no maintenance windows")
        return 0
    _print_windows(windows)
    return 0


def _print_windows(windows: list[MaintenanceWindow]) -> None:
    from rich.table import Table

    table = Table()
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("monitor", no_wrap=True)
    table.add_column("when", overflow="fold")
    table.add_column("lasts", no_wrap=True)
    table.add_column("active", no_wrap=True)
    table.add_column("next start (UTC)", no_wrap=True)
    table.add_column("note", overflow="fold")
    for w in windows:
        when = f"{w.cron} ({w.timezone})" if w.cron else f"{_when(w.starts_at)} UTC"
        active = f"until {_when(w.ends_at)}" if w.active else "no"
        table.add_row(
            str(w.id),
            "all" if w.monitor_id is None else str(w.monitor_id),
            _cell(when),
            _span(w.duration),
            active,
            _when(w.next_start),
            _cell(w.note),
        )
    _console().print(table)


def _maintenance_add(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _add_window(api, args))


async def _add_window(api: ApiClient, args: argparse.Namespace) -> int:
    from ..client import ApiError

    try:
        window = await api.add_window(
            duration=args.duration,
            starts_at=args.at,
            cron=args.cron,
            timezone=args.timezone,
            monitor_id=args.monitor,
            note=args.note,
        )
    except ApiError as exc:
        if exc.status != 422:
            raise
        _fail(exc.detail)
        return 1
    who = "every monitor" if window.monitor_id is None else f"monitor {window.monitor_id}"
    print(
        _printable(
            f"added maintenance window {window.id} for {who}; next start"
            f" {_when(window.next_start)} UTC" + (", active now" if window.active else "")
        )
    )
    return 0


def _maintenance_delete(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _delete_windows(api, args.ids))


async def _delete_windows(api: ApiClient, ids: list[int]) -> int:
    from ..client import ApiError

    code = 0
    for window_id in ids:
        try:
            await api.delete_window(window_id)
        except ApiError as exc:
            if exc.key_refused or exc.status >= 500:
                raise
            _fail(exc.detail)
            code = 1
            continue
        print(f"deleted maintenance window {window_id}")
    return code


# --- the parsers --------------------------------------------------------------------------------


def add_alerting_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    connection: argparse.ArgumentParser,
    bounded: Any,
) -> None:
    """Register `channels`, `incidents`, `incident` and `maintenance` (remote.add_commands)."""
    positive_id = bounded(1, 2**31 - 1)
    channels = commands.add_parser(
        "channels",
        help="list, add, edit, delete and test notification channels, through the API",
        description="Channels are told of incidents: an Apprise URL (slack://, mailto://,"
        " json://, ntfys://, ...) or our signed webhook. Their URLs hold tokens: the API keeps"
        " them encrypted and shows only a hint. A channel is named by its name or id.",
    )
    actions = channels.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", parents=[connection], help="list the channels")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(run=_channels_list)

    add = actions.add_parser(
        "add",
        parents=[connection],
        help="add a channel",
        description="Add channel NAME of TYPE sending to URL ('-': read it from standard input,"
        " which keeps its tokens out of the shell history). A webhook channel's signing secret"
        " is printed once.",
    )
    add.add_argument("name")
    add.add_argument("type", choices=("apprise", "webhook"))
    add.add_argument("url", help="the Apprise or webhook URL, or - to read it from stdin")
    add.add_argument("--default", action="store_true", help="told of monitors naming no channel")
    add.add_argument("--no-resolved", action="store_true", help="not told when resolved")
    add.add_argument(
        "--resend-every",
        type=duration_option,
        metavar="DURATION",
        help="remind while an incident stays open, e.g. 1h (default: never)",
    )
    add.set_defaults(run=_channels_add)

    edit = actions.add_parser(
        "edit", parents=[connection], help="change a channel; keep what no option names"
    )
    edit.add_argument("channel", metavar="CHANNEL", help="its name or id")
    edit.add_argument("--name")
    edit.add_argument("--url", help="a new URL, or - to read it from stdin")
    edit.add_argument("--default", dest="default", action="store_true", default=None)
    edit.add_argument("--no-default", dest="default", action="store_false")
    edit.add_argument("--resolved", dest="resolved", action="store_true", default=None)
    edit.add_argument("--no-resolved", dest="resolved", action="store_false")
    edit.add_argument("--resend-every", type=duration_option, metavar="DURATION")
    edit.add_argument("--no-reminders", action="store_true", help="turn reminders off")
    edit.add_argument(
        "--rotate-secret", action="store_true", help="a webhook's new secret, printed once"
    )
    edit.set_defaults(run=_channels_edit)

    delete = actions.add_parser("delete", parents=[connection], help="delete a channel")
    delete.add_argument("channel", metavar="CHANNEL", help="its name or id")
    delete.add_argument(
        "--force", action="store_true", help="even if monitors name it (they then use defaults)"
    )
    delete.set_defaults(run=_channels_delete)

    test = actions.add_parser(
        "test",
        parents=[connection],
        help="send a test message; exit code 1 when it was not sent",
    )
    test.add_argument("channel", metavar="CHANNEL", help="its name or id")
    test.add_argument("--json", action="store_true", help="print JSON")
    test.set_defaults(run=_channels_test)

    incidents = commands.add_parser(
        "incidents",
        parents=[connection],
        help="the open incidents (--all: every one), newest first, through the API",
    )
    incidents.add_argument("--all", action="store_true", help="resolved ones too")
    incidents.add_argument("--monitor", type=positive_id, metavar="ID", help="only this monitor's")
    incidents.add_argument("--limit", type=bounded(1, 1000), default=100, help="per page, 1-1000")
    incidents.add_argument("--offset", type=bounded(0), default=0, help="incidents to skip")
    incidents.add_argument("--json", action="store_true", help="print JSON instead of a table")
    incidents.set_defaults(run=_incidents)

    incident = commands.add_parser(
        "incident", parents=[connection], help="one incident and its notifications"
    )
    incident.add_argument("id", type=positive_id, metavar="ID")
    incident.add_argument("--json", action="store_true", help="print JSON")
    incident.set_defaults(run=_incident)

    maintenance = commands.add_parser(
        "maintenance",
        help="list, add and delete maintenance windows, through the API",
        description="In a maintenance window checks go on and incidents are recorded, but"
        " nobody is told until it ends (and then only of incidents still open).",
    )
    windows = maintenance.add_subparsers(dest="action", required=True, metavar="ACTION")
    wlist = windows.add_parser("list", parents=[connection], help="list the windows")
    wlist.add_argument(
        "--monitor", type=positive_id, metavar="ID", help="this monitor's, and all's"
    )
    wlist.add_argument("--json", action="store_true", help="print JSON instead of a table")
    wlist.set_defaults(run=_maintenance_list)

    wadd = windows.add_parser(
        "add",
        parents=[connection],
        help="add a window: once (--at) or recurring (--cron)",
        description="A one-off window from --at (ISO 8601 with an offset, e.g."
        " 2030-05-10T02:00:00Z), or a recurring one starting at each --cron time (5 fields, e.g."
        " '0 2 * * SUN') in --timezone; each lasts --duration.",
    )
    when = wadd.add_mutually_exclusive_group(required=True)
    when.add_argument("--at", metavar="TIME", help="ISO 8601 start with an offset or Z")
    when.add_argument("--cron", metavar="EXPR", help="e.g. '0 2 * * SUN'")
    wadd.add_argument("--duration", type=duration_option, required=True, help="e.g. 2h, 90m, 3600")
    wadd.add_argument("--timezone", default="UTC", help="IANA name the cron is read in")
    wadd.add_argument("--monitor", type=positive_id, metavar="ID", help="default: every monitor")
    wadd.add_argument("--note", default="", help="why, for whoever reads it")
    wadd.set_defaults(run=_maintenance_add)

    wdelete = windows.add_parser("delete", parents=[connection], help="delete windows by id")
    wdelete.add_argument("ids", nargs="+", type=positive_id, metavar="ID")
    wdelete.set_defaults(run=_maintenance_delete)
