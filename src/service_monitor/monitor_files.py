"""Files that list monitors, read the same way by every importer: `service-monitor import` (into the
store, compute/importer.py) and `service-monitor urls import` (through the API, remote/importing.py).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path


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
