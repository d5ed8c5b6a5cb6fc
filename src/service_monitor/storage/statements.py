"""The few SQL primitives a store's helpers (retention) may use, so they depend on this and not on SQLStorage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# A result row, its columns in the order the statement selected them.
Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Executed:
    """What a statement changed: how many rows, and the id an INSERT gave its row (None if none)."""

    rowcount: int
    lastrowid: int | None


class Statements(Protocol):
    """Runs SQL written with `?` placeholders, whatever the dialect (the backend translates them).

    Outside a Transaction each statement commits on its own. Raises StorageUnavailable when the
    store cannot be reached.
    """

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row the statement returns."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Executed:
        """Run a statement that returns no rows."""


class Transaction(Statements, Protocol):
    """The statements a backend runs inside one transaction: they commit or roll back together."""

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run the statement once for each row of parameters."""


__all__ = ["Executed", "Row", "Statements", "Transaction"]
