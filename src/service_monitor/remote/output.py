"""Terminal output of the `stats` and `urls` commands: rich consoles and table cells, and text made safe to print.

rich is imported only inside these functions, so the server's commands never load it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

PIPE_WIDTH = 10_000  # columns of a table printed to a pipe: wide enough for any URL


def _printable(text: str) -> str:
    """Text safe to print on a terminal: control characters shown escaped, never sent raw."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _console() -> Console:
    """Standard output; into a pipe or a file, tables are as wide as their cells (never folded
    at 80 columns) unless COLUMNS says otherwise."""
    from rich.console import Console

    console = Console(highlight=False, emoji=False)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(highlight=False, emoji=False, width=PIPE_WIDTH)
    return console


def _cell(value: str) -> Any:
    """A table cell shown as is: '[red]' in a name is text, not rich markup."""
    from rich.text import Text

    return Text(_printable(value))
