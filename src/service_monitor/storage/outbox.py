"""The outbox of notifications: queued once by their key, claimed under a lease by dispatchers, and
marked as they are sent, retried, held, merged or given up: OutboxStore, written once for both
backends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..alerts import ChannelType, Delivery, Notification, NotificationKind
from .base import SQLBase, chunks, marks
from .rollups import MS_PER_S, to_ms
from .statements import Row

_COLUMNS = (
    "id, dedup_key, kind, channel_id, incident_id, monitor_id, state, attempts, created_at,"
    " next_attempt_at, sent_at, last_error, digest_id, body"
)
# last_error is a VARCHAR(500) on MySQL: a longer reason is cut to fit.
_MAX_ERROR = 500
# Delivery states a notification never leaves: retention removes them after rollup_days.
FINISHED = (Delivery.SENT, Delivery.FAILED, Delivery.MERGED, Delivery.DROPPED)


def _error(text: str | None) -> str | None:
    if text is None or len(text) <= _MAX_ERROR:
        return text
    return text[: _MAX_ERROR - 1] + "\u2026"


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _notification(row: Row) -> Notification:
    return Notification(
        id=int(row[0]),
        key=row[1],
        kind=NotificationKind(row[2]),
        channel_id=int(row[3]),
        incident_id=_optional_int(row[4]),
        monitor_id=_optional_int(row[5]),
        state=Delivery(row[6]),
        attempts=int(row[7]),
        created_at=int(row[8]) / MS_PER_S,
        next_attempt_at=int(row[9]) / MS_PER_S,
        sent_at=None if row[10] is None else int(row[10]) / MS_PER_S,
        last_error=row[11],
        digest_id=_optional_int(row[12]),
        body=row[13],
    )


class OutboxSQL(SQLBase):
    """OutboxStore over the backend's statements."""

    async def queue_notification(
        self,
        key: str,
        kind: NotificationKind,
        channel_id: int,
        now: float,
        *,
        incident_id: int | None = None,
        monitor_id: int | None = None,
        body: str | None = None,
        state: Delivery = Delivery.PENDING,
    ) -> Notification | None:
        now_ms = to_ms(now)
        done = await self.execute(
            self.INSERT_NOTIFICATION_IF_ABSENT,
            (
                key,
                kind.value,
                channel_id,
                incident_id,
                monitor_id,
                state.value,
                now_ms,
                now_ms,
                body,
            ),
        )
        if done.rowcount != 1:
            return None
        rows = await self.fetch(f"SELECT {_COLUMNS} FROM notifications WHERE dedup_key = ?", (key,))
        return _notification(rows[0])

    async def claim_due(
        self, now: float, *, limit: int, lease: float, owner: str
    ) -> list[Notification]:
        now_ms, until_ms = to_ms(now), to_ms(now + lease)
        free = "state = ? AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)"
        params = (Delivery.PENDING.value, now_ms, now_ms)
        async with self._transaction() as tx:
            ids = [
                int(row[0])
                for row in await tx.fetch(
                    f"SELECT id FROM notifications WHERE {free}"
                    " ORDER BY next_attempt_at, id LIMIT ?" + self.FOR_UPDATE_SKIP_LOCKED,
                    (*params, limit),
                )
            ]
            if not ids:
                return []
            # The same condition again: a row another claimer leased meanwhile is not taken.
            await tx.execute(
                "UPDATE notifications SET lease_until = ?, lease_owner = ?"
                f" WHERE id IN ({marks(len(ids))}) AND {free}",
                (until_ms, owner, *ids, *params),
            )
            rows = await tx.fetch(
                f"SELECT {_COLUMNS} FROM notifications WHERE id IN ({marks(len(ids))})"
                " AND lease_owner = ? AND lease_until = ? ORDER BY next_attempt_at, id",
                (*ids, owner, until_ms),
            )
        return [_notification(row) for row in rows]

    async def mark_sent(self, notification_id: int, now: float) -> None:
        await self.execute(
            "UPDATE notifications SET state = ?, sent_at = ?, attempts = attempts + 1,"
            " last_error = NULL, lease_until = NULL, lease_owner = NULL WHERE id = ?",
            (Delivery.SENT.value, to_ms(now), notification_id),
        )

    async def mark_retry(self, notification_id: int, next_attempt_at: float, error: str) -> None:
        await self.execute(
            "UPDATE notifications SET attempts = attempts + 1, next_attempt_at = ?,"
            " last_error = ?, lease_until = NULL, lease_owner = NULL WHERE id = ?",
            (to_ms(next_attempt_at), _error(error), notification_id),
        )

    async def mark_failed(self, notification_id: int, now: float, error: str) -> None:
        # next_attempt_at keeps the time of the last attempt, when it was given up.
        await self.execute(
            "UPDATE notifications SET state = ?, attempts = attempts + 1, next_attempt_at = ?,"
            " last_error = ?, lease_until = NULL, lease_owner = NULL WHERE id = ?",
            (Delivery.FAILED.value, to_ms(now), _error(error), notification_id),
        )

    async def set_delivery(
        self,
        notification_ids: Sequence[int],
        state: Delivery,
        *,
        why: str | None = None,
        next_attempt_at: float | None = None,
        digest_id: int | None = None,
    ) -> None:
        assignments = ["state = ?", "lease_until = NULL", "lease_owner = NULL"]
        values: list[Any] = [state.value]
        if why is not None:
            assignments.append("last_error = ?")
            values.append(_error(why))
        if next_attempt_at is not None:
            assignments.append("next_attempt_at = ?")
            values.append(to_ms(next_attempt_at))
        if digest_id is not None:
            assignments.append("digest_id = ?")
            values.append(digest_id)
        async with self._transaction() as tx:
            for ids in chunks(sorted(set(notification_ids))):
                await tx.execute(
                    f"UPDATE notifications SET {', '.join(assignments)}"
                    f" WHERE id IN ({marks(len(ids))})",
                    (*values, *ids),
                )

    async def notifications(
        self,
        *,
        limit: int,
        offset: int,
        incident_id: int | None = None,
        state: Delivery | None = None,
        kinds: Sequence[NotificationKind] = (),
    ) -> tuple[list[Notification], int]:
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if incident_id is not None:
            where.append("incident_id = ?")
            params.append(incident_id)
        if state is not None:
            where.append("state = ?")
            params.append(state.value)
        if kinds:
            where.append(f"kind IN ({marks(len(kinds))})")
            params += [kind.value for kind in kinds]
        clause = " AND ".join(where)
        rows = await self.fetch(
            f"SELECT {_COLUMNS} FROM notifications WHERE {clause}"
            " ORDER BY id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        total = await self.fetch(f"SELECT COUNT(*) FROM notifications WHERE {clause}", params)
        return [_notification(row) for row in rows], int(total[0][0])

    async def outbox_counts(self) -> dict[tuple[ChannelType, Delivery], int]:
        rows = await self.fetch(
            "SELECT c.type, n.state, COUNT(*) FROM notifications n"
            " JOIN channels c ON c.id = n.channel_id GROUP BY c.type, n.state"
        )
        return {(ChannelType(t), Delivery(s)): int(count) for t, s, count in rows}


__all__ = ["FINISHED", "OutboxSQL"]
