"""The reference the compute benchmark measures us against: a plain aiohttp loop, no storage.

What anyone would write first: one ClientSession, `concurrency` workers sharing one iterator over the
URLs, a total timeout per request, the body read, the status counted. Nothing is stored.

With --assertions, each answer is also judged as the compute benchmark's assertion mix judges it:
the body (decoded) contains KEYWORD, the body parsed as JSON has "ok" at $.status, and the answer
came within LATENCY_MS.

    python bench/bare_loop.py URL_FILE --concurrency N --timeout S [--assertions]   # one JSON line
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

# The assertion mix's conditions, the same as bench_compute.py gives our monitors.
KEYWORD = "healthy"
LATENCY_MS = 3000


def judged(status: int, body: bytes, seconds: float) -> bool:
    """The assertion mix's verdict on one answer."""
    if status >= 400 or KEYWORD not in body.decode("utf-8", errors="replace"):
        return False
    try:
        document: Any = json.loads(body)
    except ValueError:
        return False
    return (
        isinstance(document, dict)
        and document.get("status") == "ok"
        and seconds * 1000 < LATENCY_MS
    )


async def run(
    urls: list[str], concurrency: int, timeout_s: float, assertions: bool = False
) -> dict[str, float]:
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
                began = time.monotonic()
                last_start = began - started
                try:
                    async with session.get(url) as response:
                        body = await response.read()
                        if assertions:
                            ok = judged(response.status, body, time.monotonic() - began)
                        else:
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
    parser.add_argument("--assertions", action="store_true", help="judge as the assertion mix")
    args = parser.parse_args()
    urls = args.url_file.read_text().split()
    result = asyncio.run(run(urls, args.concurrency, args.timeout, args.assertions))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
