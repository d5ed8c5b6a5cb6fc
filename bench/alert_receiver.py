"""A webhook receiver for the alerting benchmarks: answers 200 to every POST and keeps, for each,
when it arrived and its kind (the signed webhook's JSON `kind`). In-process (`Receiving`) for
bench_storm.py, or as a process (`python bench/alert_receiver.py`) that prints its port, then on
SIGTERM the counts by kind as one JSON line, for bench_compute.py --alerting."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Receiving:
    base: str = ""
    arrivals: list[tuple[float, str]] = field(default_factory=list)  # (time.time(), kind)
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def record(request: web.Request) -> web.Response:
            body = await request.read()
            try:
                kind = str(json.loads(body).get("kind"))
            except ValueError:
                kind = "?"
            self.arrivals.append((time.time(), kind))
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/{tail:.*}", record)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def kinds(self) -> Counter[str]:
        return Counter(kind for _, kind in self.arrivals)

    def first(self, kind: str) -> float | None:
        return next((at for at, k in self.arrivals if k == kind), None)


async def _main() -> None:
    receiving = Receiving()
    await receiving.start()
    print(f"listening {receiving.base}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await receiving.stop()
    print(json.dumps(receiving.kinds()), flush=True)


if __name__ == "__main__":
    asyncio.run(_main())
