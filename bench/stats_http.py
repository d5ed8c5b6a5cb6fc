"""HTTP side of the statistics benchmark: API processes, timed sequential requests, and wrk runs.

Every figure is taken from outside the server: a uvicorn process per data set (one worker, the
same command line for the product and for bench/bare_app.py), requests over one keep-alive
connection timed around send and read, and wrk for throughput. Used by bench/bench_stats.py.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from service_monitor.config import Settings

ROOT = Path(__file__).resolve().parent.parent
STATUSES = ("success", "fail")
SPANS = ("hour", "week", "month")
ENDPOINTS = [f"/urls/top/{s}/{span}" for s in STATUSES for span in SPANS] + ["/urls/summary"]
REQUEST_TIMEOUT_S = 600.0  # never cut a slow answer short: its time is the figure
START_TIMEOUT_S = 120.0  # seconds an API process may take to answer GET /status with 200

# Counts, in every wrk thread, the answers' status and `cached` header; done() sums the threads.
# Both the product and the bare app run with it, so the client's cost is the same for both.
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) cached_true = 0; cached_other = 0; not_200 = 0 end
function response(status, headers, body)
  if status ~= 200 then not_200 = not_200 + 1 end
  local cached = nil
  for name, value in pairs(headers) do
    if string.lower(name) == "cached" then cached = value end
  end
  if cached == "true" then cached_true = cached_true + 1 else cached_other = cached_other + 1 end
end
function done(summary, latency, requests)
  local t, o, n = 0, 0, 0
  for _, thread in ipairs(threads) do
    t = t + thread:get("cached_true"); o = o + thread:get("cached_other")
    n = n + thread:get("not_200")
  end
  io.write(string.format("counted cached-true %d cached-other %d not-200 %d\\n", t, o, n))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**values: str) -> dict[str, str]:
    """This environment without any of the product's settings, plus `values`."""
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env.update(values)
    return env


@dataclass
class Server:
    """A uvicorn process serving one app on 127.0.0.1:port."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def uvicorn_command(
    app: str, port: int, app_dir: Path | None = None, workers: int = 1
) -> list[str]:
    """One command line shape for every app we serve: 1 worker unless told (bench/bench_load.py
    runs 2), no access log (its cost would be measured too, and equally useless to both)."""
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    if app_dir is not None:
        cmd += ["--app-dir", str(app_dir)]
    return cmd


@contextmanager
def serve(
    name: str,
    app: str,
    env: dict[str, str],
    log_dir: Path,
    ready_path: str = "/status",
    app_dir: Path | None = None,
    workers: int = 1,
) -> Iterator[Server]:
    """Start the app, wait until `ready_path` answers 200, stop it on leaving. The log (uvicorn's
    and the app's, every worker's) goes to `log_dir`/`name`.log."""
    port = free_port()
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            uvicorn_command(app, port, app_dir, workers),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(name, port, proc, log)
    try:
        wait_ready(server, ready_path)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise SystemExit(
                f"{server.name} exited {server.proc.returncode} at start:\n{server.log_tail()}"
            )
        try:
            status, _, body = get(server.port, path, timeout=5)
            if status == 200:
                return
            last = f"{status} {body[:200]!r}"
        except OSError as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise SystemExit(f"{server.name} not ready after {START_TIMEOUT_S:g} s: {last}")


def get(
    port: int,
    path: str,
    timeout: float = REQUEST_TIMEOUT_S,
    conn: http.client.HTTPConnection | None = None,
) -> tuple[int, dict[str, str], bytes]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        if own:
            conn.close()


# -- uncached, sequential ------------------------------------------------------------------------


@dataclass
class Timing:
    endpoint: str
    ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # answers that were not 200 and sane
    note: str = ""  # what the last good answer looked like, in a few words

    @property
    def median(self) -> float:
        return statistics.median(self.ms) if self.ms else math.nan

    @property
    def p95(self) -> float:
        return percentile(self.ms, 95)

    @property
    def worst(self) -> float:
        return max(self.ms) if self.ms else math.nan


def percentile(values: list[float], pct: float) -> float:
    """Nearest rank: the smallest value with at least pct% of the values at or below it."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


SLOT_MS = 600_000  # one check per monitor every 10 minutes
SPAN_MS = {"hour": 3_600_000, "week": 7 * 86_400_000, "month": 30 * 86_400_000}


@dataclass(frozen=True)
class Expect:
    """What sane answers of one data set look like: one check per URL and slot in [start, end)."""

    urls: int
    data_start_ms: int
    data_end_ms: int

    def slots(self, span: str, now_ms: int) -> float:
        """Slots of stored data (each a check of every URL) in the window ending at `now_ms`."""
        start = max(self.data_start_ms, now_ms - SPAN_MS[span])
        return max(0, self.data_end_ms - start) / SLOT_MS


def check_answer(
    path: str, status: int, headers: dict[str, str], body: bytes, expect: Expect
) -> str:
    """'' when the answer is a sane, uncached 200; otherwise what is wrong."""
    now_ms = int(time.time() * 1000)
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}"
    if headers.get("cached") != "false":
        return f"cached: {headers.get('cached')!r} despite cache=false"
    try:
        data = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:200]!r}"
    if path == "/urls/summary":
        if [item.get("status") for item in data] != ["success", "fail"]:
            return f"summary entries {data!r}"
        total = sum(int(item["count"]) for item in data)
        expected = expect.urls * expect.slots("month", now_ms)
        # Within a slot per URL: a window's old end cuts through the 10-minute stagger.
        if abs(total - expected) > expect.urls * 1.5:
            return f"summary counts {total:,} checks, expected about {expected:,.0f}"
        return ""
    span = path.rsplit("/", 1)[1]
    if not isinstance(data, list) or len(data) > 10:
        return f"not a list of at most 10: {body[:200]!r}"
    counts = [item.get("count") for item in data]
    if not all(isinstance(c, int) and c > 0 for c in counts):
        return f"counts {counts}"
    if counts != sorted(counts, reverse=True):
        return f"counts not in descending order: {counts}"
    if counts and counts[0] > expect.slots(span, now_ms) + 1:
        return f"count {counts[0]} is more than one URL makes in a {span} of the stored data"
    if not all(
        isinstance(item.get("name"), str) and isinstance(item.get("url"), str) for item in data
    ):
        return "items without name or url"
    return ""


