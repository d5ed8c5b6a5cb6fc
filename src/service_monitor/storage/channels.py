"""The notification channels (their targets kept sealed, never unsealed here) and the channels each
monitor names: ChannelStore, written once for both backends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..alerts import Channel, ChannelType, Delivery, SealedChannel
from ..errors import ChannelInUse, ChannelNotFound, DuplicateChannel, MonitorNotFound
from ..models import MonitorState
from .base import SQLBase, marks
from .rollups import MS_PER_S, to_ms
from .statements import Row, Statements

_DELETED = int(MonitorState.DELETED)
_CHANNEL_COLUMNS = (
    "id, name, type, target_hint, is_default, send_resolved, resend_every, created_at"
)
CHANNEL_DELETED = "channel deleted"


def _channel(row: Row) -> Channel:
    return Channel(
        id=int(row[0]),
        name=row[1],
        type=ChannelType(row[2]),
        target_hint=row[3],
        is_default=bool(row[4]),
        send_resolved=bool(row[5]),
        resend_every=None if row[6] is None else int(row[6]),
        created_at=int(row[7]) / MS_PER_S,
    )


class ChannelSQL(SQLBase):
    """ChannelStore over the backend's statements."""

    async def add_channel(
        self,
        name: str,
        type: ChannelType,
        *,
        target_hint: str,
        sealed_target: bytes,
        sealed_secret: bytes | None,
        is_default: bool,
        send_resolved: bool,
        resend_every: int | None,
        now: float,
    ) -> Channel:
        created = to_ms(now)
        try:
            done = await self.execute(
                "INSERT INTO channels (name, type, target_hint, sealed_target, sealed_secret,"
                " is_default, send_resolved, resend_every, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    type.value,
                    target_hint,
                    sealed_target,
                    sealed_secret,
                    int(is_default),
                    int(send_resolved),
                    resend_every,
                    created,
                ),
            )
        except self.DUPLICATE_KEY_ERRORS:
            raise await self._duplicate(name) from None
        assert done.lastrowid is not None
        return Channel(
            id=int(done.lastrowid),
            name=name,
            type=type,
            target_hint=target_hint,
            is_default=is_default,
            send_resolved=send_resolved,
            resend_every=resend_every,
            created_at=created / MS_PER_S,
        )

    async def _duplicate(self, name: str) -> DuplicateChannel:
        rows = await self.fetch("SELECT id FROM channels WHERE name = ?", (name,))
        return DuplicateChannel(name, int(rows[0][0]) if rows else 0)

    async def list_channels(self) -> list[Channel]:
        rows = await self.fetch(f"SELECT {_CHANNEL_COLUMNS} FROM channels ORDER BY id")
        return [_channel(row) for row in rows]

    async def get_channel(self, channel_id: int) -> Channel:
        rows = await self.fetch(
            f"SELECT {_CHANNEL_COLUMNS} FROM channels WHERE id = ?", (channel_id,)
        )
        if not rows:
            raise ChannelNotFound(channel_id)
        return _channel(rows[0])

    async def sealed_channel(self, channel_id: int) -> SealedChannel:
        rows = await self.fetch(
            f"SELECT {_CHANNEL_COLUMNS}, sealed_target, sealed_secret FROM channels WHERE id = ?",
            (channel_id,),
        )
        if not rows:
            raise ChannelNotFound(channel_id)
        secret = rows[0][9]
        return SealedChannel(
            channel=_channel(rows[0]),
            sealed_target=bytes(rows[0][8]),
            sealed_secret=None if secret is None else bytes(secret),
        )

    async def update_channel(
        self,
        channel_id: int,
        *,
        name: str | None = None,
        target_hint: str | None = None,
        sealed_target: bytes | None = None,
        sealed_secret: bytes | None = None,
        is_default: bool | None = None,
        send_resolved: bool | None = None,
        resend_every: int | None = None,
        clear_resend_every: bool = False,
    ) -> Channel:
        if resend_every is not None and clear_resend_every:
            raise ValueError("give either resend_every or clear_resend_every, not both")
        changes: dict[str, Any] = {
            column: value
            for column, value in (
                ("name", name),
                ("target_hint", target_hint),
                ("sealed_target", sealed_target),
                ("sealed_secret", sealed_secret),
                ("is_default", None if is_default is None else int(is_default)),
                ("send_resolved", None if send_resolved is None else int(send_resolved)),
                ("resend_every", resend_every),
            )
            if value is not None
        }
        assignments = [f"{column} = ?" for column in changes]
        if clear_resend_every:
            assignments.append("resend_every = NULL")
        try:
            async with self._transaction() as tx:
                found = await tx.fetch(
                    "SELECT id FROM channels WHERE id = ?" + self.FOR_UPDATE, (channel_id,)
                )
                if not found:
                    raise ChannelNotFound(channel_id)
                if assignments:
                    await tx.execute(
                        f"UPDATE channels SET {', '.join(assignments)} WHERE id = ?",
                        (*changes.values(), channel_id),
                    )
        except self.DUPLICATE_KEY_ERRORS:
            assert name is not None  # only the name is unique
            raise await self._duplicate(name) from None
        return await self.get_channel(channel_id)

    async def delete_channel(self, channel_id: int, *, force: bool = False) -> None:
        async with self._transaction() as tx:
            found = await tx.fetch(
                "SELECT id FROM channels WHERE id = ?" + self.FOR_UPDATE, (channel_id,)
            )
            if not found:
                raise ChannelNotFound(channel_id)
            users = await self._usage(tx, channel_id)
            if users and not force:
                raise ChannelInUse(channel_id, users)
            # Deleted monitors' namings go too: nobody can see or change them any more.
            await tx.execute("DELETE FROM monitor_channels WHERE channel_id = ?", (channel_id,))
            await tx.execute(
                "UPDATE notifications SET state = ?, last_error = ?, lease_until = NULL,"
                " lease_owner = NULL"
                f" WHERE channel_id = ? AND state IN ({marks(2)})",
                (
                    Delivery.DROPPED.value,
                    CHANNEL_DELETED,
                    channel_id,
                    Delivery.PENDING.value,
                    Delivery.HELD.value,
                ),
            )
            await tx.execute("DELETE FROM channels WHERE id = ?", (channel_id,))

    async def channel_usage(self, channel_id: int) -> int:
        return await self._usage(self, channel_id)

    @staticmethod
    async def _usage(db: Statements, channel_id: int) -> int:
        rows = await db.fetch(
            "SELECT COUNT(*) FROM monitor_channels mc JOIN monitors m ON m.id = mc.monitor_id"
            " WHERE mc.channel_id = ? AND m.state <> ?",
            (channel_id, _DELETED),
        )
        return int(rows[0][0])

    async def monitor_channels(self, monitor_id: int) -> list[int]:
        rows = await self.fetch(
            "SELECT channel_id FROM monitor_channels WHERE monitor_id = ? ORDER BY channel_id",
            (monitor_id,),
        )
        return [int(row[0]) for row in rows]

    async def set_monitor_channels(self, monitor_id: int, channel_ids: Sequence[int]) -> None:
        wanted = sorted(set(channel_ids))
        async with self._transaction() as tx:
            if not await tx.fetch(
                "SELECT id FROM monitors WHERE id = ? AND state <> ?", (monitor_id, _DELETED)
            ):
                raise MonitorNotFound(monitor_id)
            if wanted:
                known = {
                    int(row[0])
                    for row in await tx.fetch(
                        f"SELECT id FROM channels WHERE id IN ({marks(len(wanted))})"
                        + self.FOR_UPDATE,
                        wanted,
                    )
                }
                missing = [c for c in wanted if c not in known]
                if missing:
                    raise ChannelNotFound(missing[0])
            await tx.execute("DELETE FROM monitor_channels WHERE monitor_id = ?", (monitor_id,))
            if wanted:
                await tx.executemany(
                    "INSERT INTO monitor_channels (monitor_id, channel_id) VALUES (?, ?)",
                    [(monitor_id, channel_id) for channel_id in wanted],
                )


__all__ = ["CHANNEL_DELETED", "ChannelSQL"]
