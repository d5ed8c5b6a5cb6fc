"""The compute's command line: one cycle by default, or `--run-local` to repeat it on an interval.

    python -m src.service_monitor.compute.scheduler [--run-local] [--interval S] [--data-path CSV]

Exit codes: 0 done (or stopped by a signal), 1 the cycle could not run (database or cache
unreachable, unreadable CSV), 2 bad settings or arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..cache import open_cache
from ..config import Settings, settings_or_exit
from ..errors import Unavailable
from ..logs import configure_logging
from ..stats import Stats
from ..storage import open_storage
from .importer import import_monitors_csv
from .runner import Compute, start_scheduler

log = logging.getLogger("service_monitor.compute")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="service-monitor compute",
        description="Probe every monitored URL once, or every --interval seconds with --run-local.",
    )
    parser.add_argument(
        "--run-local",
        action="store_true",
        help="keep running: a cycle now, then one every interval (APScheduler)",
    )
    parser.add_argument(
        "--interval",
        type=_positive_seconds,
        default=None,
        help="seconds between cycles with --run-local (default: CYCLE_INTERVAL, 600)",
    )
    parser.add_argument(
        "--data-path",
        type=Path,
        default=None,
        help="CSV of name,url rows to upsert before the first cycle",
    )
    return parser


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


async def run(
    settings: Settings, *, run_local: bool, interval: float, data_path: Path | None
) -> int:
    try:
        storage = await open_storage(settings)
    except Unavailable as exc:
        log.error("cannot run: %s", exc)
        return 1
    try:
        cache = await open_cache(settings)
    except Unavailable as exc:
        log.error("cannot run: %s", exc)
        await storage.close()
        return 1
    stats = Stats(storage, cache, max_age=settings.CACHE_MAX_AGE, clock=time.time)
    compute = Compute(storage, cache, settings, stats=stats)
    try:
        if data_path is not None:
            await import_monitors_csv(storage, data_path, compute.clock())
        if not run_local:
            await compute.cycle()
            return 0
        await _run_until_signalled(compute, interval)
        return 0
    except (Unavailable, OSError, ValueError) as exc:
        log.error("cannot run: %s", exc)
        return 1
    finally:
        await cache.close()
        await storage.close()


async def _run_until_signalled(compute: Compute, interval: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scheduler = start_scheduler(compute, interval)
    log.info("running a cycle now and then every %g s; stop with Ctrl-C", interval)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        await compute.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    log.info("stopped")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = settings_or_exit()
    configure_logging(settings.LOG_LEVEL)
    interval = args.interval if args.interval is not None else float(settings.CYCLE_INTERVAL)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(
            run(settings, run_local=args.run_local, interval=interval, data_path=args.data_path)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
