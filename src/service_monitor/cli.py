"""The `service-monitor` command: serve (API and compute in one process), api, compute, dispatch, worker, plan, import, cleanup, and the API's clients stats and urls."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from .config import Settings, settings_or_exit
from .errors import Unavailable
from .guard import policy_for
from .logs import configure_logging
from .startup import StartupFailed

if TYPE_CHECKING:
    pass

log = logging.getLogger("service_monitor.cli")

DEFAULT_DATA = Path("data/urls.csv")


def _settings() -> Settings:
    settings = settings_or_exit()
    configure_logging(settings.LOG_LEVEL)
    return settings


def _exit_0_on_sigterm() -> None:
    """SIGTERM (what ECS sends) ends the server with exit code 0, the code of a clean stop.

    uvicorn handles SIGTERM itself while it serves (graceful shutdown, then the lifespan's, which
    stops the compute gracefully) and, once done, raises the signal again for the handler it found
    installed: with the default one the process would die of it (exit code -15); this one exits 0.
    """

    def stopped(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stopped)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .assembly import build_app
    from .compute.importer import read_monitors_csv

    settings = _settings()
    data_path = None if args.no_data else args.data_path
    if data_path is not None:
        try:
            read_monitors_csv(
                data_path, policy_for(settings)
            )  # fail here, in one line, not inside the server
        except (OSError, ValueError) as exc:
            print(f"service-monitor: --data-path: {exc}", file=sys.stderr)
            return 2
    app = build_app(settings, run_compute=True, data_path=data_path, fleet=args.fleet)
    _exit_0_on_sigterm()
    # A store or cache still unreachable after STARTUP_TIMEOUT ends this with one line and exit
    # code 1, from the app's lifespan (startup.fail_server_start).
    uvicorn.run(app, host=args.host, port=args.port, log_config=None)
    return 0


def _api(args: argparse.Namespace) -> int:
    import uvicorn

    from .assembly import wait_for_backends
    from .metrics.multiproc import worker_metrics_dir

    settings = _settings()  # fail fast, with one line, before any worker starts
    if args.workers > 1:
        # Each worker's lifespan waits for the backends too, but a worker that gives up would only
        # be restarted by uvicorn's supervisor: wait here, once, and give up with exit code 1.
        # Opened and closed on one event loop: a Redis client closed on another loop fails.
        try:
            asyncio.run(wait_for_backends(settings))
        except StartupFailed as exc:
            log.error("cannot start: %s", exc)
            return 1
    _exit_0_on_sigterm()
    # Several workers: each writes its request metrics to PROMETHEUS_MULTIPROC_DIR, and /metrics
    # merges them, whichever worker answers the scrape (metrics/multiproc.py).
    with worker_metrics_dir(args.workers):
        # The composition root's factory: the API, and the dispatcher when RUN_DISPATCHER is true.
        uvicorn.run(
            "service_monitor.assembly:app_from_environment",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=None,
        )
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    """The dispatcher alone (an ECS service of its own, or beside `api` with RUN_DISPATCHER=false):
    reconcile once, then send the outbox every DISPATCH_INTERVAL s until SIGTERM or SIGINT. Not
    the compute's job: a one-shot compute exits after its cycle and could not retry for hours."""
    from .assembly import run_dispatcher

    settings = _settings()
    if args.metrics_port:
        from prometheus_client import start_http_server

        from .metrics.notifications import notifications_counter

        notifications_counter()
        start_http_server(args.metrics_port, addr=args.metrics_host)

    async def run() -> int:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        log.info("dispatcher started (every %g s)", settings.DISPATCH_INTERVAL)
        await run_dispatcher(settings, stop)
        log.info("dispatcher stopped")
        return 0

    return _run_or_1(run())


def _run_or_1(main: Coroutine[Any, Any, int], *, loop: str = "asyncio") -> int:
    """Run a command's coroutine on the `loop` asked for (compute/cli.py's --loop choices); a
    backend it cannot use is one line and exit code 1."""
    from .compute.cli import loop_factory

    try:
        with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
            return runner.run(main)
    except (Unavailable, StartupFailed) as exc:
        log.error("cannot run: %s", exc)
        return 1


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def _worker(args: argparse.Namespace) -> int:
    """A probing worker of the fleet: takes its REGION's shards until SIGTERM or SIGINT, then lets
    the shards in hand finish (those it cannot finish are taken over by another worker)."""
    from .assembly import open_services, open_shard_queue
    from .fleet.running import work_until

    settings = _settings()
    if not settings.uses_redis:
        print(
            "service-monitor worker: needs Redis (CACHE_ADDRESS) to share the planner's shards;"
            " on the embedded default, `serve` or `plan --work` probe in their own process",
            file=sys.stderr,
        )
        return 2

    async def run() -> int:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        async with open_services(settings) as services, open_shard_queue(settings) as queue:
            log.info("worker started: region %s of %s", settings.REGION, ",".join(settings.REGIONS))
            worker = await work_until(services, queue, stop)
        counts = worker.counts
        log.info(
            "worker stopped: %d shards, %d checks, %d taken over, %d dead-lettered",
            counts.shards,
            counts.checks,
            counts.taken_over,
            counts.dead_lettered,
        )
        return 0

    return _run_or_1(run(), loop=args.loop)