def time_uncached(
    port: int, expect: Expect, requests: int, budget_s: float, min_requests: int = 3
) -> list[Timing]:
    """Each endpoint with ?cache=false, `requests` times in a row, or fewer once `budget_s` seconds
    are spent on it (never fewer than `min_requests`): slow answers must not stall the run."""
    timings = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        for endpoint in ENDPOINTS:
            timing = Timing(endpoint)
            path = f"{endpoint}?cache=false"
            started = time.monotonic()
            for i in range(requests):
                if i >= min_requests and time.monotonic() - started > budget_s:
                    break
                t0 = time.perf_counter()
                try:
                    status, headers, body = get(port, path, conn=conn)
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()  # reconnects at the next request
                    timing.ms.append((time.perf_counter() - t0) * 1000)
                    timing.errors.append(repr(exc))
                    continue
                timing.ms.append((time.perf_counter() - t0) * 1000)
                problem = check_answer(endpoint, status, headers, body, expect)
                if problem:
                    timing.errors.append(problem)
                else:
                    timing.note = describe(endpoint, body)
            timings.append(timing)
            if time.monotonic() - started < 10:
                continue  # fast: the table printed afterwards says it all
            print(
                f"    {endpoint:24} {len(timing.ms):3} requests, median {timing.median:8.1f} ms,"
                f" p95 {timing.p95:8.1f} ms{'  ERRORS ' + str(len(timing.errors)) if timing.errors else ''}",
                flush=True,
            )
    finally:
        conn.close()
    return timings


def describe(endpoint: str, body: bytes) -> str:
    data = json.loads(body)
    if endpoint == "/urls/summary":
        return " / ".join(f"{item['count']:,} {item['status']}" for item in data)
    if not data:
        return "empty"
    return f"{len(data)} URLs, counts {data[0]['count']}..{data[-1]['count']}"


# -- throughput, wrk ---------------------------------------------------------------------------


@dataclass
class WrkResult:
    label: str
    requests_per_s: float
    requests: int
    latency_avg_ms: float
    latency_p50_ms: float
    latency_p99_ms: float
    cached_true: int
    cached_other: int
    not_200: int
    socket_errors: str
    output: str


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        return math.nan
    return float(match[1]) * _UNIT_MS[match[2]]


def parse_wrk(label: str, output: str) -> WrkResult:
    def find(pattern: str) -> str:
        match = re.search(pattern, output, re.MULTILINE)
        return match[1] if match else ""

    counted = re.search(r"counted cached-true (\d+) cached-other (\d+) not-200 (\d+)", output)
    return WrkResult(
        label=label,
        requests_per_s=float(find(r"^Requests/sec:\s+([\d.]+)") or "nan"),
        requests=int(find(r"^\s+(\d+) requests in") or 0),
        latency_avg_ms=_ms(find(r"^\s+Latency\s+(\S+)")),
        latency_p50_ms=_ms(find(r"^\s+50%\s+(\S+)")),
        latency_p99_ms=_ms(find(r"^\s+99%\s+(\S+)")),
        cached_true=int(counted[1]) if counted else -1,
        cached_other=int(counted[2]) if counted else -1,
        not_200=int(counted[3]) if counted else -1,
        socket_errors=find(r"^\s+Socket errors:\s+(.*)$"),
        output=output,
    )


WRK_MISSING = (
    "wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu; `brew install wrk` on macOS),"
    " or build it from https://github.com/wg/wrk"
)


def require_wrk() -> str:
    """wrk's path, or exit with how to install it (before any data is loaded, not after)."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(WRK_MISSING)
    return path


def wrk_version() -> str:
    """Its first line, e.g. 'wrk debian/4.1.0-3+b2 [epoll]'."""
    done = subprocess.run([require_wrk(), "-v"], capture_output=True, text=True)
    return (done.stdout + done.stderr).splitlines()[0].split(" Copyright")[0]


def run_wrk(
    label: str, url: str, duration_s: int, connections: int, threads: int, work_dir: Path
) -> WrkResult:
    require_wrk()
    script = work_dir / "count_cached.lua"
    script.write_text(WRK_SCRIPT)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", "--latency"]
    cmd += ["-s", str(script), url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + 120)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse_wrk(label, done.stdout)


def warm_cache(port: int, path: str) -> tuple[dict[str, str], str]:
    """Store a brand-new cache entry (cache=false resets it), then read it back from the cache:
    the entry is then as fresh as it gets for the whole wrk run. Returns that answer's headers
    and '' or what went wrong."""
    status, _, body = get(port, f"{path}?cache=false")
    if status != 200:
        return {}, f"cache=false answered {status}: {body[:200]!r}"
    status, headers, body = get(port, path)
    if status != 200 or headers.get("cached") != "true":
        return headers, f"not served from the cache: {status} cached={headers.get('cached')!r}"
    return headers, ""
