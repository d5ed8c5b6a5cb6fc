"""The compute's command line: one cycle by default, or `--run-local` to repeat it on an interval.

It is `service-monitor compute`, and the seed's `python -m src.service_monitor.compute.scheduler`
(compute/scheduler.py, a thin module that calls `main` here).

    service-monitor compute [--run-local] [--interval S] [--data-path CSV] [--loop LOOP]

The event loop is uvloop's when it is installed (it comes with uvicorn[standard]): the benchmark
(bench/bench_compute.py --loops) measured it cheaper than asyncio's own; `--loop asyncio` picks
asyncio's, for debugging or to compare.

Exit codes: 0 done (or stopped by a signal), 1 the cycle could not run (database or cache
unreachable for STARTUP_TIMEOUT seconds, unreadable CSV) or lost checks (database down for longer
than WRITE_RETRY_SECONDS), 2 bad settings or arguments.

SIGTERM (what ECS sends) or Ctrl-C stops gracefully: no new probe starts, those in flight get
SHUTDOWN_GRACE_SECONDS, the checks made are stored and the cycle recorded as stopped; a second
signal abandons the probes in flight at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ..arguments import positive_seconds
from ..assembly import build_compute
from ..config import Settings, settings_or_exit
from ..errors import Unavailable
from ..guard import policy_for
from ..logs import configure_logging
from ..services import Services
from ..startup import StartupFailed, open_backends
from .importer import import_monitors_csv
from .schedule import start_scheduler
from .worker import Compute

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
        type=positive_seconds,
        default=None,
        help="seconds between cycles with --run-local (default: CYCLE_INTERVAL, 600)",
    )
    parser.add_argument(
        "--data-path",
        type=Path,
        default=None,
        help="CSV of name,url rows to upsert before the first cycle",
    )
    parser.add_argument(
        "--loop",
        choices=("auto", "uvloop", "asyncio"),
        default="auto",
        help="event loop: auto (uvloop if installed, else asyncio), uvloop or asyncio",
    )
    return parser


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """The event loop factory for `--loop`; SystemExit(2) when uvloop is asked for but missing."""
    if choice == "asyncio":
        return asyncio.new_event_loop
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise SystemExit("service-monitor: --loop uvloop: uvloop is not installed") from None
        return asyncio.new_event_loop
    return uvloop.new_event_loop


async def run(
    settings: Settings, *, run_local: bool, interval: float, data_path: Path | None
) -> int:
    stop = asyncio.Event()
    signals = _Signals(stop)
    with signals:
        opening = asyncio.create_task(open_backends(settings))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({opening, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not opening.done():  # a signal while waiting for the database or the cache
            opening.cancel()
            with contextlib.suppress(asyncio.CancelledError, StartupFailed):
                await opening
            log.info("stopped while waiting for the database and the cache")
            return 0
        try:
            services = Services(settings, *opening.result())
        except StartupFailed as exc:
            log.error("cannot run: %s", exc)
            return 1
        compute = build_compute(services)
        signals.compute = compute
        if stop.is_set():
            compute.request_stop()
        try:
            if data_path is not None:
                await import_monitors_csv(
                    services.storage, data_path, compute.clock(), policy_for(settings)
                )
            if not run_local:
                report = await compute.cycle()
                # Checks lost (the database down past WRITE_RETRY_SECONDS): the cycle's line said
                # how many and why; the exit code lets the scheduler (ECS) show the failure too.
                return 1 if report is not None and report.lost else 0
            await _run_until_signalled(compute, interval, stop)
            return 0
        except (Unavailable, OSError, ValueError) as exc:
            log.error("cannot run: %s", exc)
            return 1
        finally:
            await services.close()


class _Signals:
    """SIGTERM and SIGINT while the compute runs: the first asks it to stop gracefully, a second
    abandons the probes in flight. Installed on the running loop for the `with` block."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.compute: Compute | None = None
        self._received = 0

    def __enter__(self) -> _Signals:
        loop = asyncio.get_running_loop()
        for sig in self.SIGNALS:
            loop.add_signal_handler(sig, self._received_signal, sig)
        return self

    def __exit__(self, *_: object) -> None:
        loop = asyncio.get_running_loop()
        for sig in self.SIGNALS:
            loop.remove_signal_handler(sig)

    def _received_signal(self, sig: signal.Signals) -> None:
        self._received += 1
        again = self._received > 1
        log.info(
            "%s received: %s",
            sig.name,
            "abandoning the probes in flight" if again else "stopping gracefully",
        )
        self.stop.set()
        if self.compute is not None:
            self.compute.request_stop(now=again)


async def _run_until_signalled(compute: Compute, interval: float, stop: asyncio.Event) -> None:
    scheduler = start_scheduler(compute, interval)
    log.info("running a cycle now and then every %g s; stop with Ctrl-C", interval)
    try:
        await stop.wait()
    finally:
        # The cycle first: the scheduler's shutdown would cancel it, not let it stop gracefully.
        await compute.stop()
        scheduler.shutdown(wait=False)
    log.info("stopped")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = settings_or_exit()
    configure_logging(settings.LOG_LEVEL)
    interval = args.interval if args.interval is not None else float(settings.CYCLE_INTERVAL)
    with (
        contextlib.suppress(KeyboardInterrupt),
        asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner,
    ):
        log.debug("event loop: %s", type(runner.get_loop()).__module__)
        return runner.run(
            run(settings, run_local=args.run_local, interval=interval, data_path=args.data_path)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
