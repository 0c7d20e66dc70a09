"""Stored non-stream chat turns through a real `chatkiosk serve`, against the fake upstream.

    .venv/bin/python benchmarks/stored_turns.py [--concurrency 8,32] [--turns 600] [--backends sqlite,postgres]

Each concurrent client has its own user, API key and conversation, and posts
`{"content": ..., "stream": false}` to `/api/conversations/{id}/messages` back to back on one
keep-alive connection: every turn authenticates by API key, checks the limits, reads the
conversation and its context window, stores the user message and the answer. The upstream is
`tests/fake_upstream.py` in a child process answering at once, so the figures are the server's
own cost. For each backend (SQLite in a temporary directory; PostgreSQL in a fresh database on
127.0.0.1:5432, dropped at the end; `postgres+redis` adds Redis on 127.0.0.1:6379) and each
concurrency it prints turns per second of wall time and the server process's CPU ms per turn
(utime + stime of the process and all its threads, from /proc), plus the same for a bare
`GET /health` loop measured in the same run as the framework's floor. Prints figures,
asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PASSWORD = "benchmark-password-1"
PG = "postgresql://root@127.0.0.1:5432"


class BenchError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def serve_upstream() -> int:
    """Child mode: the fake upstream, answering every call at once; prints its port."""
    sys.path.insert(0, str(ROOT))
    from tests.fake_upstream import FakeUpstream, Reply

    upstream = FakeUpstream(default=Reply(text="One cheeseburger, coming up.", chunks=4, usage=(30, 8)), keep_requests=False)
    upstream.start()
    print(upstream.port, flush=True)
    try:
        sys.stdin.read()
    finally:
        upstream.stop()
    return 0


class Conn:
    """One HTTP/1.1 keep-alive connection with a minimal client (cheap, so the server is measured)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, bytes]:
        try:
            return await self._request(method, path, body, token)
        except (ConnectionError, BenchError):
            # The server closed an idle keep-alive connection (uvicorn's keep-alive timeout): once more.
            self.close()
            return await self._request(method, path, body, token)

    async def _request(self, method: str, path: str, body: dict | None, token: str | None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        payload = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(payload)}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        self.writer.write(head.encode() + b"\r\n" + payload)
        status_line = await self.reader.readline()
        if not status_line:
            raise BenchError("the server closed the connection")
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if not chunked:
            return status, (await self.reader.readexactly(length) if length else b"")
        parts = []
        while True:
            size = int((await self.reader.readline()).split(b";")[0], 16)
            parts.append(await self.reader.readexactly(size + 2))
            if size == 0:
                return status, b"".join(parts)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def setup_client(host: str, port: int, i: int) -> tuple[Conn, str, str]:
    """A user with an API key and one conversation."""
    conn = Conn(host, port)
    name = f"bench{i}_{uuid.uuid4().hex[:6]}"
    status, _ = await conn.request("POST", "/api/auth/register", {"username": name, "password": PASSWORD})
    if status != 201:
        raise BenchError(f"register answered {status}")
    status, data = await conn.request("POST", "/api/auth/login", {"username": name, "password": PASSWORD})
    token = json.loads(data)["access_token"]
    status, data = await conn.request("POST", "/api/keys", {"name": "bench"}, token)
    key = json.loads(data)["key"]
    status, data = await conn.request("POST", "/api/conversations", {"agent": "assistant"}, key)
    if status != 201:
        raise BenchError(f"create conversation answered {status}: {data[:200]!r}")
    return conn, key, json.loads(data)["id"]


