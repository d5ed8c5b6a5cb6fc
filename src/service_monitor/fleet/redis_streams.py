"""The queue of shards on Redis Streams: one stream per region read by the consumer group
`workers`, XAUTOCLAIM for the shards of a worker that died, a dead-letter stream, and a count per
slot of the shards still outstanding, each change made in one Lua script so that no crash can
leave a shard counted twice or not at all."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..config import Settings
from ..errors import QueueUnavailable
from .queue import Depth
from .shards import Delivery, Shard

T = TypeVar("T")

GROUP = "workers"
# Seconds a shard's publication marker outlives its slot's deadline: planning the slot again
# until then publishes nothing twice, and after it the slot is finished and never planned again.
# Not a day: at a million monitors every 10 minutes that kept 576,000 markers (about 60 MB).
MARKER_MARGIN_S = 600
# Seconds past a blocking read's own wait that a call may take before Redis is called down.
_MARGIN_S = 5.0
_DOWN = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)

# KEYS: marker, stream, slots. ARGV: marker ttl, stream maxlen, slot, then the entry's fields.
_PUBLISH = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 4))
  redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
  return 1
end
return 0
"""
# KEYS: stream, slots. ARGV: group, entry id, slot. An acknowledged entry is deleted, so the
# stream holds only shards waiting or in work; a slot the queue lost (restart) is not recreated.
_ACK = """
local done = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if done == 1 then
  redis.call('XDEL', KEYS[1], ARGV[2])
  if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then
    redis.call('HINCRBY', KEYS[2], ARGV[3], -1)
  end
end
return done
"""
# KEYS: stream, slots, dead letters. ARGV: group, entry id, slot, maxlen, then the fields to keep.
_DEAD = """
local done = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if done == 1 then
  redis.call('XDEL', KEYS[1], ARGV[2])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 5))
  if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then
    redis.call('HINCRBY', KEYS[2], ARGV[3], -1)
  end
end
return done
"""


