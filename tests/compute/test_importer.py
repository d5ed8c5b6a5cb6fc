"""Importing a name,url CSV: good rows upserted, each bad row reported by line and skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from service_monitor.compute.importer import import_monitors_csv, read_monitors_csv
from service_monitor.guard import TargetPolicy
from service_monitor.storage import Storage

OPEN = TargetPolicy(allow_all=True)  # the guard's own rules are tests/test_guard.py's

CSV = """name,url
Good,https://good.example.com
,https://no-name.example.com
Bad scheme,ftp://files.example.com

Spaces,http://has spaces.example.com
{long},https://long.example.com
Second,http://second.example.com/
only-one-column
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "urls.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_rows_are_reported_with_their_line_and_skipped(tmp_path: Path) -> None:
    result = read_monitors_csv(_write(tmp_path, CSV.format(long="n" * 101)), OPEN)
    assert result.rows == [
        ("Good", "https://good.example.com"),
        ("Second", "http://second.example.com/"),
    ]
    lines = [message.split(":")[1] for message in result.rejected]
    assert lines == ["3", "4", "6", "7", "9"]
    assert "must not be empty" in result.rejected[0]
    assert "scheme 'ftp'" in result.rejected[1]
    assert "at most 100" in result.rejected[3]


def test_file_without_header_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="header 'name,url'"):
        read_monitors_csv(_write(tmp_path, "a,http://a.com\n"), OPEN)


async def test_import_is_idempotent_by_url(storage: Storage, tmp_path: Path) -> None:
    path = _write(tmp_path, CSV.format(long="ok"))
    await import_monitors_csv(storage, path, 1.0, OPEN)
    await import_monitors_csv(storage, path, 2.0, OPEN)
    monitors, total = await storage.list_monitors(100, 0)
    assert total == 3
    assert {m.name for m in monitors} == {"Good", "ok", "Second"}
    assert len(await storage.targets()) == 3


def test_shipped_url_list_is_valid(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[2] / "data" / "urls.csv"
    result = read_monitors_csv(shipped, OPEN)
    assert result.rejected == []
    assert len(result.rows) >= 36
