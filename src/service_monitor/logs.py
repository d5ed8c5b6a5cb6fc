"""One log format for every entry point: a timestamped line per event, to stderr."""

from __future__ import annotations

import logging


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )
    # aiohttp and apscheduler are chatty at INFO about things that are ours to report.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # The database drivers log each statement with its parameters at DEBUG: a monitor's check
    # holds secret header values, which are never logged, so they stop at INFO even then.
    for driver in DRIVER_LOGGERS:
        logging.getLogger(driver).setLevel(max(logging.INFO, logging.getLevelName(level)))


DRIVER_LOGGERS = ("aiosqlite", "asyncmy", "aiomysql")
