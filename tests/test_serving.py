"""Issue 13 item 8: `chatkiosk serve` closes slow and oversized headers and bounds connections.

Against a real `chatkiosk serve` subprocess, with real sockets on loopback.
"""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

HEADER_TIMEOUT = 2.0
MAX_CONNECTIONS = 60


@dataclass
class Served:
    port: int
    proc: subprocess.Popen

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("CHATKIOSK_", "OPENAI_", "ANTHROPIC_")) and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update({
        "CHATKIOSK_DATA_DIR": str(data), "CHATKIOSK_ENVIRONMENT": "test", "CHATKIOSK_LOCAL_MODEL": "false",
        "CHATKIOSK_HTTP_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "CHATKIOSK_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "CHATKIOSK_LOG_LEVEL": "WARNING",
    })
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatkiosk", "serve", "--port", str(port), "--migrate"],
        env=env, cwd=data, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chatkiosk serve did not start: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
            time.sleep(0.1)
        yield Served(port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _watch(sockets: list[socket.socket], seconds: float, trickle: bytes | None = None) -> dict[socket.socket, bytes | None]:
    """Read all `sockets` at once (sending `trickle` to each every 0.25 s) until the server has
    closed them or `seconds` pass: what each received before its close, None for still open."""
    selector = selectors.DefaultSelector()
    received: dict[socket.socket, bytes] = {}
    closed: set[socket.socket] = set()
    for sock in sockets:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        received[sock] = b""
    deadline = time.monotonic() + seconds
    next_trickle = time.monotonic() + 0.25
    while len(closed) < len(sockets) and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.05):
            sock = key.fileobj
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            except BlockingIOError:
                continue
            if chunk:
                received[sock] += chunk
            else:
                closed.add(sock)
                selector.unregister(sock)
        if trickle is not None and time.monotonic() >= next_trickle:
            next_trickle += 0.25
            for sock in sockets:
                if sock not in closed:
                    try:
                        sock.send(trickle)
                    except (BlockingIOError, ConnectionResetError, BrokenPipeError):
                        pass
    selector.close()
    return {sock: (received[sock] if sock in closed else None) for sock in sockets}


def test_slowloris_sockets_are_closed_within_seconds(served):
    sockets = [served.connect() for _ in range(40)]
    for sock in sockets:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    idle = [served.connect() for _ in range(5)]  # connected, never a byte
    start = time.monotonic()
    slow = _watch(sockets, HEADER_TIMEOUT + 3, trickle=b"X-Slow: 1\r\n")
    quiet = _watch(idle, HEADER_TIMEOUT + 3 - (time.monotonic() - start))
    elapsed = time.monotonic() - start
    results = {**slow, **quiet}
    still_open = [s for s, data in results.items() if data is None]
    assert not still_open, f"{len(still_open)} of {len(results)} slow sockets stayed open"
    assert elapsed < HEADER_TIMEOUT + 3
    assert all(data.startswith(b"HTTP/1.1 408") for data in results.values())
    for sock in sockets + idle:
        sock.close()
    # The server still serves, and a keep-alive connection still carries several requests.
    with httpx.Client(base_url=f"http://127.0.0.1:{served.port}") as client:
        assert [client.get("/health").status_code for _ in range(3)] == [200, 200, 200]


def test_oversized_headers_are_refused_and_do_not_grow_memory(served):
    with served.connect() as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Ok: " + b"a" * 8000 + b"\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 200")
    before = served.rss_kib()
    sockets = [served.connect() for _ in range(20)]
    refused = 0
    for sock in sockets:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        try:
            for _ in range(40):  # up to 4 MB of an unterminated header
                sock.sendall(b"a" * 100_000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = _watch([sock], 3)[sock]
        refused += data is not None and (data.startswith(b"HTTP/1.1 431") or data == b"")
        sock.close()
    grown_mib = (served.rss_kib() - before) / 1024
    assert refused == 20
    assert grown_mib < 40, f"RSS grew by {grown_mib:.0f} MiB"
    with served.connect() as sock:
        try:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 3_000_000 + b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = _watch([sock], 3)[sock]
        assert data is not None and not data.startswith(b"HTTP/1.1 200"), (data or b"")[:100]


def test_connections_are_bounded(served):
    held = []
    try:
        for _ in range(MAX_CONNECTIONS - 1):  # uvicorn counts the connection asking, too
            sock = served.connect()
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert b" 200 " in sock.recv(4096)
            held.append(sock)  # kept alive: each still counts as a connection
        with served.connect() as extra:
            extra.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert extra.recv(4096).startswith(b"HTTP/1.1 503")
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.3)
    assert httpx.get(f"http://127.0.0.1:{served.port}/health").status_code == 200


def test_websockets_still_upgrade(served):
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{served.port}/api/ws", open_timeout=10) as ws:
        ws.send('{"type": "auth", "token": "nope"}')
        assert '"authentication_error"' in ws.recv(timeout=10)