async def run_level(host: str, port: int, pid: int, clients: list[tuple[Conn, str, str]], turns: int, health: bool) -> tuple[float, float]:
    """`turns` requests spread over the clients; returns (requests/s, server CPU ms per request)."""
    per_client = max(1, turns // len(clients))
    failures: list[str] = []

    async def one(conn: Conn, key: str, cid: str) -> None:
        for n in range(per_client):
            if health:
                status, data = await conn.request("GET", "/health")
                ok = status == 200
            else:
                status, data = await conn.request("POST", f"/api/conversations/{cid}/messages", {"content": f"turn {n}", "stream": False}, key)
                ok = status == 200
            if not ok:
                failures.append(f"{status} {data[:200]!r}")
                return

    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(*(one(*c) for c in clients))
    wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    if failures:
        raise BenchError(f"{len(failures)} requests failed, first: {failures[0]}")
    done = per_client * len(clients)
    return done / wall, cpu * 1000 / done


def server_env(backend: str, data_dir: Path, upstream_port: int, pg_name: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CHATKIOSK_", "OPENAI_", "ANTHROPIC_")) and k not in ("DATABASE_URL", "REDIS_URL")}
    provider = {"name": "fake", "kind": "openai", "base_url": f"http://127.0.0.1:{upstream_port}/v1", "model": "fake-model", "max_retries": 0}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update({
        "CHATKIOSK_CONFIG": str(data_dir / "absent.toml"), "CHATKIOSK_ENVIRONMENT": "test", "CHATKIOSK_DATA_DIR": str(data_dir),
        "CHATKIOSK_PROVIDERS": json.dumps([provider]), "CHATKIOSK_LOCAL_MODEL": "false", "CHATKIOSK_LOG_LEVEL": "WARNING",
        "CHATKIOSK_MAX_STREAMS_PER_USER": "100000", "CHATKIOSK_MESSAGES_PER_WINDOW": "10000000",
        "CHATKIOSK_DAILY_TOKEN_QUOTA": "1000000000", "CHATKIOSK_LOGIN_MAX_FAILURES": "100000",
    })
    if backend == "sqlite":
        env["DATABASE_URL"] = f"sqlite+aiosqlite:///{data_dir / 'chatkiosk.db'}"
    else:
        env["DATABASE_URL"] = f"{PG}/{pg_name}"
    if backend == "postgres+redis":
        env["REDIS_URL"] = "redis://127.0.0.1:6379/14"
        env["CHATKIOSK_REDIS_PREFIX"] = f"ckbench:{uuid.uuid4().hex[:8]}"
    return env


async def pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="root", database="test")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def bench_backend(backend: str, upstream_port: int, args: argparse.Namespace, tmp: Path) -> list[tuple[str, int, float, float]]:
    data_dir = tmp / backend
    data_dir.mkdir()
    pg_name = f"ck_bench_{uuid.uuid4().hex[:8]}" if backend != "sqlite" else None
    if pg_name:
        await pg_admin(f'CREATE DATABASE "{pg_name}"')
    port = free_port()
    log = open(data_dir / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "chatkiosk", "serve", "--migrate", "--host", "127.0.0.1", "--port", str(port)],
                            env=server_env(backend, data_dir, upstream_port, pg_name), stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    rows = []
    try:
        probe = Conn("127.0.0.1", port)
        for _ in range(600):
            if proc.poll() is not None:
                raise BenchError(f"the server exited: {(data_dir / 'server.log').read_text()[-800:]}")
            try:
                if (await probe.request("GET", "/health"))[0] == 200:
                    break
            except OSError:
                probe = Conn("127.0.0.1", port)
                await asyncio.sleep(0.05)
        else:
            raise BenchError("the server did not start")
        probe.close()
        most = max(args.concurrency)
        clients = [await setup_client("127.0.0.1", port, i) for i in range(most)]
        await run_level("127.0.0.1", port, proc.pid, clients, most * 5, False)  # warm up
        for n in args.concurrency:
            health = await run_level("127.0.0.1", port, proc.pid, clients[:n], args.turns, True)
            turns = await run_level("127.0.0.1", port, proc.pid, clients[:n], args.turns, False)
            rows.append((backend, n, *turns, *health))
        for conn, _, _ in clients:
            conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
        if pg_name:
            await pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    return rows


async def bench(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="ck-turns-"))
    upstream = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve-upstream"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert upstream.stdout is not None
        line = upstream.stdout.readline()
        if not line.strip():
            raise BenchError("the fake upstream did not start")
        upstream_port = int(line)
        rows = []
        for backend in args.backends:
            rows += await bench_backend(backend, upstream_port, args, tmp)
        print(f"stored non-stream turns ({args.turns} per level, one worker, fake upstream answering at once)")
        print(f"  {'backend':16s} {'conc':>4s} {'turns/s':>9s} {'CPU ms/turn':>12s}   {'/health req/s':>13s} {'CPU ms/req':>11s}")
        for backend, n, tps, cpu, hps, hcpu in rows:
            print(f"  {backend:16s} {n:4d} {tps:9.1f} {cpu:12.2f}   {hps:13.1f} {hcpu:11.3f}")
        return 0
    finally:
        if upstream.stdin:
            upstream.stdin.close()
        upstream.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="8,32", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--turns", type=int, default=600, help="turns per backend and concurrency level")
    parser.add_argument("--backends", default="sqlite,postgres", type=lambda s: s.split(","))
    parser.add_argument("--serve-upstream", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        return serve_upstream()
    if not set(args.backends) <= {"sqlite", "postgres", "postgres+redis"}:
        parser.error("--backends: sqlite, postgres, postgres+redis")
    try:
        return asyncio.run(bench(args))
    except BenchError as exc:
        print(f"stored_turns: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
