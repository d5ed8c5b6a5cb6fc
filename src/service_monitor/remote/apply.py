"""The `service-monitor apply FILE.yaml` command: make the API's monitors of one owner what a file says, over HTTP, so it works against any deployment.

Each monitor of the file is matched by name among the API's monitors with the file's `owner`:
- none: it is added (POST), with the owner. If the API already monitors that URL with that check
  (409) and that monitor has no owner, or is this owner's and no longer listed (a rename), it is
  taken over: changed to the file's name and fields;
- one: it is changed (PATCH) to the file's fields. The API answers which fields differed (secret
  header values compared too), so applying the same file twice changes nothing and says so;
- the owner's monitors the file no longer lists are deleted with `--prune`, else only named.

`--dry-run` sends the changes as PATCH dry runs and adds nothing: it prints what would change.
Every entry is first checked with the API's own rules (check_spec.py, models.py): one bad entry
stops the run before anything is sent. Errors are `FILE:LINE: reason`, the line of the value
the reason is about, the reason the API's own words.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..alerts import MAX_THRESHOLD
from ..check_spec import CheckSpec, SpecLimitError, monitor_key
from ..models import url_key, validate_name, validate_url
from ..monitor_files import FileMonitor, FileProblem, MonitorsFile, read_monitors_yaml
from .output import _printable
from .session import DEFAULT_CONCURRENCY, _fail, _run
from .urls import parse_interval

if TYPE_CHECKING:
    from ..client import ApiClient, ApiError, Monitor

PAGE = 1000  # the API's largest page


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    adopted: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self, dry_run: bool) -> str:
        if dry_run:
            return (
                f"dry run: would create {self.created}, update {self.updated}, take over"
                f" {self.adopted}, delete {self.deleted}; unchanged {self.unchanged};"
                f" failed {self.failed}"
            )
        return (
            f"created {self.created}, updated {self.updated}, taken over {self.adopted},"
            f" deleted {self.deleted}, unchanged {self.unchanged}, failed {self.failed}"
        )


def _pydantic_problems(monitor: FileMonitor, exc: ValidationError) -> list[tuple[int, str]]:
    """Each error as (line, "field: reason"), worded as the API words its 422s."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = tuple(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, SpecLimitError):
            loc = (*loc, *cause.loc)
        msg = str(error["msg"]).removeprefix("Value error, ")
        where = ".".join(str(part) for part in loc) or "monitor"
        problems.append((monitor.line_of(loc), f"{where}: {msg}"))
    return problems


def check_entry(monitor: FileMonitor) -> None:
    """Add to the entry's problems what the API would refuse in it (except what depends on the
    deployment's settings: TIMEOUT, the SSRF guard)."""
    if monitor.problems:
        return
    fields = monitor.fields
    for name, validate in (("name", validate_name), ("url", validate_url)):
        value = fields.get(name)
        if not isinstance(value, str):
            problem = f"{name}: must be a text, got {type(value).__name__}"
            monitor.problems.append((monitor.line_of((name,)), problem))
            continue
        try:
            validate(value)
        except ValueError as exc:
            monitor.problems.append((monitor.line_of((name,)), f"{name}: {exc}"))
    try:
        CheckSpec.model_validate(_check_fields(fields))
    except ValidationError as exc:
        monitor.problems += _pydantic_problems(monitor, exc)
    for name in ("failure_threshold", "success_threshold"):
        value = fields.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_THRESHOLD:
            problem = f"{name}: must be a whole number from 1 to {MAX_THRESHOLD}, got {value!r}"
            monitor.problems.append((monitor.line_of((name,)), problem))
    interval = fields.get("interval")
    if interval is not None:
        try:
            if isinstance(interval, bool) or not isinstance(interval, int | str):
                raise ValueError(f"expected seconds or a text like 5m, got {interval!r}")
            parse_interval(str(interval))
        except ValueError as exc:
            monitor.problems.append((monitor.line_of(("interval",)), f"interval: {exc}"))
    regions = fields.get("regions")
    if regions is not None:
        if not isinstance(regions, list) or not regions:
            problem = (
                "regions: expected a list of region names (leave it out: every region), got"
                f" {regions!r}"
            )
            monitor.problems.append((monitor.line_of(("regions",)), problem))
        else:
            for index, region in enumerate(regions):
                if not isinstance(region, str) or not region.strip():
                    problem = f"regions.{index}: expected a region's name, got {region!r}"
                    monitor.problems.append((monitor.line_of(("regions", index)), problem))
    channels = fields.get("channels")
    if channels is not None:
        if not isinstance(channels, list):
            problem = f"channels: expected a list of channel names, got {type(channels).__name__}"
            monitor.problems.append((monitor.line_of(("channels",)), problem))
        else:
            for index, channel in enumerate(channels):
                if not isinstance(channel, str) or not channel.strip():
                    problem = f"channels.{index}: expected a channel's name, got {channel!r}"
                    monitor.problems.append((monitor.line_of(("channels", index)), problem))


