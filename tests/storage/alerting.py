"""What the store's alerting tests share: checks that pass or fail, a monitor that is probed, and a
channel added with made-up sealed bytes (the store never unseals them)."""

from __future__ import annotations

from service_monitor.alerts import Channel, ChannelType
from service_monitor.models import Cause, Check, Status
from service_monitor.storage import Storage

NOW = 1_800_000_000.0


def ok(monitor_id: int, at: float) -> Check:
    return Check(monitor_id, at, Status.SUCCESS, 200, 12)


def bad(
    monitor_id: int, at: float, cause: Cause = Cause.HTTP_STATUS, detail: str | None = None
) -> Check:
    return Check(monitor_id, at, Status.FAIL, 500, 30, cause, detail=detail)


async def probed_monitor(storage: Storage, name: str = "a") -> int:
    monitor = await storage.add_monitor(name, f"http://{name}.example.com", NOW)
    await storage.activate([monitor.id])
    return monitor.id


async def channel(
    storage: Storage,
    name: str,
    *,
    is_default: bool = False,
    send_resolved: bool = True,
    resend_every: int | None = None,
    type: ChannelType = ChannelType.APPRISE,
) -> Channel:
    return await storage.add_channel(
        name,
        type,
        target_hint=f"json://{name}.example.com",
        sealed_target=b"sealed:" + name.encode(),
        sealed_secret=b"secret" if type is ChannelType.WEBHOOK else None,
        is_default=is_default,
        send_resolved=send_resolved,
        resend_every=resend_every,
        now=NOW,
    )