def _plan(args: argparse.Namespace) -> int:
    """The planner: a tick every minute (or one, --once), one at a time across processes."""
    from .assembly import open_services, open_shard_queue
    from .fleet.running import plan_forever, plan_once

    settings = _settings()
    if args.work and not args.once:
        print("service-monitor plan: --work goes with --once", file=sys.stderr)
        return 2
    if not settings.uses_redis and not (args.once and args.work):
        print(
            "service-monitor plan: without Redis (CACHE_ADDRESS) no worker can read the shards;"
            " use `plan --once --work` (this process probes them) or `serve`",
            file=sys.stderr,
        )
        return 2
    emf = print if args.emf else None

    async def run() -> int:
        async with open_services(settings) as services, open_shard_queue(settings) as queue:
            if args.once:
                await plan_once(services, queue, work=args.work, emf=emf)
                return 0
            stop = asyncio.Event()
            _stop_on_signals(stop)
            await plan_forever(services, queue, stop, emf=emf)
            return 0

    return _run_or_1(run(), loop=args.loop)


def _import(args: argparse.Namespace) -> int:
    from .assembly import open_store
    from .compute.importer import import_monitors_csv

    settings = _settings()

    async def run() -> int:
        async with open_store(settings) as storage:
            result = await import_monitors_csv(
                storage, args.path, time.time(), policy_for(settings)
            )
        return 1 if result.rejected else 0

    try:
        return asyncio.run(run())
    except (Unavailable, StartupFailed, OSError, ValueError) as exc:
        print(f"service-monitor: {exc}", file=sys.stderr)
        return 1


def _cleanup(args: argparse.Namespace) -> int:
    from .assembly import open_store
    from .compute.maintenance import maintain

    settings = _settings()

    async def run() -> int:
        async with open_store(settings) as storage, storage.cycle_lock() as held:
            if not held:  # a rollup must not race a cycle's writes; the cycle does it anyway
                print(
                    "service-monitor: a cycle is running and will roll up and prune when it"
                    " ends; nothing done",
                    file=sys.stderr,
                )
                return 1
            done = await maintain(
                storage,
                time.time(),
                rollup_days=settings.ROLLUP_RETENTION_DAYS,
                cycle_interval_s=settings.CYCLE_INTERVAL,
            )
        pruned = done.pruned
        print(
            f"rolled up {done.hours_rolled_up} hours; removed {pruned.checks} raw checks,"
            f" {pruned.rollups} rollup rows, {pruned.cycles} cycle records,"
            f" {pruned.incidents} incidents, {pruned.notifications} notifications"
            f" in {pruned.batches} batches (longest {pruned.longest_batch_s:.3f} s)"
        )
        return 0

    try:
        return asyncio.run(run())
    except (Unavailable, StartupFailed) as exc:
        print(f"service-monitor: {exc}", file=sys.stderr)
        return 1


def _channel_key(args: argparse.Namespace) -> int:
    from .alerting.sealing import new_key

    print(new_key())
    return 0


def _loop_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--loop",
        choices=("auto", "uvloop", "asyncio"),
        default="auto",
        help="event loop: auto (uvloop if installed, as the compute's), uvloop or asyncio",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="service-monitor", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="the API and the compute in one process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--data-path", type=Path, default=DEFAULT_DATA, help="CSV to import first")
    serve.add_argument("--no-data", action="store_true", help="import no CSV")
    serve.add_argument(
        "--fleet",
        action="store_true",
        help="run the fleet's planner (every minute, each monitor on its own interval) and a"
        " worker instead of the whole-list cycle every CYCLE_INTERVAL",
    )
    serve.set_defaults(run=_serve)

    api = commands.add_parser("api", help="the API alone (uvicorn)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=int, default=1)
    api.set_defaults(run=_api)

    commands.add_parser(
        "compute",
        help="the compute alone; takes the options of compute/cli.py",
        add_help=False,
    ).set_defaults(run=None)

    dispatch = commands.add_parser(
        "dispatch",
        help="send the notifications of the outbox (alone; API processes also do with"
        " RUN_DISPATCHER=true)",
    )
    dispatch.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        help="serve service_monitor_notifications_total on this port (0: not served)",
    )
    dispatch.add_argument("--metrics-host", default="127.0.0.1")
    dispatch.set_defaults(run=_dispatch)

    worker = commands.add_parser(
        "worker", help="a probing worker of the fleet: probes its REGION's shards (needs Redis)"
    )
    _loop_option(worker)
    worker.set_defaults(run=_worker)

    plan = commands.add_parser(
        "plan",
        help="the fleet's planner: every minute, publish the due monitors as shards and maintain"
        " the finished slots",
    )
    plan.add_argument("--once", action="store_true", help="one tick, then exit (EventBridge)")
    plan.add_argument(
        "--work",
        action="store_true",
        help="with --once: also probe the slot's shards here until done, then maintain it",
    )
    plan.add_argument(
        "--emf",
        action="store_true",
        help="print the queue's depth as CloudWatch Embedded Metric Format lines (autoscaling)",
    )
    _loop_option(plan)
    plan.set_defaults(run=_plan)

    importer = commands.add_parser("import", help="upsert a name,url CSV into the store")
    importer.add_argument("path", type=Path)
    importer.set_defaults(run=_import)

    cleanup = commands.add_parser(
        "cleanup",
        help="roll up finished hours and remove what retention no longer keeps (the compute"
        " also does this after every cycle)",
    )
    cleanup.set_defaults(run=_cleanup)

    commands.add_parser(
        "channel-key",
        help="print a new key for CHANNEL_KEYS (put it first to rotate, keep the old ones after)",
    ).set_defaults(run=_channel_key)

    from .remote import add_commands  # stats and urls: clients of the HTTP API

    add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["compute"]:  # its options are the compute module's own
        from .compute.cli import main as compute_main

        return compute_main(argv[1:])
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