def _check_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "request": fields.get("request") or {},
        "assertions": fields.get("assertions") or [],
        "degraded_after_ms": fields.get("degraded_after_ms"),
    }


def _body(monitor: FileMonitor, owner: str) -> dict[str, Any]:
    """The entry as the API's monitor fields, every one of them: what the file leaves out is the
    default, so a field removed from the file is reset, not kept."""
    check = CheckSpec.model_validate(_check_fields(monitor.fields)).model_dump(mode="json")
    return {
        "name": monitor.fields["name"],
        "url": monitor.fields["url"],
        "request": check["request"],
        "assertions": check["assertions"],
        "degraded_after_ms": check["degraded_after_ms"],
        "owner": owner,
        "failure_threshold": monitor.fields.get("failure_threshold"),
        "success_threshold": monitor.fields.get("success_threshold"),
        "channels": list(monitor.fields.get("channels") or []),
        "interval": _interval(monitor.fields.get("interval")),
        "regions": monitor.fields.get("regions"),
    }


def _interval(value: Any) -> int | None:
    """The entry's interval in seconds (an int, or a text like 5m); None: left out."""
    return None if value is None else parse_interval(str(value))


def _where(source: MonitorsFile, monitor: FileMonitor, exc: ApiError) -> str:
    """`FILE:LINE: reason` for the API's refusal of an entry: the line of the field it names."""
    line = monitor.line
    if exc.errors:
        loc = exc.errors[0].loc[1:]  # ("body", "request", ...) -> ("request", ...)
        line = monitor.line_of(loc)
    reason = exc.detail if exc.status == 422 else f"the API answered {exc.status}: {exc.detail}"
    return f"{source.path}:{line}: {reason}"


async def _owned(api: ApiClient, owner: str) -> list[Monitor]:
    monitors: list[Monitor] = []
    seen: set[int] = set()
    offset = 0
    while True:
        page = await api.list_urls(PAGE, offset, owner=owner)
        # Offsets shift when monitors are added or removed meanwhile: never take one twice.
        monitors += [m for m in page.items if m.id not in seen]
        seen.update(m.id for m in page.items)
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return monitors


def _say(text: str) -> None:
    print(_printable(text))


