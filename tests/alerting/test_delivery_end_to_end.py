"""From a probe to a webhook delivered: real compute cycles against a local HTTP server, on each
deployment, then the dispatcher; and `serve` and `api` processes, whose dispatcher (RUN_DISPATCHER)
sends while they run and counts the send on /metrics."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service_monitor.alerting.dispatcher import Dispatcher
from service_monitor.alerting.sealing import Sealer, new_key
from service_monitor.alerting.senders import ChannelSender, new_webhook_secret
from service_monitor.alerting.targets import target_hint
from service_monitor.alerts import ChannelType, Delivery
from service_monitor.compute.cycle import run_cycle
from service_monitor.compute.prober import open_probe_sessions
from service_monitor.config import load_settings
from service_monitor.services import Services
from service_monitor.storage import Storage, open_storage
from tests.alerting.receiver import Receiver, receiving
from tests.servers import SETTING_NAMES, running
from tests.targets import closed_port, target_server


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as got:
        yield got


async def add_webhook(store: Storage, sealer: Sealer, url: str, now: float) -> None:
    await store.add_channel(
        "hook",
        ChannelType.WEBHOOK,
        target_hint=target_hint(url),
        sealed_target=sealer.seal(url),
        sealed_secret=sealer.seal(new_webhook_secret()),
        is_default=True,
        send_resolved=True,
        resend_every=None,
        now=now,
    )


async def test_three_failing_cycles_then_two_good_ones_deliver_a_down_and_a_resolved(
    services: Services, receiver: Receiver
) -> None:
    key = new_key()
    settings = services.settings.model_copy(update={"TIMEOUT": 2.0, "NOTIFY_TIMEOUT": 5.0})
    sealer = Sealer([key])
    clock = services.clock
    await add_webhook(services.storage, sealer, receiver.url(), clock())
    async with target_server() as target, ChannelSender(settings) as sender:
        url = f"{target}/status/503"
        await services.storage.import_monitors([("shop", url)], clock())
        dispatcher = Dispatcher(services.storage, sender, sealer, settings)

        async def cycle() -> None:
            async with open_probe_sessions(settings) as sessions:
                await run_cycle(services.storage, services.cache, sessions, settings, clock=clock)
            clock.advance(60)  # type: ignore[attr-defined]
            await dispatcher.tick(clock())

        for _ in range(3):
            await cycle()
        [down] = receiver.requests
        incident = down.json()["incident"]
        assert (down.json()["kind"], incident["url"], incident["cause"]) == (
            "down",
            url,
            "http_status",
        )
        assert "503" in incident["detail"]

        await services.storage.update_monitor(
            (await services.storage.list_monitors(1, 0))[0][0].id, url=f"{target}/ok"
        )
        for _ in range(2):
            await cycle()
    assert [r.json()["kind"] for r in receiver.requests] == ["down", "resolved"]
    rows, _ = await services.storage.notifications(limit=10, offset=0)
    assert {r.state for r in rows} == {Delivery.SENT}


@pytest.mark.parametrize("command", ["serve", "api"])
async def test_an_api_process_sends_alerts_and_counts_them_on_metrics(
    command: str, deployment: dict[str, str], receiver: Receiver, tmp_path: Path
) -> None:
    """`serve` (its compute makes the incident) and `api` (the checks come from elsewhere, here a
    compute process) each run the dispatcher, RUN_DISPATCHER being true by default."""
    key = new_key()
    env = {**deployment, "CHANNEL_KEYS": key, "FAILURE_THRESHOLD": "1", "DISPATCH_INTERVAL": "0.2"}
    settings = load_settings(**{k: v for k, v in env.items() if k in SETTING_NAMES})
    store = await open_storage(settings)
    try:
        await add_webhook(store, Sealer([key]), receiver.url(), 0.0)
    finally:
        await store.close()
    refused = f"http://127.0.0.1:{closed_port()}/"
    csv = tmp_path / "urls.csv"
    csv.write_text(f"name,url\nrefused,{refused}\n")
    port = closed_port()
    cli = (sys.executable, "-m", "service_monitor.cli")
    args: tuple[str, ...] = (*cli, command, "--port", str(port))
    if command == "serve":
        args += ("--data-path", str(csv))
    async with running(*args, env=env, port=port) as base:
        if command == "api":
            compute = await asyncio.create_subprocess_exec(
                *cli, "compute", "--data-path", str(csv), env=env
            )
            assert await compute.wait() == 0
        async with asyncio.timeout(30):
            [down] = await receiver.wait_for(1)
        assert down.json()["incident"]["url"] == refused
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(50):  # marked sent just after the receiver answered
                metrics = (await client.get("/metrics")).text
                line = 'service_monitor_notifications_total{channel_type="webhook",result="sent"}'
                if f"{line} 1.0" in metrics:
                    break
                await asyncio.sleep(0.1)
            assert f"{line} 1.0" in metrics
    assert len(receiver.requests) == 1
