"""`chatkiosk bench`: its bounds, its refusal of other hosts, and real runs against a live server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chatkiosk.bench import BenchPlan, check_target, run_bench
from chatkiosk.bench.report import percentile, render, rss_kib, server_pids
from chatkiosk.errors import UserError
from chatkiosk.llm.fake import ScriptedProvider

from ..live import LiveServer, live_servers


def chatkiosk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chatkiosk", *args], capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("url", ["http://192.0.2.10:8000", "http://10.1.2.3", "https://[2001:db8::1]:443"])
def test_a_target_off_loopback_is_refused(url: str) -> None:
    with pytest.raises(UserError, match="--allow-remote"):
        check_target(url)
    check_target(url, allow_remote=True)  # allowed when asked for (nothing is sent here)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:9", "http://[::1]:8000", "http://127.5.6.7"])
def test_loopback_targets_are_accepted(url: str) -> None:
    check_target(url)


def test_the_cli_refuses_another_host_in_one_line() -> None:
    r = chatkiosk("bench", "--url", "http://192.0.2.10:8000", "--users", "1", "--turns", "1")
    assert r.returncode != 0
    assert r.stderr.strip().count("\n") == 0 and "--allow-remote" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"users": 0}, "--users"), ({"users": 100_000}, "--users"), ({"duration": 0}, "--duration"),
        ({"duration": 10_000}, "--duration"), ({"duration": None, "turns": None}, "--duration or --turns"),
        ({"turns": 0}, "--turns"), ({"think": -1}, "negative"),
    ],
)
def test_plans_outside_the_bounds_are_refused(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(UserError, match=words):
        BenchPlan(url="http://127.0.0.1:1", **changes).validate()


def test_percentiles_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
    assert percentile([], 50) is None


@pytest.fixture
def server(settings_factory: Callable[..., Any]) -> Iterator[LiveServer]:
    llm = ScriptedProvider([["Hello ", "there, ", "a streamed ", "answer."]] * 100)
    with live_servers(settings_factory) as start:
        yield start(providers={"scripted": llm}, messages_per_window=10_000)


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("transport", ["sse", "ws", "v1"])
def test_a_bench_run_streams_real_turns(server: LiveServer, transport: str) -> None:
    plan = BenchPlan(url=server.base, users=3, transport=transport, turns=9, duration=None, ramp_up=0.2)
    summary = run_bench(plan, progress=None)
    assert summary["errors"] == {} and summary["setup_errors"] == {}
    assert summary["turns_ok"] == 9 and summary["turns"] == 9
    assert summary["turns_per_second"] > 0
    assert summary["ttft_ms"]["p50"] is not None and summary["ttft_ms"]["p99"] >= summary["ttft_ms"]["p50"]
    assert summary["gap_ms"]["p99"] is not None  # four deltas a turn: three gaps each
    table = render(summary)
    assert "turns/s" in table and "time to first token" in table and "errors" in table


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_cli_prints_json_and_sees_the_server_memory(server: LiveServer) -> None:
    env = {**os.environ}
    r = chatkiosk("bench", "--url", server.base, "--users", "2", "--turns", "4", "--ramp-up", "0", "--json", "--quiet", env=env)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["turns_ok"] == 4 and summary["errors"] == {}
    # the server runs in this test process, which the bench (a child) can see in /proc
    assert summary["server_rss_kib"] is not None and summary["server_rss_kib"]["after"] > 10_000
    assert os.getpid() in server_pids(server.base)
    assert rss_kib([os.getpid()]) > 0


def test_errors_are_counted_by_code(settings_factory: Callable[..., Any]) -> None:
    """A rate limit the users run into shows up as errors by code, not as a crash."""
    llm = ScriptedProvider(["ok"] * 10)
    with live_servers(settings_factory) as start:
        live = start(providers={"scripted": llm}, messages_per_window=1, message_window=60)
        summary = run_bench(BenchPlan(url=live.base, users=2, turns=6, duration=None, ramp_up=0), progress=None)
    assert summary["turns_ok"] == 2
    assert sum(summary["errors"].values()) == 4
    assert all(code.startswith("429 ") for code in summary["errors"])
