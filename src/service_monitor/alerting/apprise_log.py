"""Captures what Apprise logs, per thread, so a refused URL or a failed send can say why, while its
log lines (which can hold parts of a channel's URL) never reach the service's own log."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import apprise

_local = threading.local()
_installed = threading.Lock()


class _ThreadCapture(logging.Handler):
    """Adds each record to the list of the thread that logged it, if that thread is capturing."""

    def emit(self, record: logging.LogRecord) -> None:
        lines: list[str] | None = getattr(_local, "lines", None)
        if lines is not None and record.levelno >= logging.WARNING:
            lines.append(record.getMessage())


_handler = _ThreadCapture()


def install() -> None:
    """Route Apprise's log to the per-thread capture only (once per process)."""
    with _installed:
        logger = logging.getLogger(apprise.LOGGER_NAME)
        if _handler not in logger.handlers:
            logger.addHandler(_handler)
            logger.propagate = False  # its lines can quote channel URLs: never into our log
            if logger.level == logging.NOTSET or logger.level > logging.WARNING:
                logger.setLevel(logging.WARNING)


@contextmanager
def captured() -> Iterator[list[str]]:
    """The warnings and errors Apprise logs in this thread within the block."""
    install()
    lines: list[str] = []
    previous = getattr(_local, "lines", None)
    _local.lines = lines
    try:
        yield lines
    finally:
        _local.lines = previous


def why(lines: list[str], *secrets: str) -> str:
    """One sentence from Apprise's lines: those that quote no URL, with `secrets` blanked out."""
    kept = [line.strip().rstrip(".") for line in lines if "://" not in line]
    text = "; ".join(dict.fromkeys(kept))
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, "…")
    return text
