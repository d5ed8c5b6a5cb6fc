"""/metrics as deployed: `service-monitor api --workers 2` merges its workers' counts, and the
compute's one-cycle task (a process that exits) shows in a scrape of the API afterwards."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx

from tests.metrics.scrape import Scrape, scrape
from tests.servers import run_to_end, running
from tests.targets import closed_port, target_server

REQUESTS = "service_monitor_http_requests_total"
COMPUTE = (sys.executable, "-m", "service_monitor.compute.scheduler")


def api_with_workers(port: int, workers: int = 2) -> tuple[str, ...]:
    return (sys.executable, "-m", "service_monitor.cli", "api", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers))  # fmt: skip


async def fresh_connection_scrape(base: str) -> Scrape:
    """A scrape on a new connection, so any worker may answer it."""
    async with httpx.AsyncClient() as client:
        return await scrape(client, base)


async def test_two_api_workers_add_up_their_requests_in_every_scrape(
    deployment: dict[str, str], tmp_path: Path
) -> None:
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    stale = metrics_dir / "counter_1.db"  # left by an earlier run: must not count in this one
    stale.write_bytes(b"")
    env = {**deployment, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    port = closed_port()
    requests = 200

    async with running(*api_with_workers(port), env=env, port=port) as base:
        assert not stale.exists()
        # Connections are not kept alive: each request may go to either worker.
        no_keep_alive = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=no_keep_alive) as client:
            for start in range(0, requests, 20):
                answers = await asyncio.gather(
                    *(client.get(f"{base}/urls/") for _ in range(start, start + 20))
                )
                assert {a.status_code for a in answers} == {200}
        scrapes = [await fresh_connection_scrape(base) for _ in range(6)]

    counted = [s.value(REQUESTS, method="GET", route="/urls/", status="200") for s in scrapes]
    assert counted == [requests] * len(scrapes)
    writers = {p.name.rsplit("_", 1)[1] for p in metrics_dir.glob("counter_*.db")}
    assert len(writers) == 2  # both workers answered some: the totals above are merged


async def test_a_one_cycle_compute_task_shows_in_a_scrape_of_the_api(
    deployment: dict[str, str], tmp_path: Path
) -> None:
    async with target_server() as target:
        csv = tmp_path / "urls.csv"
        csv.write_text(
            f"name,url\nok,{target}/ok\nerror,{target}/status/503\n"
            f"refused,http://127.0.0.1:{closed_port()}/\n"
        )
        code, output = await run_to_end(*COMPUTE, "--data-path", str(csv), env=deployment)
    assert code == 0, output

    port = closed_port()
    async with running(*api_with_workers(port), env=deployment, port=port) as base:
        scraped = await fresh_connection_scrape(base)

    assert scraped.value("service_monitor_probes_total", status="success", cause="none") == 1
    assert scraped.value("service_monitor_probes_total", status="fail", cause="http_status") == 1
    assert scraped.value("service_monitor_probes_total", status="fail", cause="connect") == 1
    assert scraped.value("service_monitor_probe_latency_seconds_count", status="fail") == 2
    assert scraped.value("service_monitor_cycles_total", outcome="done") == 1
    assert scraped.value("service_monitor_last_successful_cycle_timestamp_seconds") is not None
    assert scraped.value("service_monitor_metrics_source_up", source="cache") == 1
    assert scraped.value("service_monitor_metrics_source_up", source="store") == 1
