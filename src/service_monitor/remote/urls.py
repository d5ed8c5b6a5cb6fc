"""The `service-monitor urls list|add|show|edit|remove` commands: browse, add, inspect, change and remove monitors through the API."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import TYPE_CHECKING, Any

from ..check_spec import HTTP_METHODS
from .alerting import parse_duration
from .output import _cell, _console, _printable
from .session import _fail, _run

if TYPE_CHECKING:
    from pydantic import ValidationError

    from ..check_spec import CheckSpec
    from ..client import ApiClient, CheckResult, Monitor, RegionStatus

MAX_PAGE = 1000  # the API's largest `limit`


def _urls_list(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _list(api, args))


async def _list(api: ApiClient, args: argparse.Namespace) -> int:
    limit = args.limit or (MAX_PAGE if args.all else 100)
    owner = getattr(args, "owner", None)
    page = await api.list_urls(limit, args.offset, args.search, owner=owner)
    items, total = list(page.items), page.total
    if args.all:
        seen = {m.id for m in items}
        offset = args.offset + len(page.items)
        while page.items and offset < page.total:
            page = await api.list_urls(limit, offset, args.search, owner=owner)
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
    if owner is not None:
        matching += f" owned by {owner!r}"
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
    check = monitor.check.public()  # already redacted by the API; public() keeps it so
    return {
        "id": monitor.id,
        "name": monitor.name,
        "url": monitor.url,
        "created_at": monitor.created_at,
        "state": monitor.state,
        "request": check["request"],
        "assertions": check["assertions"],
        "degraded_after_ms": check["degraded_after_ms"],
        "owner": monitor.owner,
        "health": dataclasses.asdict(monitor.health),
        "failure_threshold": monitor.failure_threshold,
        "success_threshold": monitor.success_threshold,
        "thresholds": (
            None
            if monitor.thresholds is None
            else {"failure": monitor.thresholds[0], "success": monitor.thresholds[1]}
        ),
        "channels": list(monitor.channels),
        "interval": monitor.interval,
        "interval_is_default": monitor.interval_is_default,
        "regions": list(monitor.regions),
        "regions_are_default": monitor.regions_are_default,
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
    table.add_column("health", no_wrap=True)
    table.add_column("created (UTC)")
    table.add_column("every", no_wrap=True)
    table.add_column("check", overflow="fold")
    for m in monitors:
        created = m.created_at.replace("T", " ")[:19]
        table.add_row(
            str(m.id),
            _cell(m.name),
            _cell(m.url),
            m.state,
            m.health.state,
            created,
            "-" if m.interval is None else duration_text(m.interval),
            _check_summary(m),
        )
    _console().print(table)


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


# --- the check's options, shared by `urls add` and `urls edit` -----------------------------------


def parse_assertion(text: str) -> dict[str, Any]:
    """An --assert option as the API's assertion object: JSON ('{"type": "status", ...}'), or the
    short forms `status 2xx,301`, `body contains TEXT` (not_contains, matches, not_matches),
    `json PATH OP [VALUE]` (VALUE read as JSON when it is, else as text), `header NAME OP TEXT`,
    `latency MS`, `tls DAYS`. The API checks the rest; ValueError when it has no such form."""
    text = text.strip()
    if text.startswith("{"):
        value = json.loads(text)
        if not isinstance(value, dict):
            raise ValueError("expected a JSON object")
        return value
    kind, _, rest = text.partition(" ")
    rest = rest.strip()
    if kind == "status" and rest:
        codes: list[int | str] = [
            int(c) if c.strip().isdigit() else c.strip() for c in rest.split(",") if c.strip()
        ]
        return {"type": "status", "codes": codes}
    if kind == "body":
        op, _, value = rest.partition(" ")
        if op and value:
            return {"type": "body", "op": op, "value": value}
    if kind == "json":
        parts = rest.split(" ", 2)
        if len(parts) >= 2:
            found: dict[str, Any] = {"type": "json", "path": parts[0], "op": parts[1]}
            if len(parts) == 3:
                try:
                    found["value"] = json.loads(parts[2])
                except ValueError:
                    found["value"] = parts[2]
            return found
    if kind == "header":
        parts = rest.split(" ", 2)
        if len(parts) == 3:
            return {"type": "header", "name": parts[0], "op": parts[1], "value": parts[2]}
    if kind == "latency" and rest.isdigit():
        return {"type": "latency", "below_ms": int(rest)}
    if kind == "tls" and rest.isdigit():
        return {"type": "tls", "min_days": int(rest)}
    raise ValueError(
        "expected JSON, or one of: 'status 2xx,301', 'body contains TEXT', 'json $.path equals"
        " VALUE', 'header NAME contains TEXT', 'latency MS', 'tls DAYS'"
    )


def _assertion_option(text: str) -> dict[str, Any]:
    try:
        return parse_assertion(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def _header_option(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text[:40]!r}")
    return name.strip(), value.strip()


def add_check_options(parser: argparse.ArgumentParser) -> None:
    """The options that set a monitor's check and owner (`urls add`, `urls edit`)."""
    group = parser.add_argument_group(
        "the check", "what each check sends and what its answer must show"
    )
    group.add_argument("--method", choices=HTTP_METHODS, help="default: GET")
    group.add_argument(
        "--header",
        type=_header_option,
        action="append",
        metavar="'NAME: VALUE'",
        help="a header to send (repeat for more); Authorization, Cookie and"
        " Proxy-Authorization are secret: shown redacted",
    )
    group.add_argument(
        "--secret-header",
        action="append",
        metavar="NAME",
        help="a header whose value is secret too: shown redacted, never logged",
    )
    group.add_argument("--body", help="the request body, sent as UTF-8 (not with HEAD)")
    group.add_argument("--content-type", help="the body's Content-Type")
    group.add_argument(
        "--check-timeout",
        dest="check_timeout",
        type=float,
        metavar="SECONDS",
        help="seconds the check may take (default and most: the server's TIMEOUT)",
    )
    group.add_argument(
        "--no-follow-redirects",
        dest="follow_redirects",
        action="store_false",
        default=None,
        help="judge a redirect as the answer",
    )
    group.add_argument(
        "--follow-redirects", dest="follow_redirects", action="store_true", default=None
    )
    group.add_argument(
        "--assert",
        dest="assertions",
        type=_assertion_option,
        action="append",
        metavar="ASSERTION",
        help="a condition the answer must meet (repeat for more; all must hold): 'status"
        " 2xx,301', 'body contains TEXT', 'body not_matches REGEX', 'json $.status equals ok',"
        " 'header Content-Type contains json', 'latency 500', 'tls 14', or the API's JSON",
    )
    group.add_argument(
        "--degraded-after",
        type=int,
        metavar="MS",
        help="a passing answer slower than this is a success flagged degraded",
    )
    group.add_argument("--owner", help="a label for the monitors one file manages (apply)")


