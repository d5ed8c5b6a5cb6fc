"""The reference the compute benchmark measures us against: a plain aiohttp loop, no storage.

What anyone would write first: one ClientSession, `concurrency` workers sharing one iterator over the
URLs, a total timeout per request, the body read, the status counted. Nothing is stored.

    python bench/bare_loop.py URL_FILE --concurrency N --timeout S   # prints one JSON line
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import aiohttp


async def run(urls: list[str], concurrency: int, timeout_s: float) -> dict[str, float]:
    started = time.monotonic()
    last_start = 0.0
    success = fail = 0
    todo = iter(urls)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=timeout_s)
    ) as session:

        async def worker() -> None:
            nonlocal last_start, success, fail
            for url in todo:
                last_start = time.monotonic() - started
                try:
                    async with session.get(url) as response:
                        await response.read()
                        ok = response.status < 400
                except Exception:
                    ok = False
                if ok:
                    success += 1
                else:
                    fail += 1

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(urls)))))
    return {
        "probed": success + fail,
        "success": success,
        "fail": fail,
        "last_start_s": last_start,
        "cycle_s": time.monotonic() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url_file", type=Path)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--timeout", type=float, required=True)
    args = parser.parse_args()
    urls = args.url_file.read_text().split()
    print(json.dumps(asyncio.run(run(urls, args.concurrency, args.timeout))), flush=True)


if __name__ == "__main__":
    main()
