"""Delivery through faults, with real processes on both backends: a dispatcher killed with SIGKILL
while the receiver holds its request, a compute killed after its transition was stored, Redis down,
and the reconcile a dispatcher runs at start."""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service_monitor.alerting.running import dispatching
from service_monitor.alerting.sealing import Sealer
from service_monitor.alerting.senders import ChannelSender
from service_monitor.alerts import Delivery, NotificationKind
from service_monitor.storage import Storage
from service_monitor.storage.sqlite import SQLiteStorage
from tests.alerting.desk import T0, Desk, desk_settings, fresh_key, keys_of, kinds_of
from tests.alerting.receiver import Receiver, receiving
from tests.conftest import FakeClock, production_settings
from tests.servers import ROOT, server_env
from tests.targets import closed_port, target_server

DISPATCH = (sys.executable, "-m", "service_monitor.cli", "dispatch")
COMPUTE = (sys.executable, "-m", "service_monitor.cli", "compute")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as got:
        yield got


@pytest.fixture
async def desk(storage: Storage, tmp_path: Path) -> AsyncIterator[Desk]:
    key = fresh_key()
    settings = desk_settings(tmp_path, key)
    async with ChannelSender(settings) as sender:
        yield Desk(storage, settings, Sealer([key]), sender, key)


def store_env(desk: Desk, **settings: object) -> dict[str, str]:
    """The environment of a process on the test's own store, with the desk's channel key."""
    if isinstance(desk.store, SQLiteStorage):
        where: dict[str, object] = {"SQLITE_PATH": desk.store.path}
    else:
        db = production_settings()
        where = {
            "DB_ADDRESS": db.DB_ADDRESS,
            "DB_PORT": db.DB_PORT,
            "DB_USER": db.DB_USER,
            "DB_PASSWORD": db.DB_PASSWORD,
            "DB_NAME": db.DB_NAME,
        }
    return server_env(CHANNEL_KEYS=desk.key, **where, **settings)


async def start(*command: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    log = tempfile.TemporaryFile()  # noqa: SIM115  (the process's output, read on failure)
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
    )
    process.log = log  # type: ignore[attr-defined]
    return process


def output_of(process: asyncio.subprocess.Process) -> str:
    log = process.log  # type: ignore[attr-defined]
    log.seek(0)
    return str(log.read().decode()[-4000:])


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_a_dispatcher_killed_mid_send_leaves_each_message_delivered_once_after_a_restart(
    desk: Desk, receiver: Receiver
) -> None:
    """Five DOWN messages; the receiver holds the first request it gets, and the dispatcher process
    is killed with SIGKILL while it waits. A dispatcher started after the dead one's lease ended
    delivers all five. The one in flight at the kill reached the receiver twice, with the same
    X-Idempotency-Key (at least once on the wire): we count distinct keys, each answered once."""
    await desk.channel("hook", receiver.url())
    monitors = await desk.monitors(5)
    now = time.time()
    await desk.go_down(monitors, now)
    receiver.delay = 2.0  # held long enough to be killed during it, short for teardown
    process = await start(
        *DISPATCH, env=store_env(desk, NOTIFY_SENDERS=1, NOTIFY_TIMEOUT=60, DISPATCH_INTERVAL=0.2)
    )
    try:
        async with asyncio.timeout(30):
            await receiver.wait_for(1)
        process.send_signal(signal.SIGKILL)
        await process.wait()
    except BaseException:
        print(output_of(process))
        raise
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    in_flight = receiver.requests[0].headers["X-Idempotency-Key"]
    assert len(receiver.requests) == 1
    leased = await desk.rows(state=Delivery.PENDING)
    assert len(leased) == 5  # claimed by the dead process, none marked

    receiver.delay = 0.0
    # Before its lease ends nobody sends them again.
    await desk.dispatcher.tick(now + 5)
    assert len(receiver.requests) == 1
    restarted = desk.new_dispatcher()
    await restarted.tick(now + desk.dispatcher.lease + 60 * 8 + 120)
    arrived = keys_of(receiver)
    assert len(arrived) == 5
    assert {k: n for k, n in arrived.items() if n > 1} == {in_flight: 2}
    assert {r.state for r in await desk.rows()} == {Delivery.SENT}
    # A later restart sends nothing again.
    await desk.new_dispatcher().tick(now + 7200)
    assert len(receiver.requests) == 6


