"""The shard queue and its alternatives on one Redis: publish N shards (250 monitors each, the
payload of Shard.encode), then take and acknowledge them all with 1 and 4 concurrent consumers (each
its own client, in this process). For each queue it prints the medians of --runs runs:
- publish and consume rates (shards/s), each publish one at a time as the planner does;
- the stream's memory at its peak (MEMORY USAGE SAMPLES 0, just after publishing) and the INFO
  used_memory delta (everything the queue keeps: our dedup markers too), and what is left once all
  are acknowledged;
- this process's CPU seconds per 1,000 shards, and Redis's (INFO cpu: the whole instance, so other
  clients of a shared Redis are counted too).

The queues:
- ours: RedisShardQueue, each consumer looping as a worker's lane does (XAUTOCLAIM probe for
  shards left idle, XREADGROUP one shard, the ack script); `ours-read` the same without the probe.
- taskiq: taskiq-redis's RedisStreamBroker, a task that only decodes the shard, kicked with .kiq()
  and run by taskiq's own Receiver (one task at a time per consumer, the broker's ack when done);
  `taskiq-1` reads one entry per XREADGROUP (what a worker holding no shard it is not working on
  needs), `taskiq-100` the broker's default 100.
- list: a reliable list queue (LPUSH, BLMOVE to an in-flight list, LREM), raw throughput only: no
  dedup, no takeover, no counts.

Figures only, never an assertion. Other clients of a shared Redis move them (the load average is
printed beside them). taskiq and taskiq-redis come from requirements-test.txt; without them the
taskiq rows are skipped with a note.

    python bench/bench_queue.py [--shards 10000] [--items 250] [--runs 3] [--consumers 1,4]
        [--queues ours,ours-read,taskiq-1,taskiq-100,list] [--port 6379] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import redis.asyncio as aioredis

from service_monitor.config import load_settings
from service_monitor.fleet.redis_streams import RedisShardQueue
from service_monitor.fleet.shards import Shard

PREFIX = "bench-queue:"
REGION = "local"
LEASE_S = 120.0  # 2 x SHARD_DEADLINE's default: the worker's takeover idle time
MAXLEN = 100_000  # STREAM_MAXLEN's default
QUEUES = ("ours", "ours-read", "taskiq-1", "taskiq-100", "list")


def make_shards(count: int, items: int, slot_ms: int) -> list[Shard]:
    """`count` shards of `items` monitors of one slot, due times spread over its minute."""
    total = count * items
    shards = []
    for k in range(count):
        first = k * items
        shard_items = tuple(
            (first + i + 1, slot_ms + (first + i) * 60_000 // total) for i in range(items)
        )
        shards.append(Shard(slot_ms, REGION, shard_items, slot_ms + 120_000))
    return shards


class Acks:
    """Counts acknowledgements; at the expected number it notes the time and this process's CPU
    time (the end of a consume: the consumers' last blocking reads and shutdown are not counted)
    and sets `all_done`."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.all_done = asyncio.Event()
        self.end = (0.0, 0.0)

    def add(self) -> None:
        self.count += 1
        if self.count == self.expected:
            self.end = (time.perf_counter(), time.process_time())
            self.all_done.set()


@dataclass
class Sample:
    publish_s: float
    publish_cpu_s: float
    publish_redis_cpu_s: float
    consume_s: float
    consume_cpu_s: float
    consume_redis_cpu_s: float
    stream_bytes: int  # MEMORY USAGE of the stream at its peak
    used_delta: int  # INFO used_memory after publishing, less before
    left_bytes: int  # MEMORY USAGE of the stream once everything is acknowledged
    load: float


@dataclass
class Row:
    queue: str
    consumers: int
    samples: list[Sample] = field(default_factory=list)


async def redis_cpu(client: aioredis.Redis) -> float:
    info = await client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def used_memory(client: aioredis.Redis) -> int:
    return int((await client.info("memory"))["used_memory"])


async def memory_usage(client: aioredis.Redis, key: str) -> int:
    return int(await client.memory_usage(key, samples=0) or 0)


async def clean(client: aioredis.Redis) -> None:
    for pattern in (f"{PREFIX}*", f"autoclaim:*{PREFIX}*"):
        keys = [key async for key in client.scan_iter(match=pattern, count=1000)]
        for start in range(0, len(keys), 1000):
            await client.delete(*keys[start : start + 1000])


async def measured(
    operation: Callable[[], Awaitable[tuple[float, float] | None]], client: aioredis.Redis
) -> tuple[float, float, float]:
    """Wall seconds, this process's CPU seconds and Redis's CPU seconds of `operation`, up to the
    (wall, CPU) end it returns, or to its return."""
    redis_before = await redis_cpu(client)
    cpu_before = time.process_time()
    start = time.perf_counter()
    end = await operation()
    wall_end, cpu_end = end or (time.perf_counter(), time.process_time())
    return wall_end - start, cpu_end - cpu_before, await redis_cpu(client) - redis_before


# ---- ours -------------------------------------------------------------------------------------


class Ours:
    def __init__(self, port: int, consumers: int, probe: bool) -> None:
        self.settings = load_settings(
            CACHE_ADDRESS="127.0.0.1",
            CACHE_PORT=port,
            CACHE_KEY_PREFIX=PREFIX,
            STREAM_MAXLEN=MAXLEN,
        )
        self.consumers = consumers
        self.probe = probe
        self.publisher: RedisShardQueue | None = None
        self.key = ""

    async def setup(self) -> None:
        self.publisher = await RedisShardQueue.open(self.settings)
        self.key = self.publisher.stream(REGION)

    async def publish(self, shards: list[Shard]) -> None:
        assert self.publisher is not None
        await self.publisher.publish(shards)

    async def consume(self, expected: int) -> tuple[float, float]:
        queues = [await RedisShardQueue.open(self.settings) for _ in range(self.consumers)]
        acks = Acks(expected)

        async def lane(queue: RedisShardQueue, consumer: str) -> None:
            while not acks.all_done.is_set():
                deliveries = []
                if self.probe:
                    deliveries = await queue.take_over(REGION, consumer, LEASE_S, 1)
                if not deliveries:
                    deliveries = await queue.take(REGION, consumer, 1, 0.2)
                for delivery in deliveries:
                    await queue.ack(delivery)
                    acks.add()

        try:
            async with asyncio.TaskGroup() as group:
                for index, queue in enumerate(queues):
                    group.create_task(lane(queue, f"bench-{index}"))
        finally:
            for queue in queues:
                await queue.close()
        return acks.end

    async def close(self) -> None:
        if self.publisher is not None:
            await self.publisher.close()


# ---- taskiq -----------------------------------------------------------------------------------


def taskiq_missing() -> str | None:
    try:
        import taskiq  # noqa: F401
        import taskiq_redis  # noqa: F401
    except ImportError as exc:
        return f"taskiq rows skipped: {exc} (pip install -r requirements-test.txt)"
    return None


async def probe_shard(shard: dict[str, str]) -> None:
    """The bench's task: it decodes the shard, as RedisShardQueue.take does, and nothing more."""
    Shard.decode(shard)


class Taskiq:
    def __init__(self, port: int, consumers: int, read_count: int) -> None:
        self.url = f"redis://127.0.0.1:{port}"
        self.consumers = consumers
        self.read_count = read_count
        self.key = f"{PREFIX}taskiq:shards:{REGION}"
        self.publisher: Any = None
        self.task: Any = None

    def broker(self, name: str, acks: Acks | None = None) -> Any:
        from taskiq_redis import RedisStreamBroker

        class CountingBroker(RedisStreamBroker):
            def _ack_generator(self, id: str, queue_name: str) -> Callable[[], Awaitable[None]]:
                inner = super()._ack_generator(id, queue_name)

                async def ack() -> None:
                    await inner()
                    if acks is not None:
                        acks.add()

                return ack

        broker = CountingBroker(
            self.url,
            queue_name=self.key,
            consumer_group_name="workers",
            consumer_name=name,
            maxlen=MAXLEN,
            xread_block=200,
            xread_count=self.read_count,
            idle_timeout=int(LEASE_S * 1000),
        )
        return broker

    async def setup(self) -> None:
        self.publisher = self.broker("publisher")
        self.task = self.publisher.register_task(probe_shard, task_name="probe_shard")
        await self.publisher.startup()  # makes the group at the stream's end ("$")

    async def publish(self, shards: list[Shard]) -> None:
        for shard in shards:
            await self.task.kiq(shard.encode())

    async def consume(self, expected: int) -> tuple[float, float]:
        from taskiq.receiver import Receiver

        acks = Acks(expected)
        brokers = [self.broker(f"bench-{index}", acks) for index in range(self.consumers)]
        finish = asyncio.Event()
        listening = []
        for broker in brokers:
            broker.register_task(probe_shard, task_name="probe_shard")
            receiver = Receiver(broker, max_async_tasks=1, max_prefetch=0)
            listening.append(asyncio.create_task(receiver.listen(finish)))
        try:
            done, _ = await asyncio.wait(
                [asyncio.create_task(acks.all_done.wait()), *listening],
                return_when=asyncio.FIRST_COMPLETED,
            )
            if not acks.all_done.is_set():
                for task in done:
                    task.result()  # a receiver that failed
        finally:
            finish.set()
            _, stuck = await asyncio.wait(listening, timeout=5)
            for task in stuck:
                task.cancel()
            for broker in brokers:
                await broker.shutdown()
        return acks.end

    async def close(self) -> None:
        if self.publisher is not None:
            await self.publisher.shutdown()


# ---- a reliable list queue --------------------------------------------------------------------


class ListQueue:
    def __init__(self, port: int, consumers: int) -> None:
        self.port = port
        self.consumers = consumers
        self.key = f"{PREFIX}list:shards:{REGION}"
        self.client: aioredis.Redis | None = None

    def open(self) -> aioredis.Redis:
        return aioredis.Redis(host="127.0.0.1", port=self.port, decode_responses=True)

    async def setup(self) -> None:
        self.client = self.open()

    async def publish(self, shards: list[Shard]) -> None:
        assert self.client is not None
        for shard in shards:
            # One value per shard: the encoded fields as JSON (Shard.decode takes them back).
            await self.client.lpush(self.key, json.dumps(shard.encode()))

    async def consume(self, expected: int) -> tuple[float, float]:
        acks = Acks(expected)
        clients = [self.open() for _ in range(self.consumers)]

        async def lane(client: aioredis.Redis, index: int) -> None:
            inflight = f"{PREFIX}list:inflight:{index}"
            while not acks.all_done.is_set():
                moved = await client.blmove(self.key, inflight, 1, "RIGHT", "LEFT")
                value = cast("str | None", moved)
                if value is None:
                    continue
                Shard.decode(json.loads(value))
                await client.lrem(inflight, 1, value)
                acks.add()

        try:
            async with asyncio.TaskGroup() as group:
                for index, client in enumerate(clients):
                    group.create_task(lane(client, index))
        finally:
            for client in clients:
                await client.aclose()
        return acks.end

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()


# ---- the runs ---------------------------------------------------------------------------------


def make_queue(name: str, port: int, consumers: int) -> Any:
    if name == "ours":
        return Ours(port, consumers, probe=True)
    if name == "ours-read":
        return Ours(port, consumers, probe=False)
    if name.startswith("taskiq-"):
        return Taskiq(port, consumers, int(name.removeprefix("taskiq-")))
    if name == "list":
        return ListQueue(port, consumers)
    raise SystemExit(f"unknown queue {name!r}: one of {', '.join(QUEUES)}")


async def one_run(
    name: str, consumers: int, shards: list[Shard], port: int, admin: aioredis.Redis
) -> Sample:
    await clean(admin)
    queue = make_queue(name, port, consumers)
    load = os.getloadavg()[0]
    try:
        await queue.setup()
        before = await used_memory(admin)
        publish = await measured(lambda: queue.publish(shards), admin)
        used_delta = await used_memory(admin) - before
        stream_bytes = await memory_usage(admin, queue.key)
        consume = await measured(lambda: queue.consume(len(shards)), admin)
        left_bytes = await memory_usage(admin, queue.key)
    finally:
        await queue.close()
        await clean(admin)
    return Sample(
        publish_s=publish[0],
        publish_cpu_s=publish[1],
        publish_redis_cpu_s=publish[2],
        consume_s=consume[0],
        consume_cpu_s=consume[1],
        consume_redis_cpu_s=consume[2],
        stream_bytes=stream_bytes,
        used_delta=used_delta,
        left_bytes=left_bytes,
        load=load,
    )


def median(row: Row, attribute: str) -> float:
    return float(statistics.median(getattr(sample, attribute) for sample in row.samples))


def print_table(rows: list[Row], count: int) -> None:
    per_k = 1000 / count
    header = (
        f"{'queue':<11} {'cons':>4} {'publish/s':>10} {'consume/s':>10} "
        f"{'stream MiB':>10} {'used MiB':>9} {'left MiB':>9} "
        f"{'pub CPU':>8} {'con CPU':>8} {'pub Redis':>9} {'con Redis':>9} {'load':>9}"
    )
    print(header)
    print("-" * len(header))
    mib = 1024 * 1024
    for row in rows:
        loads = [sample.load for sample in row.samples]
        print(
            f"{row.queue:<11} {row.consumers:>4} "
            f"{count / median(row, 'publish_s'):>10,.0f} "
            f"{count / median(row, 'consume_s'):>10,.0f} "
            f"{median(row, 'stream_bytes') / mib:>10.1f} "
            f"{median(row, 'used_delta') / mib:>9.1f} "
            f"{median(row, 'left_bytes') / mib:>9.2f} "
            f"{median(row, 'publish_cpu_s') * per_k:>8.3f} "
            f"{median(row, 'consume_cpu_s') * per_k:>8.3f} "
            f"{median(row, 'publish_redis_cpu_s') * per_k:>9.3f} "
            f"{median(row, 'consume_redis_cpu_s') * per_k:>9.3f} "
            f"{min(loads):>4.1f}-{max(loads):<4.1f}"
        )
    print(
        "\npublish/s, consume/s: shards a second; stream MiB: MEMORY USAGE of the stream (or list)"
        " at its peak;\nused MiB: INFO used_memory delta of publishing (dedup markers included);"
        " left MiB: the stream once all are acknowledged;\nCPU: seconds per 1,000 shards, this"
        " process (pub/con CPU) and the whole Redis instance (Redis); load: 1-minute load"
        " average at each run's start.\nMedians of the runs."
    )


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.ERROR)
    names = [name.strip() for name in args.queues.split(",") if name.strip()]
    missing = taskiq_missing()
    if missing and any(name.startswith("taskiq") for name in names):
        print(missing)
        names = [name for name in names if not name.startswith("taskiq")]
    consumer_counts = [int(value) for value in args.consumers.split(",")]
    admin = aioredis.Redis(host="127.0.0.1", port=args.port)
    server = await admin.info("server")
    print(
        f"{args.shards:,} shards of {args.items} monitors, {args.runs} runs, Redis "
        f"{server['redis_version']} on 127.0.0.1:{args.port}, cpus {os.cpu_count()}, "
        f"load {' '.join(f'{value:.2f}' for value in os.getloadavg())}"
    )
    sample_shard = make_shards(1, args.items, 1_800_000_000_000)[0]
    print(f"one shard's fields: {sum(len(k) + len(v) for k, v in sample_shard.encode().items())} B")
    rows: list[Row] = []
    try:
        for name in names:
            for consumers in consumer_counts:
                row = Row(name, consumers)
                for run in range(args.runs):
                    # A new slot each run: fresh shard ids, nothing deduplicated away.
                    slot_ms = 1_800_000_000_000 + (len(rows) * args.runs + run) * 60_000
                    shards = make_shards(args.shards, args.items, slot_ms)
                    row.samples.append(await one_run(name, consumers, shards, args.port, admin))
                    sample = row.samples[-1]
                    print(
                        f"  {name} x{consumers} run {run + 1}: publish {sample.publish_s:.2f} s,"
                        f" consume {sample.consume_s:.2f} s",
                        flush=True,
                    )
                rows.append(row)
    finally:
        await clean(admin)
        await admin.aclose()
    print()
    print_table(rows, args.shards)
    print(f"load at the end: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=250, help="monitors per shard")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--consumers", default="1,4")
    parser.add_argument("--queues", default=",".join(QUEUES))
    parser.add_argument("--port", type=int, default=6379)
    parser.add_argument("--quick", action="store_true", help="1,000 shards, one run")
    args = parser.parse_args()
    if args.quick:
        args.shards, args.runs = 1_000, 1
    return args


if __name__ == "__main__":
    asyncio.run(main(parse()))