class RedisShardQueue:
    def __init__(self, client: aioredis.Redis, settings: Settings) -> None:
        self._redis = client
        # One hash tag for every key: the scripts touch several keys, which a cluster keeps on
        # one node only when they share it.
        self._prefix = f"{settings.CACHE_KEY_PREFIX}{{fleet}}:"
        self._slots = f"{self._prefix}slots"
        self._dead = f"{self._prefix}shards:dead"
        self._maxlen = settings.STREAM_MAXLEN
        self._timeout = settings.CACHE_OP_TIMEOUT
        self._where = f"{settings.CACHE_ADDRESS}:{settings.CACHE_PORT}"
        self._publish = client.register_script(_PUBLISH)
        self._ack = client.register_script(_ACK)
        self._dead_script = client.register_script(_DEAD)
        self._groups: set[str] = set()  # streams whose group this process has made sure of

    @classmethod
    async def open(cls, settings: Settings) -> RedisShardQueue:
        client = aioredis.Redis(
            host=settings.CACHE_ADDRESS or "localhost",
            port=settings.CACHE_PORT,
            socket_connect_timeout=settings.CACHE_OP_TIMEOUT,
            decode_responses=True,
            ssl=settings.CACHE_TLS,
            password=(
                settings.CACHE_PASSWORD.get_secret_value() if settings.CACHE_PASSWORD else None
            ),
        )
        queue = cls(client, settings)
        try:
            await queue._call(client.ping)
        except QueueUnavailable:
            await client.aclose()
            raise
        return queue

    def stream(self, region: str) -> str:
        return f"{self._prefix}shards:{region}"

    async def _call(self, operation: Callable[[], Awaitable[T]], wait_s: float = 0.0) -> T:
        try:
            async with asyncio.timeout(self._timeout + wait_s):
                return await operation()
        except _DOWN as exc:
            raise QueueUnavailable(f"shard queue {self._where} failed: {exc!r}") from exc
        except RedisError as exc:
            raise QueueUnavailable(f"shard queue {self._where} answered: {exc}") from exc

    async def _ensure_group(self, stream: str, *, again: bool = False) -> None:
        if stream in self._groups and not again:
            return
        try:
            # From the stream's start: shards published before the first worker came are read.
            await self._call(
                lambda: self._redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
            )
        except QueueUnavailable as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add(stream)

    async def publish(self, shards: Sequence[Shard]) -> int:
        new = 0
        now_ms = round(time.time() * 1000)
        for shard in shards:
            stream = self.stream(shard.region)
            await self._ensure_group(stream)
            fields = [value for pair in shard.encode().items() for value in pair]
            keys = [f"{self._prefix}shard:{shard.id}", stream, self._slots]
            ttl = max(MARKER_MARGIN_S, (shard.deadline_ms - now_ms) // 1000 + MARKER_MARGIN_S)
            args: list[str | int] = [ttl, self._maxlen, shard.slot_ms, *fields]
            new += int(await self._call(functools.partial(self._publish, keys=keys, args=args)))
        return new

    async def take(self, region: str, consumer: str, count: int, block_s: float) -> list[Delivery]:
        stream = self.stream(region)
        await self._ensure_group(stream)

        async def read() -> Any:
            return await self._redis.xreadgroup(
                GROUP, consumer, {stream: ">"}, count=count, block=max(1, int(block_s * 1000))
            )

        try:
            answer = await self._call(read, block_s + _MARGIN_S)
        except QueueUnavailable as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis lost the stream (a restart without persistence): make it again, read next time.
            await self._ensure_group(stream, again=True)
            return []
        deliveries: list[Delivery] = []
        for _, entries in answer or []:
            for entry_id, fields in entries:
                deliveries.append(Delivery(Shard.decode(fields), entry_id, 1))
        return deliveries

    async def take_over(
        self, region: str, consumer: str, idle_s: float, count: int
    ) -> list[Delivery]:
        stream = self.stream(region)
        await self._ensure_group(stream)
        idle_ms = int(idle_s * 1000)
        try:
            answer = await self._call(
                lambda: self._redis.xautoclaim(
                    stream, GROUP, consumer, min_idle_time=idle_ms, start_id="0-0", count=count
                )
            )
        except QueueUnavailable as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self._ensure_group(stream, again=True)
            return []
        deliveries: list[Delivery] = []
        for entry_id, fields in answer[1]:
            if not fields:
                continue  # deleted meanwhile (acknowledged by its first worker at the last moment)
            pending = await self._call(
                functools.partial(
                    self._redis.xpending_range, stream, GROUP, min=entry_id, max=entry_id, count=1
                )
            )
            times = int(pending[0]["times_delivered"]) if pending else 1
            deliveries.append(Delivery(Shard.decode(fields), entry_id, times))
        return deliveries

    async def renew(self, region: str, consumer: str, entry_ids: Sequence[str]) -> None:
        if not entry_ids:
            return
        stream = self.stream(region)
        # JUSTID: the idle time starts again and the delivery count stays as it is.
        await self._call(
            lambda: self._redis.xclaim(
                stream, GROUP, consumer, min_idle_time=0, message_ids=list(entry_ids), justid=True
            )
        )

    async def ack(self, delivery: Delivery) -> bool:
        shard = delivery.shard
        keys = [self.stream(shard.region), self._slots]
        args: list[str | int] = [GROUP, delivery.entry_id, shard.slot_ms]
        return bool(await self._call(lambda: self._ack(keys=keys, args=args)))

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        shard = delivery.shard
        fields = {
            **shard.encode(),
            "deliveries": str(delivery.deliveries),
            "reason": reason[:500],
        }
        keys = [self.stream(shard.region), self._slots, self._dead]
        args: list[str | int] = [
            GROUP,
            delivery.entry_id,
            shard.slot_ms,
            self._maxlen,
            *(value for pair in fields.items() for value in pair),
        ]
        await self._call(lambda: self._dead_script(keys=keys, args=args))

    async def outstanding(self, slot_ms: int) -> int | None:
        value = await self._call(lambda: self._redis.hget(self._slots, str(slot_ms)))
        return None if value is None else int(value)

    async def forget_slot(self, slot_ms: int) -> None:
        await self._call(lambda: self._redis.hdel(self._slots, str(slot_ms)))

    async def depth(self, region: str) -> Depth:
        stream = self.stream(region)

        async def read() -> tuple[int, int]:
            length = await self._redis.xlen(stream)
            try:
                summary = await self._redis.xpending(stream, GROUP)
            except ResponseError:  # no group yet: nothing taken
                return int(length), 0
            return int(length), int(summary["pending"])

        length, pending = await self._call(read)
        return Depth(length=length, lag=max(0, length - pending), pending=pending)

    async def dead_letters(self) -> int:
        return int(await self._call(lambda: self._redis.xlen(self._dead)))

    async def close(self) -> None:
        await self._redis.aclose()