async def test_a_compute_killed_after_its_transition_was_stored_has_it_sent_once_by_a_dispatcher(
    desk: Desk, receiver: Receiver
) -> None:
    """The DOWN row is written in the checks' own transaction: a compute killed with SIGKILL in the
    middle of its cycle (another probe still hanging) loses nothing, and sends nothing itself."""
    await desk.channel("hook", receiver.url())
    refused = f"http://127.0.0.1:{closed_port()}/"
    async with target_server() as target:
        await desk.store.import_monitors([("refused", refused), ("hang", f"{target}/hang")], T0)
        process = await start(
            *COMPUTE,
            env=store_env(desk, FAILURE_THRESHOLD=1, WRITE_BATCH_SIZE=1, TIMEOUT=30),
        )
        try:
            async with asyncio.timeout(30):
                while not await desk.rows(kinds=(NotificationKind.DOWN,)):
                    assert process.returncode is None, output_of(process)
                    await asyncio.sleep(0.05)
            assert process.returncode is None  # still probing /hang
            process.send_signal(signal.SIGKILL)
            await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert receiver.requests == []
    now = time.time()
    await desk.dispatcher.tick(now)
    await desk.new_dispatcher().tick(now + 3600)
    [down] = receiver.requests
    assert down.json()["incident"]["url"] == refused
    assert down.json()["incident"]["cause"] == "connect"


async def test_alerts_flow_from_the_dispatch_command_while_redis_is_down(
    desk: Desk, receiver: Receiver
) -> None:
    """`service-monitor dispatch` uses only the store: CACHE_ADDRESS on a port where nothing
    listens changes nothing."""
    await desk.channel("hook", receiver.url())
    monitors = await desk.monitors(3)
    await desk.go_down(monitors, time.time())
    env = store_env(
        desk, CACHE_ADDRESS="127.0.0.1", CACHE_PORT=closed_port(), DISPATCH_INTERVAL=0.2
    )
    process = await start(*DISPATCH, env=env)
    try:
        async with asyncio.timeout(30):
            await receiver.wait_for(3)
        for later in (1.0, 2.0):  # after the failures; due at once (a row is due from its check)
            await desk.checks(monitors[:1], time.time() + later, ok=True)
        async with asyncio.timeout(30):
            await receiver.wait_for(4)
    except BaseException:
        print(output_of(process))
        raise
    finally:
        await stop(process)
    assert process.returncode == 0, output_of(process)
    assert kinds_of(receiver) == {"down": 3, "resolved": 1}


async def test_reconcile_at_start_resolves_what_recovered_meanwhile_and_notifies_it(
    desk: Desk, receiver: Receiver, tmp_path: Path
) -> None:
    """An incident still open whose monitor's success streak meets its (lowered) threshold, and one
    whose monitor was deleted while no dispatcher ran (Gatus #1111): a dispatcher's start resolves
    both and sends their RESOLVED."""
    await desk.channel("hook", receiver.url())
    lowered, deleted = await desk.monitors(2)
    await desk.go_down([lowered, deleted], T0)
    await desk.dispatcher.tick(T0)
    assert kinds_of(receiver) == {"down": 2}
    await desk.checks([lowered], T0 + 60, ok=True)  # one success: still down at 2
    await desk.store.set_thresholds(lowered, None, 1)
    await desk.store.delete_monitor(deleted)
    _, still_open = await desk.store.incidents(open_only=True, limit=10, offset=0)
    assert still_open == 2

    clock = FakeClock(T0 + 120)
    async with dispatching(desk.store, desk.settings, clock=clock) as loop:
        async with asyncio.timeout(20):
            await receiver.wait_for(4)
        assert loop.reconciled
    assert kinds_of(receiver) == {"down": 2, "resolved": 2}
    incidents, still_open = await desk.store.incidents(open_only=False, limit=10, offset=0)
    assert still_open == 2
    assert all(not i.is_open for i in incidents)
    assert {i.resolution for i in incidents} >= {"monitor deleted"}


async def test_a_stopped_dispatch_loop_ends_within_its_interval(desk: Desk) -> None:
    settings = desk_settings(Path(tempfile.mkdtemp()), desk.key, DISPATCH_INTERVAL=60)
    async with dispatching(desk.store, settings) as loop:
        await asyncio.sleep(0.2)
        started = time.monotonic()
    assert time.monotonic() - started < 5
    assert loop.ticks >= 1
