"""The reference for the cached statistics: a bare FastAPI app whose one route returns a constant list.

It is what a cached top list cannot beat: no cache lookup, no storage, just FastAPI serialising a
10-item list like /urls/top/... answers, as any typed route would (the return annotation is the
response model). bench/bench_stats.py serves it with the same uvicorn command line as the product
and loads both with wrk, one after the other.

    python -m uvicorn bare_app:app --app-dir bench --port 8001 --workers 1
"""

from __future__ import annotations

from fastapi import FastAPI

ROUTE = "/urls/top/fail/hour"  # the product's path, so the two URLs differ only in their port
TOP: list[dict[str, str | int]] = [
    {"name": f"site {i:05d}", "url": f"https://site-{i:05d}.example.com/health", "count": 300 - i}
    for i in range(20, 220, 20)
]

app = FastAPI(title="bare")


@app.get(ROUTE)
async def top() -> list[dict[str, str | int]]:
    return TOP