async def apply_file(
    api: ApiClient,
    source: MonitorsFile,
    *,
    dry_run: bool,
    prune: bool,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> Outcome:
    """Sync the API's monitors of `source.owner` with the file; what was done, and the errors.

    Three steps: every entry is added or changed, `concurrency` requests at a time; then the adds
    the API refused as duplicates (409) are resolved one by one, knowing every monitor the first
    step made (so two entries never take over the same monitor); then the owner's monitors no
    longer listed are pruned or named. What each entry did is printed in file order.
    """
    from ..client import ApiError, ApiUnreachable

    outcome = Outcome()
    owner = source.owner
    owned = await _owned(api, owner)
    by_name: dict[str, Monitor] = {}
    for existing in owned:
        by_name.setdefault(existing.name, existing)  # the oldest, if a name was given twice
    listed = {m.name for m in source.monitors}
    claimed = {by_name[name].id for name in listed if name in by_name}
    said: list[str | None] = [None] * len(source.monitors)
    errors: list[tuple[int, str]] = []
    conflicts: list[tuple[int, ApiError]] = []
    fatal: list[BaseException] = []

    def refused(index: int, exc: ApiError) -> None:
        if exc.key_refused or exc.status >= 500:
            fatal.append(exc)
            return
        outcome.failed += 1
        errors.append((index, _where(source, source.monitors[index], exc)))

    async def sync_one(index: int) -> None:
        body = _body(source.monitors[index], owner)
        name = body["name"]
        current = by_name.get(name)
        if current is not None:
            change = await api.update_url(current.id, dry_run=dry_run, **_patch(body))
            if change.changed:
                outcome.updated += 1
                verb = "would update" if dry_run else "updated"
                said[index] = f"{verb} {name} (monitor {current.id}): {', '.join(change.changed)}"
            else:
                outcome.unchanged += 1
            return
        if dry_run:
            outcome.created += 1
            said[index] = f"would create {name}: {body['url']}"
            return
        try:
            created = await api.add_url(
                name,
                body["url"],
                check=_check(body),
                owner=owner,
                failure_threshold=body["failure_threshold"],
                success_threshold=body["success_threshold"],
                channels=body["channels"],
                interval=body["interval"],
                regions=body["regions"],
            )
        except ApiError as exc:
            if exc.status != 409 or exc.existing_id is None:
                raise
            conflicts.append((index, exc))
            return
        claimed.add(created.id)
        outcome.created += 1
        said[index] = f"created {name} (monitor {created.id}): {created.url}"

    # An entry with the URL and check of an earlier one waits until the concurrent step is done,
    # so the earlier entry makes the monitor and the later one is told so, whichever request
    # would have been faster.
    first, repeats = _first_of_each_monitor(source, owner)
    pending = iter(first)

    async def worker(indexes: Iterator[int]) -> None:
        for index in indexes:  # one iterator shared by the workers: each entry is sent once
            if fatal:
                return
            try:
                await sync_one(index)
            except ApiError as exc:
                refused(index, exc)
            except ApiUnreachable as exc:
                fatal.append(exc)

    workers = min(concurrency, len(first)) or 1
    await asyncio.gather(*(worker(pending) for _ in range(workers)))
    await worker(iter(repeats))
    for index, conflict in sorted(conflicts, key=lambda pair: pair[0]):
        if fatal:
            break
        body = _body(source.monitors[index], owner)
        try:
            taken = await _take_over(api, conflict, body, owner, claimed)
        except ApiError as exc:
            refused(index, exc)
            continue
        if taken is None:
            refused(index, conflict)
            continue
        claimed.add(taken.id)
        outcome.adopted += 1
        said[index] = f"took over monitor {taken.id} as {body['name']}: {body['url']}"
    for text in said:
        if text:
            _say(text)
    outcome.errors = [text for _, text in sorted(errors)]
    if fatal:
        raise fatal[0]

    for existing in owned:
        if existing.id in claimed:
            continue
        if not prune:
            _say(f"not in the file: {existing.name} (monitor {existing.id}); --prune deletes it")
            continue
        if not dry_run:
            try:
                await api.delete_url(existing.id)
            except ApiError as exc:
                if exc.status != 404:  # 404: someone deleted it meanwhile, as we were about to
                    raise
        outcome.deleted += 1
        verb = "would delete" if dry_run else "deleted"
        _say(f"{verb} {existing.name} (monitor {existing.id}): {existing.url}")
    return outcome


def _patch(body: dict[str, Any]) -> dict[str, Any]:
    """update_url's arguments that set every field of the entry."""
    return {
        "name": body["name"],
        "url": body["url"],
        "check": _check(body),
        "owner": body["owner"],
        "failure_threshold": body["failure_threshold"],
        "success_threshold": body["success_threshold"],
        "channels": body["channels"],
        "interval": body["interval"],
        "regions": body["regions"],
    }


def _first_of_each_monitor(source: MonitorsFile, owner: str) -> tuple[list[int], list[int]]:
    """The entries' indexes split in two, in file order: those that are the first with their
    monitor key (URL normal form and check), and those repeating an earlier entry's."""
    seen: set[bytes] = set()
    first: list[int] = []
    repeats: list[int] = []
    for index, monitor in enumerate(source.monitors):
        try:
            body = _body(monitor, owner)
            key = monitor_key(url_key(body["url"]), _check(body))
        except (ValueError, TypeError, KeyError):
            first.append(index)  # refused by the API with its reason anyway
            continue
        (repeats if key in seen else first).append(index)
        seen.add(key)
    return first, repeats


def _check(body: dict[str, Any]) -> CheckSpec:
    return CheckSpec.model_validate(
        {key: body[key] for key in ("request", "assertions", "degraded_after_ms")}
    )


async def _take_over(
    api: ApiClient, conflict: ApiError, body: dict[str, Any], owner: str, claimed: set[int]
) -> Monitor | None:
    """The monitor the 409 names, changed to the file's entry, when it is free to take: no owner,
    or this owner's and not listed under another name. None otherwise (the 409 stands)."""
    assert conflict.existing_id is not None
    existing = (await api.get_url(conflict.existing_id)).monitor
    if existing.id in claimed or existing.owner not in (None, owner):
        return None
    change = await api.update_url(existing.id, **_patch(body))
    return change.monitor


def _apply(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        source = read_monitors_yaml(path)
    except FileProblem as exc:
        _fail(str(exc))
        return 2
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        _fail(f"{path}: {exc}")
        return 2
    for monitor in source.monitors:
        check_entry(monitor)
    problems = sorted(
        (line, reason) for monitor in source.monitors for line, reason in monitor.problems
    )
    if problems:
        for line, reason in problems:
            print(_printable(f"{path}:{line}: {reason}"), file=sys.stderr)
        noun = "problem" if len(problems) == 1 else "problems"
        print(f"nothing applied: {len(problems)} {noun} in {path}", file=sys.stderr)
        return 1
    return _run(args, lambda api: _sync(api, source, args))


async def _sync(api: ApiClient, source: MonitorsFile, args: argparse.Namespace) -> int:
    outcome = await apply_file(
        api, source, dry_run=args.dry_run, prune=args.prune, concurrency=args.concurrency
    )
    for error in outcome.errors:
        print(_printable(error), file=sys.stderr)
    print(outcome.line(args.dry_run))
    return 1 if outcome.failed else 0
