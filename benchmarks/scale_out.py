"""`chatkiosk bench` against real servers: 1 and 2 workers, SQLite or PostgreSQL + Redis.

Starts the fake upstream (tests/fake_upstream.py) in a child process, then for each worker
count a `chatkiosk serve --workers N` child against it, and runs `chatkiosk bench` with each
number of users, printing the bench's figures side by side. Nothing here asserts: the machine
is shared and noisy, so compare the rows of one run.

    .venv/bin/python benchmarks/scale_out.py                       # SQLite (1 worker) and PG+Redis (1, 2)
    .venv/bin/python benchmarks/scale_out.py --users 50 200 --duration 20 --transport sse
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

UPSTREAM = """
import sys, time
sys.path.insert(0, {root!r})
from tests.fake_upstream import FakeUpstream, Reply
up = FakeUpstream(default=Reply(text="x " * {deltas}, chunks={deltas}, delay={delay}), keep_requests=False).start()
print(up.base_url, flush=True)
while True:
    time.sleep(3600)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def upstream(deltas: int, delay: float) -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-c", UPSTREAM.format(root=str(ROOT), deltas=deltas, delay=delay)], stdout=subprocess.PIPE, text=True)
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.kill()
        proc.wait()


def _pg_database() -> str:
    import asyncio

    import asyncpg

    name = f"chatkiosk_bench_{uuid.uuid4().hex[:8]}"

    async def make() -> None:
        conn = await asyncpg.connect(host="127.0.0.1", user="root", database="test")
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(make())
    return f"postgresql+asyncpg://root@127.0.0.1:5432/{name}"


@contextmanager
def server(workers: int, backend: str, upstream_url: str, data_dir: Path) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "CHATKIOSK_DATA_DIR": str(data_dir), "OPENAI_BASE_URL": upstream_url, "OPENAI_API_KEY": "sk-bench",
        "CHATKIOSK_MODEL": "fake-model", "CHATKIOSK_LOCAL_MODEL": "false", "CHATKIOSK_LOG_LEVEL": "WARNING",
        # the bench measures the product's cost, not its per-user message rate
        "CHATKIOSK_MESSAGES_PER_WINDOW": "100000", "CHATKIOSK_DAILY_TOKEN_QUOTA": "100000000",
    }
    if backend == "postgres":
        env["DATABASE_URL"] = _pg_database()
        env["REDIS_URL"] = "redis://127.0.0.1:6379/14"
        env["CHATKIOSK_REDIS_PREFIX"] = f"bench:{uuid.uuid4().hex[:6]}"
    subprocess.run([str(BIN / "chatkiosk"), "db", "upgrade"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [str(BIN / "chatkiosk"), "serve", "--port", str(port), "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        time.sleep(1.0 if workers > 1 else 0.2)  # let every worker come up
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def bench(base: str, users: int, args: argparse.Namespace) -> dict:
    cmd = [
        str(BIN / "chatkiosk"), "bench", "--url", base, "--users", str(users), "--transport", args.transport,
        "--duration", str(args.duration), "--ramp-up", str(args.ramp_up), "--json", "--quiet",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + args.ramp_up + 300)
    if not out.stdout.strip():
        raise RuntimeError(out.stderr.strip() or "bench printed nothing")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--ramp-up", type=float, default=5.0)
    parser.add_argument("--transport", choices=["sse", "ws", "v1"], default="sse")
    parser.add_argument("--deltas", type=int, default=50, help="deltas in each fake answer")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds between fake deltas")
    parser.add_argument("--setups", nargs="+", default=["sqlite:1", "postgres:1", "postgres:2"], help="backend:workers")
    args = parser.parse_args(argv)
    print(f"fake upstream: {args.deltas} deltas {args.delay * 1000:.0f} ms apart; transport {args.transport}; {args.duration:.0f} s per row")
    header = f"{'setup':<12} {'users':>5} {'turns/s':>8} {'ok/all':>11} {'TTFT p50':>9} {'TTFT p99':>9} {'gap p99':>8} {'RSS MiB':>8}  errors"
    print(header)
    print("-" * len(header))
    with upstream(args.deltas, args.delay) as up, tempfile.TemporaryDirectory() as tmp:
        for setup in args.setups:
            backend, workers = setup.split(":")
            with server(int(workers), backend, up, Path(tmp) / setup.replace(":", "-")) as base:
                for users in args.users:
                    s = bench(base, users, args)
                    rss = s["server_rss_kib"]["after"] // 1024 if s.get("server_rss_kib") else "—"
                    errors = ", ".join(f"{k} ×{v}" for k, v in {**s["errors"], **s["setup_errors"]}.items()) or "none"
                    print(
                        f"{setup:<12} {users:>5} {s['turns_per_second']:>8} {s['turns_ok']:>5}/{s['turns']:<5} "
                        f"{s['ttft_ms']['p50']!s:>9} {s['ttft_ms']['p99']!s:>9} {s['gap_ms']['p99']!s:>8} {rss!s:>8}  {errors}",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
