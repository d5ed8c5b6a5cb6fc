"""Reads a `name,url` CSV of monitors, keeping the good rows and reporting each bad one by line."""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TargetRefused
from ..guard import TargetPolicy
from ..models import validate_name, validate_url
from ..storage import Storage

log = logging.getLogger(__name__)


@dataclass
class ImportResult:
    rows: list[tuple[str, str]] = field(default_factory=list)  # (name, url), valid
    rejected: list[str] = field(default_factory=list)  # one message per bad row, with its line


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


def read_monitors_csv(path: Path, policy: TargetPolicy) -> ImportResult:
    """Parse the file; raises OSError when it cannot be read, ValueError when it has no header.

    A row whose URL the SSRF guard (`policy`) refuses is a bad row. URLs with a name pass: what
    the name resolves to is checked when probed.
    """
    result = ImportResult()
    for row in csv_rows(path):
        line, name, url = row.line, row.name, row.url
        if row.problem is not None:
            result.rejected.append(f"{path}:{line}: {row.problem}")
            continue
        try:
            validate_name(name)
        except ValueError as exc:
            result.rejected.append(f"{path}:{line}: name {name[:40]!r} {exc}")
            continue
        try:
            validate_url(url)
        except ValueError as exc:
            result.rejected.append(f"{path}:{line}: url {url[:80]!r} {exc}")
            continue
        try:
            policy.check_url(url)
        except TargetRefused as exc:
            result.rejected.append(f"{path}:{line}: url {url[:80]!r} is refused: {exc.reason}")
            continue
        result.rows.append((name, url))
    return result


async def import_monitors_csv(
    storage: Storage, path: Path, now: float, policy: TargetPolicy
) -> ImportResult:
    """Upsert the file's valid rows by URL; bad rows are logged with their line and skipped."""
    result = read_monitors_csv(path, policy)
    for message in result.rejected:
        log.warning("skipped row %s", message)
    written = await storage.import_monitors(result.rows, now)
    log.info("imported %d monitors from %s (%d rows skipped)", written, path, len(result.rejected))
    return result