DEFAULT_WORD = "default"
UNSET_OPTION = object()  # an alerting option not given: left as it is


def _threshold_option(text: str) -> int | None:
    """A threshold: a whole number 1 to 100, or `default` (None: the server's default)."""
    if text.strip().lower() == DEFAULT_WORD:
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 1 to 100 or 'default', got {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be 1 to 100 or 'default', got {value}")
    return value


def add_alerting_options(parser: argparse.ArgumentParser, *, edit: bool) -> None:
    """The options that set when a monitor is down or up and who is told (`urls add`, `edit`)."""
    group = parser.add_argument_group(
        "alerting", "when the monitor is down or up again, and which channels are told"
    )
    group.add_argument(
        "--failure-threshold",
        type=_threshold_option,
        default=UNSET_OPTION,
        metavar="N",
        help="consecutive failed checks that make it down, 1-100 ('default': the server's)",
    )
    group.add_argument(
        "--success-threshold",
        type=_threshold_option,
        default=UNSET_OPTION,
        metavar="N",
        help="consecutive successes that make it up again, 1-100 ('default': the server's)",
    )
    group.add_argument(
        "--channel",
        dest="channels",
        action="append",
        metavar="NAME",
        help="a channel told of its incidents (repeat for more; none: the default channels)"
        + ("; replaces the channels it names" if edit else ""),
    )
    if edit:
        group.add_argument(
            "--no-channels",
            action="store_true",
            help="name no channel: the default channels are told",
        )


MIN_INTERVAL_S, MAX_INTERVAL_S = 60, 86_400  # as the API's (due.py)


def parse_interval(text: str) -> int:
    """An interval in seconds: `90`, `90s`, `5m`, `1h`, `1d` or `1h30m`, a minute to a day;
    ValueError otherwise."""
    seconds = parse_duration(text)
    if not MIN_INTERVAL_S <= seconds <= MAX_INTERVAL_S:
        raise ValueError(f"must be a minute to a day (60 to 86400 seconds), got {seconds} s")
    return seconds


def _interval_option(text: str) -> int:
    try:
        return parse_interval(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _regions_option(text: str) -> list[str]:
    """`eu,us`: the region names (the API says which it knows)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected region names separated by commas, e.g. eu,us")
    return names


def duration_text(seconds: int) -> str:
    """60 -> "1m", 5400 -> "90m", 7200 -> "2h", 45 -> "45s"."""
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def add_schedule_options(parser: argparse.ArgumentParser, *, edit: bool) -> None:
    """The options that set how often a monitor is checked and from where (`urls add`, `edit`)."""
    group = parser.add_argument_group(
        "schedule", "how often it is checked, and from which regions (GET /regions lists them)"
    )
    group.add_argument(
        "--interval",
        type=_interval_option,
        metavar="SECONDS",
        help="time between two checks: seconds, or 90s, 5m, 1h, 1d; a minute to a day"
        " (default: the server's CYCLE_INTERVAL)",
    )
    group.add_argument(
        "--regions",
        type=_regions_option,
        metavar="NAMES",
        help="the regions it is probed from, comma-separated: eu,us (default: every region)",
    )
    if edit:
        group.add_argument(
            "--default-interval",
            action="store_true",
            help="no interval of its own: the server's CYCLE_INTERVAL",
        )
        group.add_argument(
            "--all-regions", action="store_true", help="no regions of its own: every region"
        )


def _schedule(args: argparse.Namespace) -> dict[str, Any]:
    """update_url's / add_url's schedule arguments the options give (none: left as it is)."""
    found: dict[str, Any] = {}
    if getattr(args, "default_interval", False):
        found["interval"] = None
    elif getattr(args, "interval", None) is not None:
        found["interval"] = args.interval
    if getattr(args, "all_regions", False):
        found["regions"] = None
    elif getattr(args, "regions", None) is not None:
        found["regions"] = args.regions
    return found


def _option(args: argparse.Namespace, name: str) -> Any:
    return getattr(args, name, UNSET_OPTION)


def _request(base: dict[str, Any], args: argparse.Namespace) -> dict[str, Any] | None:
    """`base` (the API's request object) with the options given; None when none is."""
    given = [
        args.method,
        args.header,
        args.secret_header,
        args.body,
        args.content_type,
        args.check_timeout,
        args.follow_redirects,
        getattr(args, "remove_header", None),
    ]
    if all(option is None for option in given):
        return None
    request = {**base, "headers": dict(base.get("headers") or {})}
    for name in getattr(args, "remove_header", None) or []:
        request["headers"] = {
            k: v for k, v in request["headers"].items() if k.lower() != name.lower()
        }
        request["secret_headers"] = [
            n for n in request.get("secret_headers") or [] if n.lower() != name.lower()
        ]
    for name, value in args.header or []:
        # Replaces a header of that name whatever its case: names are case-insensitive.
        request["headers"] = {
            k: v for k, v in request["headers"].items() if k.lower() != name.lower()
        }
        request["headers"][name] = value
    if args.secret_header:
        request["secret_headers"] = [*(request.get("secret_headers") or []), *args.secret_header]
    for option, key in (
        ("method", "method"),
        ("body", "body"),
        ("content_type", "content_type"),
        ("check_timeout", "timeout_s"),
        ("follow_redirects", "follow_redirects"),
    ):
        if getattr(args, option) is not None:
            request[key] = getattr(args, option)
    return request


def _check_of(
    request: dict[str, Any] | None, assertions: list[dict[str, Any]] | None, degraded: int | None
) -> CheckSpec:
    from ..check_spec import CheckSpec

    return CheckSpec.model_validate(
        {"request": request or {}, "assertions": assertions or [], "degraded_after_ms": degraded}
    )


def spec_problems(exc: ValidationError) -> str:
    """A check's validation errors worded as the API words its 422: "field: reason; ..."."""
    from ..check_spec import SpecLimitError

    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = tuple(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, SpecLimitError):
            loc += cause.loc
        where = ".".join(str(part) for part in loc) or "check"
        parts.append(f"{where}: {str(error['msg']).removeprefix('Value error, ')}")
    return "; ".join(parts)


def _check_summary(monitor: Monitor) -> str:
    """The check in a few words: "default" (a GET, success below 400), or its method, how many
    assertions, its degraded limit, and the owner."""
    check = monitor.check
    parts: list[str] = ["default"] if check.is_default else [check.request.method]
    if check.assertions:
        count = len(check.assertions)
        parts.append(f"{count} assertion{'s' if count > 1 else ''}")
    if check.degraded_after_ms is not None:
        parts.append(f"degraded > {check.degraded_after_ms} ms")
    if monitor.owner is not None:
        parts.append(f"owner {_printable(monitor.owner)}")
    if monitor.channels:
        parts.append(f"channels {_printable(', '.join(monitor.channels))}")
    return ", ".join(parts)


def _urls_add(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    try:
        check = _check_of(_request({}, args), args.assertions, args.degraded_after)
    except ValidationError as exc:
        _fail(spec_problems(exc))
        return 1
    alerting: dict[str, Any] = {}
    for name in ("failure_threshold", "success_threshold"):
        value = _option(args, name)
        if value is not UNSET_OPTION and value is not None:
            alerting[name] = value
    if getattr(args, "channels", None):
        alerting["channels"] = args.channels
    alerting |= _schedule(args)
    return _run(args, lambda api: _add(api, args.name, args.url, check, args.owner, **alerting))


async def _add(
    api: ApiClient,
    name: str,
    url: str,
    check: CheckSpec | None = None,
    owner: str | None = None,
    **alerting: Any,
) -> int:
    from ..client import ApiError

    try:
        monitor = await api.add_url(name, url, check=check, owner=owner, **alerting)
    except ApiError as exc:
        if exc.status != 409:
            raise
        same = "" if check is None or check.is_default else " with the same check"
        print(_printable(f"already monitored{same} as monitor {exc.existing_id}: {url}"))
        return 0
    print(_printable(f"added monitor {monitor.id}: {monitor.name} {monitor.url} ({monitor.state})"))
    return 0


def _urls_edit(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _edit(api, args))


async def _edit(api: ApiClient, args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from ..client import UNSET, Unset

    current = (await api.get_url(args.id)).monitor
    shown = current.check.public()  # secrets as REDACTED: sent back, the API keeps their values
    request = _request(shown["request"], args)
    if args.clear_assertions:
        assertions: list[dict[str, Any]] | None = []
    else:
        assertions = args.assertions
    degraded: int | Unset | None = UNSET
    if args.no_degraded:
        degraded = None
    elif args.degraded_after is not None:
        degraded = args.degraded_after
    owner: str | Unset | None = UNSET
    if args.no_owner:
        owner = None
    elif args.owner is not None:
        owner = args.owner
    check = None
    if request is not None or assertions is not None or not isinstance(degraded, Unset):
        try:
            check = _check_of(
                shown["request"] if request is None else request,
                shown["assertions"] if assertions is None else assertions,
                shown["degraded_after_ms"] if isinstance(degraded, Unset) else degraded,
            )
        except ValidationError as exc:
            _fail(spec_problems(exc))
            return 1
    alerting: dict[str, Any] = {}
    for name in ("failure_threshold", "success_threshold"):
        value = _option(args, name)
        if value is not UNSET_OPTION:
            alerting[name] = value
    if getattr(args, "no_channels", False):
        alerting["channels"] = []
    elif getattr(args, "channels", None):
        alerting["channels"] = args.channels
    alerting |= _schedule(args)
    change = await api.update_url(
        args.id,
        name=args.name,
        url=args.url,
        check=check,
        owner=owner,
        dry_run=args.dry_run,
        **alerting,
    )
    verb = "would change" if args.dry_run else "changed"
    if change.changed:
        print(_printable(f"{verb} monitor {args.id}: {', '.join(change.changed)}"))
    else:
        print(f"monitor {args.id} unchanged")
    return 0


def _urls_show(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _show(api, args))


async def _show(api: ApiClient, args: argparse.Namespace) -> int:
    detail = await api.get_url(args.id)
    monitor = detail.monitor
    region = getattr(args, "region", None)
    checks = detail.checks
    if region is not None:  # that region's newest checks (422 for an unknown one)
        checks = await api.checks(args.id, region=region)
    if args.json:
        body = {
            **_monitor_json(monitor),
            "counts": {
                window: {"success": c.success, "fail": c.fail, "degraded": c.degraded}
                for window, c in detail.counts.items()
            },
            "tls_days_left": detail.tls_days_left,
            "regions_status": [dataclasses.asdict(r) for r in detail.regions_status],
            "checks": [dataclasses.asdict(c) for c in checks],
        }
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return 0
    spec = monitor.check.public()
    request = spec["request"]
    lines = [
        f"monitor {monitor.id}: {monitor.name}",
        f"url: {monitor.url}",
        f"state: {monitor.state}; created {monitor.created_at.replace('T', ' ')[:19]} UTC",
        f"owner: {monitor.owner or '-'}",
        f"request: {request['method']}"
        + (f", timeout {request['timeout_s']:g} s" if request["timeout_s"] else "")
        + ("" if request["follow_redirects"] else ", redirects not followed"),
    ]
    lines += [f"  header {name}: {value}" for name, value in request["headers"].items()]
    if request["body"] is not None:
        kind = f" ({request['content_type']})" if request["content_type"] else ""
        lines.append(f"  body{kind}: {request['body'][:200]}")
    if spec["assertions"]:
        lines.append("assertions:")
        lines += [f"  {_assertion_text(a)}" for a in spec["assertions"]]
    else:
        lines.append("assertions: none (success: a final status below 400)")
    if spec["degraded_after_ms"] is not None:
        lines.append(f"degraded after: {spec['degraded_after_ms']} ms")
    lines += [_health_line(monitor), _alerting_line(monitor), _schedule_line(monitor)]
    if detail.tls_days_left is not None:
        lines.append(f"TLS certificate: {detail.tls_days_left} days left")
    for window in ("hour", "week", "month"):
        if window in detail.counts:
            c = detail.counts[window]
            lines.append(
                f"past {window}: {c.success:,} success ({c.degraded:,} degraded), {c.fail:,} fail"
            )
    for line in lines:
        print(_printable(line))
    if detail.regions_status:
        _print_regions(detail.regions_status)
    if checks:
        _print_checks(checks, region)
    elif region is not None:
        print(_printable(f"no check from {region} yet"))
    return 0


def _schedule_line(monitor: Monitor) -> str:
    if monitor.interval is None:
        every = "every cycle"
    else:
        every = f"every {duration_text(monitor.interval)}"
        every += " (the default)" if monitor.interval_is_default else ""
    where = ", ".join(monitor.regions) or "-"
    where += " (every region)" if monitor.regions_are_default else ""
    return f"schedule: {every}, from {where}"


def _print_regions(regions: list[RegionStatus]) -> None:
    from rich.table import Table

    table = Table(title="regions", title_justify="left")
    table.add_column("region", no_wrap=True)
    table.add_column("last check (UTC)", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("past day", no_wrap=True)
    for status in regions:
        last = status.last_check
        name = status.region + ("" if status.scheduled else " (no longer)")
        table.add_row(
            _cell(name),
            "-" if last is None else last.checked_at.replace("T", " ")[:19],
            "-" if last is None else last.status,
            f"{status.day.success:,} ok, {status.day.fail:,} failed",
        )
    _console().print(table)


def _health_line(monitor: Monitor) -> str:
    health = monitor.health
    line = f"health: {health.state}"
    if health.since is not None:
        line += f" since {health.since.replace('T', ' ')[:19]} UTC"
    if health.failures or health.successes:
        run = health.failures or health.successes
        line += f" ({run} {'failed' if health.failures else 'successful'} in a row)"
    if health.incident_id is not None:
        line += f"; open incident {health.incident_id}"
    return line


def _alerting_line(monitor: Monitor) -> str:
    parts = []
    if monitor.thresholds is not None:
        failure, success = monitor.thresholds
        own = monitor.failure_threshold is not None or monitor.success_threshold is not None
        parts.append(
            f"down after {failure} failures, up after {success} successes"
            + ("" if own else " (the defaults)")
        )
    channels = ", ".join(monitor.channels) if monitor.channels else "the default channels"
    parts.append(f"told: {channels}")
    return "alerting: " + "; ".join(parts)


def _assertion_text(assertion: dict[str, Any]) -> str:
    kind = assertion["type"]
    if kind == "status":
        return "status " + ", ".join(str(c) for c in assertion["codes"])
    if kind == "body":
        return f"body {assertion['op']} {assertion['value']!r}"
    if kind == "json":
        value = "" if assertion.get("value") is None else f" {json.dumps(assertion['value'])}"
        return f"json {assertion['path']} {assertion['op']}{value}"
    if kind == "header":
        return f"header {assertion['name']} {assertion['op']} {assertion['value']!r}"
    if kind == "latency":
        return f"latency below {assertion['below_ms']} ms"
    if kind == "tls":
        return f"TLS certificate valid for at least {assertion['min_days']} days"
    return json.dumps(assertion)


def _print_checks(checks: list[CheckResult], region: str | None = None) -> None:
    from rich.table import Table

    title = "newest checks" + ("" if region is None else f" from {region}")
    table = Table(title=title, title_justify="left")
    table.add_column("checked (UTC)", no_wrap=True)
    table.add_column("region", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("http", justify="right", no_wrap=True)
    table.add_column("ms", justify="right", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for check in checks:
        status = check.status + (" (degraded)" if check.degraded else "")
        table.add_row(
            check.checked_at.replace("T", " ")[:19],
            _cell(check.region),
            status,
            "-" if check.http_status is None else str(check.http_status),
            str(check.latency_ms),
            _cell(check.detail or ""),
        )
    _console().print(table)
