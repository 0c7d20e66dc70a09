"""Latency of the account and conversation routes against a real `chatkiosk serve` process.

    .venv/bin/python benchmarks/api_latency.py [--logins 40] [--requests 300]

Prints p50/p99 of: `GET /health` (the framework's floor, measured in the same run),
`POST /api/auth/login` (argon2id verification included), and an authenticated
`GET /api/conversations` (JWT check, revocation check, one indexed query, 20 rows). SQLite in a
temporary directory; one client, one request at a time. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

PASSWORD = "benchmark-password-1"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _time(client: httpx.Client, n: int, call) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        start = time.perf_counter()
        r = call(client)
        out.append((time.perf_counter() - start) * 1000)
        r.raise_for_status()
    return out


def _row(label: str, samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100)
    return f"  {label:38s} p50 {statistics.median(samples):7.2f} ms   p99 {q[98]:7.2f} ms   (n={len(samples)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=40)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="ck-bench-")
    port = _port()
    env = {**os.environ, "CHATKIOSK_DATA_DIR": data, "CHATKIOSK_ENVIRONMENT": "test", "CHATKIOSK_LOCAL_MODEL": "false",
           "CHATKIOSK_LOG_LEVEL": "WARNING", "CHATKIOSK_LOGIN_MAX_FAILURES": "100000"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "chatkiosk", "serve", "--migrate", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(300):
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            else:
                print("api_latency: the server did not start", file=sys.stderr)
                return 1
            client.post("/api/auth/register", json={"username": "bench", "password": PASSWORD}).raise_for_status()
            login = {"username": "bench", "password": PASSWORD}
            token = client.post("/api/auth/login", json=login).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            for i in range(20):
                client.post("/api/conversations", headers=headers, json={"title": f"c{i}"}).raise_for_status()
            _time(client, 20, lambda c: c.get("/api/conversations", headers=headers))  # warm up
            health = _time(client, args.requests, lambda c: c.get("/health"))
            convs = _time(client, args.requests, lambda c: c.get("/api/conversations", headers=headers))
            logins = _time(client, args.logins, lambda c: c.post("/api/auth/login", json=login))
        print("chatkiosk API latency (SQLite, one client, sequential requests)")
        print(_row("GET /health (floor)", health))
        print(_row("GET /api/conversations (20 rows)", convs))
        print(_row("POST /api/auth/login (argon2id)", logins))
        print(f"  conversations list over the floor: +{statistics.median(convs) - statistics.median(health):.2f} ms at p50")
        return 0
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    sys.exit(main())
