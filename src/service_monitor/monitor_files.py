"""Files that list monitors, read the same way by every importer: `service-monitor import` (into the
store, compute/importer.py), `service-monitor urls import` (through the API, remote/importing.py),
and the YAML file `service-monitor apply` syncs (remote/apply.py), read with each value's line.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .check_spec import ALWAYS_SECRET, validate_owner


@dataclass
class Row:
    """One row of a file of monitors: to add (name and url), or refused as it stands (`problem`)."""

    line: int
    name: str = ""
    url: str = ""
    problem: str | None = None


def csv_rows(path: Path) -> list[Row]:
    """The rows of a `name,url` CSV (header in any order and case, cells stripped, blank lines
    skipped), a row without both cells refused by line. Raises OSError when the file cannot be
    read, ValueError when it has no such header or is not CSV."""
    rows: list[Row] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = [cell.strip().lower() for cell in next(reader, [])]
            if "name" not in header or "url" not in header:
                raise ValueError(
                    f"{path}: the first line must be the header 'name,url', got {header}"
                )
            name_at, url_at = header.index("name"), header.index("url")
            for record in reader:
                if not any(cell.strip() for cell in record):
                    continue  # blank lines are not rows
                if len(record) <= max(name_at, url_at):
                    problem = f"expected name and url, got {record}"
                    rows.append(Row(reader.line_num, problem=problem))
                    continue
                name, url = record[name_at].strip(), record[url_at].strip()
                rows.append(Row(reader.line_num, name, url))
        except csv.Error as exc:
            raise ValueError(f"{path}:{reader.line_num}: not a readable CSV file: {exc}") from None
    return rows


# --- monitors as code: the YAML file `service-monitor apply` syncs ------------------------------

Loc = tuple[str | int, ...]
# `${NAME}` in a header value is the environment variable NAME; `$$` is a literal `$`.
_ENV_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
ENTRY_FIELDS = (
    "name",
    "url",
    "request",
    "assertions",
    "degraded_after_ms",
    "failure_threshold",
    "success_threshold",
    "channels",
    "interval",
    "regions",
)
FILE_FIELDS = ("owner", "monitors")


@dataclass
class FileMonitor:
    """One entry of a monitors file: the API's fields of the monitor (environment variables
    expanded), where each of its values is (for errors), and what is wrong with it, if anything."""

    line: int
    fields: dict[str, Any]
    lines: dict[Loc, int]  # a value's place in the entry ("request", "timeout_s") -> its line
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)

    @property
    def name(self) -> str | None:
        name = self.fields.get("name")
        return name if isinstance(name, str) else None

    def line_of(self, loc: Sequence[str | int]) -> int:
        """The line of the value at `loc` in the entry, or of its nearest enclosing value."""
        place = tuple(loc)
        while place:
            if place in self.lines:
                return self.lines[place]
            place = place[:-1]
        return self.line


@dataclass
class MonitorsFile:
    path: Path
    owner: str
    monitors: list[FileMonitor]


class FileProblem(ValueError):
    """The file cannot be used as a whole; the message is `FILE:LINE: reason`."""


def _located(
    node: yaml.Node, at: Loc, lines: dict[Loc, int], path: Path, line: int | None = None
) -> None:
    """Record the line (1-based) of every value under `node`, by its place: a mapping's value by
    its key's line (a block list starts on the line after its key); refuse a mapping that gives a
    key twice (YAML would keep the last silently)."""
    lines[at] = line or node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if key in seen:
                raise FileProblem(
                    f"{path}:{line}: {key!r} is given twice (first on line {seen[key]})"
                )
            seen[key] = line
            _located(value_node, (*at, str(key)), lines, path, line)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _located(item, (*at, index), lines, path)


def expand_env(value: str, environ: Mapping[str, str]) -> str:
    """`value` with each `${NAME}` replaced by the variable's value; KeyError(NAME) when unset."""

    def replace(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        return environ[match[1]]

    return _ENV_REFERENCE.sub(replace, value)


def read_monitors_yaml(path: Path, environ: Mapping[str, str] | None = None) -> MonitorsFile:
    """The monitors file at `path`: `owner` (the label `apply` syncs by) and `monitors`, a list of
    {name, url, request, assertions, degraded_after_ms, failure_threshold, success_threshold,
    channels, interval, regions} as the API takes them (channels by name; interval in seconds or
    as 5m, 1h...).

    Header values are expanded from `environ` (default: the process's environment), so secrets
    need not sit in the file; a header set from a variable is marked secret. Each entry's
    problems (a missing name, an unset variable, a duplicate name) are left on it by line; raises
    OSError when the file cannot be read, FileProblem when it is not such a file at all.
    """
    env = os.environ if environ is None else environ
    text = path.read_text(encoding="utf-8-sig")
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise FileProblem(f"{path}:{line}: not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise FileProblem(f"{path}: not valid YAML: {exc}") from None
    lines: dict[Loc, int] = {}
    if node is not None:
        _located(node, (), lines, path)
    if not isinstance(data, dict):
        raise FileProblem(
            f"{path}:1: expected a mapping with 'owner' and 'monitors', got {type(data).__name__}"
        )
    unknown = [key for key in data if key not in FILE_FIELDS]
    if unknown:
        where = lines.get((str(unknown[0]),), 1)
        raise FileProblem(
            f"{path}:{where}: unknown key {unknown[0]!r}; a monitors file has: owner, monitors"
        )
    owner = data.get("owner")
    owner_line = lines.get(("owner",), 1)
    if owner is None:
        raise FileProblem(
            f"{path}:1: owner: required: the label of the monitors this file manages"
            " (--prune deletes only monitors with this owner)"
        )
    try:
        if not isinstance(owner, str):
            raise ValueError(f"must be a text, got {type(owner).__name__}")
        validate_owner(owner)
    except ValueError as exc:
        raise FileProblem(f"{path}:{owner_line}: owner: {exc}") from None
    entries = data.get("monitors")
    if entries is None:  # `monitors:` left empty: the file lists none (--prune deletes them all)
        entries = []
    if not isinstance(entries, list):
        raise FileProblem(
            f"{path}:{lines.get(('monitors',), 1)}: monitors: expected a list of monitors"
        )
    monitors: list[FileMonitor] = []
    first_by_name: dict[str, int] = {}
    for index, entry in enumerate(entries):
        at: Loc = ("monitors", index)
        entry_lines = {loc[2:]: line for loc, line in lines.items() if loc[:2] == at}
        monitor = FileMonitor(entry_lines.get((), 1), {}, entry_lines)
        monitors.append(monitor)
        if not isinstance(entry, dict):
            monitor.problems.append(
                (monitor.line, f"expected a monitor (name, url, ...), got {type(entry).__name__}")
            )
            continue
        monitor.fields = dict(entry)
        for key in entry:
            if key not in ENTRY_FIELDS:
                monitor.problems.append(
                    (
                        monitor.line_of((str(key),)),
                        f"{key}: unknown field; a monitor has: {', '.join(ENTRY_FIELDS)}",
                    )
                )
        for required in ("name", "url"):
            if required not in entry:
                monitor.problems.append((monitor.line, f"{required}: required"))
        name = monitor.name
        if name is not None:
            if name in first_by_name:
                monitor.problems.append(
                    (
                        monitor.line_of(("name",)),
                        f"name: {name!r} is given twice (first on line {first_by_name[name]});"
                        " apply tells monitors apart by name",
                    )
                )
            else:
                first_by_name[name] = monitor.line_of(("name",))
        _expand_headers(monitor, env)
    return MonitorsFile(path, owner, monitors)


def _expand_headers(monitor: FileMonitor, environ: Mapping[str, str]) -> None:
    request = monitor.fields.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("headers"), dict):
        return
    headers: dict[Any, Any] = {}
    from_env: list[str] = []
    for name, value in request["headers"].items():
        if isinstance(value, str) and _ENV_REFERENCE.search(value):
            try:
                expanded = expand_env(value, environ)
            except KeyError as exc:
                monitor.problems.append(
                    (
                        monitor.line_of(("request", "headers", str(name))),
                        f"request.headers.{name}: environment variable {exc.args[0]} is not set",
                    )
                )
                expanded = value
            if expanded != value.replace("$$", "$"):
                from_env.append(str(name))
            value = expanded
        headers[name] = value
    request = {**request, "headers": headers}
    # A value read from the environment is a secret: returned redacted like Authorization's.
    secret = request.get("secret_headers")
    if from_env and (secret is None or isinstance(secret, list)):
        names = list(secret or [])
        marked = {str(n).lower() for n in names} | ALWAYS_SECRET
        names += [n for n in from_env if n.lower() not in marked]
        if names:
            request["secret_headers"] = names
    monitor.fields["request"] = request
