"""What the dispatcher tests share: a dispatcher on a test's store with a real sender, channels
pointed at the local receivers, and monitors moved down and up by storing their checks, with time
simulated by the `now` each step is handed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from service_monitor.alerting.dispatcher import Dispatcher, TickReport
from service_monitor.alerting.sealing import Sealer, new_key
from service_monitor.alerting.senders import ChannelSender, new_webhook_secret
from service_monitor.alerting.targets import target_hint
from service_monitor.alerts import Channel, ChannelType, Notification
from service_monitor.config import Settings
from service_monitor.models import Cause, Check, Status
from service_monitor.storage import Storage
from tests.alerting.receiver import Receiver
from tests.conftest import embedded_settings

T0 = 1_700_000_000.0  # a simulated start, on a whole minute


def desk_settings(tmp_path: Path, key: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "NOTIFY_TIMEOUT": 5.0,
        "CHANNEL_KEYS": key,
        "DISPATCH_INTERVAL": 0.2,
        **overrides,
    }
    return embedded_settings(tmp_path, **values)


@dataclass
class Desk:
    """A dispatcher with its store, sender and sealer, and helpers that make its world."""

    store: Storage
    settings: Settings
    sealer: Sealer
    sender: ChannelSender
    key: str
    dispatcher: Dispatcher = field(init=False)

    def __post_init__(self) -> None:
        self.dispatcher = self.new_dispatcher()

    def new_dispatcher(self) -> Dispatcher:
        """Another dispatcher on the same store, as after a restart."""
        return Dispatcher(self.store, self.sender, self.sealer, self.settings)

    async def channel(
        self,
        name: str,
        target: str,
        *,
        type: ChannelType = ChannelType.WEBHOOK,
        default: bool = True,
        send_resolved: bool = True,
        resend_every: int | None = None,
    ) -> Channel:
        secret = new_webhook_secret() if type is ChannelType.WEBHOOK else None
        return await self.store.add_channel(
            name,
            type,
            target_hint=target_hint(target),
            sealed_target=self.sealer.seal(target),
            sealed_secret=None if secret is None else self.sealer.seal(secret),
            is_default=default,
            send_resolved=send_resolved,
            resend_every=resend_every,
            now=T0,
        )

    async def monitors(self, count: int, prefix: str = "m") -> list[int]:
        rows = [(f"{prefix}{i}", f"http://{prefix}{i}.example.test/") for i in range(count)]
        await self.store.import_monitors(rows, T0)
        listed, _ = await self.store.list_monitors(count + 1000, 0, prefix)
        return sorted(m.id for m in listed if m.name.startswith(prefix))

    async def checks(
        self,
        monitor_ids: Sequence[int],
        at: float,
        *,
        ok: bool,
        cause: Cause = Cause.CONNECT,
    ) -> None:
        checks = [
            Check(i, at, Status.SUCCESS, 200, 10)
            if ok
            else Check(i, at, Status.FAIL, None, 10, cause, f"{cause.value}: on purpose")
            for i in monitor_ids
        ]
        await self.store.add_checks(checks)

    async def go_down(
        self, monitor_ids: Sequence[int], at: float, cause: Cause = Cause.CONNECT
    ) -> None:
        """Three failed checks (the default threshold), the last at `at`."""
        for back in (20.0, 10.0, 0.0):
            await self.checks(monitor_ids, at - back, ok=False, cause=cause)

    async def go_up(self, monitor_ids: Sequence[int], at: float) -> None:
        """Two successes (the default threshold), the last at `at`."""
        for back in (10.0, 0.0):
            await self.checks(monitor_ids, at - back, ok=True)

    async def run(self, start: float, end: float, step: float = 10.0) -> list[TickReport]:
        """Ticks from `start` to `end` (both included) every `step` simulated seconds."""
        reports = []
        now = start
        while now <= end:
            reports.append(await self.dispatcher.tick(now))
            now += step
        return reports

    async def rows(self, **filters: object) -> list[Notification]:
        rows, _ = await self.store.notifications(limit=100_000, offset=0, **filters)  # type: ignore[arg-type]
        return rows


def keys_of(receiver: Receiver, since: int = 0) -> Counter[str]:
    """How many times each X-Idempotency-Key arrived, from request `since` on."""
    return Counter(r.headers.get("X-Idempotency-Key", "") for r in receiver.requests[since:])


def kinds_of(receiver: Receiver) -> Counter[str]:
    return Counter(json.loads(r.body)["kind"] for r in receiver.requests)


def fresh_key() -> str:
    return new_key()
