"""The storm guard at scale: 10,000 monitors flip to down at once (every one failing with connect
errors), with `service-monitor dispatch` running on the same store (its own process, as on ECS).

The checks are stored as a cycle stores them (CheckStore.add_checks, WRITE_BATCH_SIZE at a time),
each round a minute later: one round of successes, then three of connect failures (the default
FAILURE_THRESHOLD), the third making the 10,000 transitions. It prints:
- the time from the end of that third round (the transitions committed) to the storm message
  received by a local webhook receiver, and how many messages it received (one per default
  channel expected: no individual DOWN);
- the add_checks time of a round with no transition, of the flipping round with no channel (the
  incidents only), and of the flipping round with the default channels (incidents and 10,000
  DOWN rows per channel queued): the extra that alerting costs the cycle's store writes.

    python bench/bench_storm.py [--backend mysql,sqlite] [--monitors 10000] [--channels 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import asyncmy

from alert_receiver import Receiving
from service_monitor.alerting.sealing import Sealer, new_key
from service_monitor.alerting.senders import new_webhook_secret
from service_monitor.alerting.targets import target_hint
from service_monitor.alerts import ChannelType, Delivery, NotificationKind
from service_monitor.config import Settings, load_settings
from service_monitor.models import Cause, Check, Status
from service_monitor.storage import Storage, open_storage

ROOT = Path(__file__).resolve().parent.parent
MYSQL_DB = "bench_storm"


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env.update(values)
    env["PYTHONPATH"] = str(ROOT / "src")
    return env


async def drop_mysql() -> None:
    conn = await asyncmy.connect(host="127.0.0.1", user="root", password="")
    async with conn.cursor() as cur:
        await cur.execute("SET sql_notes = 0")
        await cur.execute(f"DROP DATABASE IF EXISTS {MYSQL_DB}")
    conn.close()


async def store_round(store: Storage, ids: list[int], at: float, ok: bool, batch: int) -> float:
    """Store one round of checks, `batch` at a time; its seconds."""
    checks = [
        Check(i, at, Status.SUCCESS, 200, 12)
        if ok
        else Check(i, at, Status.FAIL, None, 3, Cause.CONNECT, "connect: connection refused")
        for i in ids
    ]
    started = time.perf_counter()
    for start in range(0, len(checks), batch):
        await store.add_checks(checks[start : start + batch])
    return time.perf_counter() - started


async def fresh_store(
    values: dict[str, str], monitors: int, prefix: str
) -> tuple[Storage, list[int]]:
    settings = load_settings(**values)
    if settings.uses_mysql:
        await drop_mysql()
    store = await open_storage(settings)
    rows = [
        (f"{prefix}{i}", f"http://10.{i >> 16}.{(i >> 8) & 255}.{i & 255}/")
        for i in range(monitors)
    ]
    for start in range(0, len(rows), 10_000):
        await store.import_monitors(rows[start : start + 10_000], time.time())
    listed, _ = await store.list_monitors(monitors + 10, 0)
    return store, sorted(m.id for m in listed)


async def flip(store: Storage, ids: list[int], batch: int, start: float) -> tuple[float, float]:
    """Up, then three failing rounds a minute apart (simulated in the checks' times, ending now);
    the seconds of a steady failing round (the second) and of the flipping one (the third)."""
    await store_round(store, ids, start - 240, True, batch)
    await store_round(store, ids, start - 120, False, batch)
    steady = await store_round(store, ids, start - 60, False, batch)
    flipping = await store_round(store, ids, start, False, batch)
    return steady, flipping


async def add_channels(store: Storage, sealer: Sealer, base: str, channels: int) -> None:
    for n in range(channels):
        url = f"{base}/hook/{n}"
        await store.add_channel(
            f"default {n}",
            ChannelType.WEBHOOK,
            target_hint=target_hint(url),
            sealed_target=sealer.seal(url),
            sealed_secret=sealer.seal(new_webhook_secret()),
            is_default=True,
            send_resolved=True,
            resend_every=None,
            now=time.time(),
        )


def fresh_values(values: dict[str, str], work: Path) -> dict[str, str]:
    if "SQLITE_PATH" in values:
        return {**values, "SQLITE_PATH": str(work / f"storm-{time.monotonic_ns()}.sqlite3")}
    return values


async def run_backend(backend: str, monitors: int, channels: int, work: Path) -> None:
    if backend == "mysql":
        values = {"DB_ADDRESS": "127.0.0.1", "DB_NAME": MYSQL_DB}
    else:
        values = {"SQLITE_PATH": ""}
    key = new_key()
    values["CHANNEL_KEYS"] = key
    sealer = Sealer([key])
    batch = load_settings(**fresh_values(values, work)).WRITE_BATCH_SIZE

    # Without channels: the store judges health and opens the incidents, queues nothing.
    store, ids = await fresh_store(fresh_values(values, work), monitors, "plain")
    try:
        steady, plain_flip = await flip(store, ids, batch, time.time())
    finally:
        await store.close()
    # With the default channels, no dispatcher running: the rows queued, nothing contending.
    store, ids = await fresh_store(fresh_values(values, work), monitors, "quiet")
    try:
        await add_channels(store, sealer, "http://127.0.0.1:9", channels)
        _, quiet_flip = await flip(store, ids, batch, time.time())
    finally:
        await store.close()

    receiving = Receiving()
    await receiving.start()
    values = fresh_values(values, work)
    store, ids = await fresh_store(values, monitors, "storm")
    await add_channels(store, sealer, receiving.base, channels)
    interval = load_settings(**values).DISPATCH_INTERVAL
    with tempfile.TemporaryFile() as log:
        dispatcher = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "service_monitor.cli",
            "dispatch",
            env=clean_env(**values, ALLOW_PRIVATE_TARGETS="true", LOG_LEVEL="WARNING"),
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await asyncio.sleep(2)  # started and reconciled
            start = time.time()
            await store_round(store, ids, start - 240, True, batch)
            await store_round(store, ids, start - 120, False, batch)
            await store_round(store, ids, start - 60, False, batch)
            checks = [
                Check(i, start, Status.FAIL, None, 3, Cause.CONNECT, "connect: refused")
                for i in ids
            ]
            began = time.perf_counter()
            first_commit = 0.0
            for at in range(0, len(checks), batch):
                await store.add_checks(checks[at : at + batch])
                first_commit = first_commit or time.time()
            alert_flip = time.perf_counter() - began
            committed = time.time()
            deadline = committed + 120
            while receiving.first("storm") is None and time.time() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            storm_at = receiving.first("storm")
            await asyncio.sleep(3 * interval + 2)  # anything else it would send, it has sent
            _, held_count = await store.notifications(
                limit=1, offset=0, state=Delivery.HELD, kinds=(NotificationKind.DOWN,)
            )
            _, open_incidents = await store.incidents(open_only=True, limit=1, offset=0)
        finally:
            dispatcher.send_signal(signal.SIGTERM)
            await dispatcher.wait()
            await store.close()
            await receiving.stop()
        if storm_at is None:
            log.seek(0)
            print(log.read().decode()[-3000:])
    print(
        f"\n{backend}: {monitors:,} monitors flip at once, {channels} default channel(s),"
        f" dispatcher every {interval:g} s (its own process)"
    )
    if storm_at is None:
        print("  storm message: none within 2 minutes")
    else:
        print(
            f"  first transitions committed -> storm message received: {storm_at - first_commit:.2f} s"
            f" (last committed -> received: {storm_at - committed:+.2f} s)"
        )
    print(f"  messages received: {dict(receiving.kinds())} (expected storm: {channels})")
    print(f"  incidents open: {open_incidents:,}; DOWN rows held: {held_count:,}")
    print(f"  add_checks of {monitors:,} checks ({batch} a batch):")
    print(f"    failing round, no transition:                 {steady:7.3f} s")
    print(
        f"    flipping round, no channel:                   {plain_flip:7.3f} s"
        f"  (+{plain_flip - steady:.3f} s: {monitors:,} incidents opened)"
    )
    print(
        f"    flipping round, default channel(s), no sends: {quiet_flip:7.3f} s"
        f"  (+{quiet_flip - steady:.3f} s: and {monitors * channels:,} DOWN rows queued)"
    )
    print(
        f"    flipping round, dispatcher running:           {alert_flip:7.3f} s"
        f"  (+{alert_flip - steady:.3f} s)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="mysql,sqlite")
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=1, help="default channels")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backend.split(","):
            await run_backend(backend, args.monitors, args.channels, Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
