"""One runner for every schema (MySQL's, SQLite's and the embedded cache's), so how versions are applied and recorded is written once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

# Entry i holds the statements of schema version i + 1. A version is applied once, in order, and
# recorded; a released version is never edited (deployed databases have run it): a change is a new
# entry at the end.
Migrations = Sequence[Sequence[str]]


class Session(Protocol):
    """One connection, held for the whole migration under its backend's lock (and transaction,
    where the dialect has one for DDL), running SQL written with `?` placeholders."""

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Sequence[Any]]:
        """Every row the statement returns."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> object:
        """Run a statement that returns no rows."""


async def apply_migrations(session: Session, version_table: str, migrations: Migrations) -> None:
    """Apply each version after the newest recorded in `version_table` (a table of one INT column,
    `version`, which the backend creates in its own dialect), in order, recording each one."""
    rows = await session.fetch(f"SELECT MAX(version) FROM {version_table}")
    current = int(rows[0][0]) if rows and rows[0][0] is not None else 0
    for version, statements in enumerate(migrations, start=1):
        if version <= current:
            continue
        for statement in statements:
            await session.execute(statement)
        await session.execute(f"INSERT INTO {version_table} (version) VALUES (?)", (version,))


__all__ = ["Migrations", "Session", "apply_migrations"]
