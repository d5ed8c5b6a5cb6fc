"""The compute's event loop: uvloop when installed (what bench-compute measured cheaper), asyncio's
own on request."""

from __future__ import annotations

import asyncio

import uvloop

from service_monitor.compute.cli import build_parser, loop_factory


def test_the_compute_runs_on_uvloop_by_default() -> None:
    assert build_parser().parse_args([]).loop == "auto"
    assert loop_factory("auto") is uvloop.new_event_loop
    assert loop_factory("uvloop") is uvloop.new_event_loop


def test_asyncio_s_own_loop_can_be_asked_for() -> None:
    assert build_parser().parse_args(["--loop", "asyncio"]).loop == "asyncio"
    assert loop_factory("asyncio") is asyncio.new_event_loop
