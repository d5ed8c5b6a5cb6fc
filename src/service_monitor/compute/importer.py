"""Reads a `name,url` CSV of monitors, keeping the good rows and reporting each bad one by line."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TargetRefused
from ..guard import TargetPolicy
from ..models import validate_name, validate_url
from ..monitor_files import csv_rows
from ..storage import MonitorStore

log = logging.getLogger(__name__)


@dataclass
class ImportResult:
    rows: list[tuple[str, str]] = field(default_factory=list)  # (name, url), valid
    rejected: list[str] = field(default_factory=list)  # one message per bad row, with its line


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
    storage: MonitorStore, path: Path, now: float, policy: TargetPolicy
) -> ImportResult:
    """Upsert the file's valid rows by URL; bad rows are logged with their line and skipped."""
    result = read_monitors_csv(path, policy)
    for message in result.rejected:
        log.warning("skipped row %s", message)
    written = await storage.import_monitors(result.rows, now)
    log.info("imported %d monitors from %s (%d rows skipped)", written, path, len(result.rejected))
    return result
