"""Stream N concurrent chats through chatkiosk and directly against the same fake upstream.

Run: .venv/bin/python benchmarks/chat_stream.py [--streams 1,50,200] [--chunks 50] [--delay 0.02] [--rounds 3]

Three processes, so no two share an event loop:
- the fake upstream (tests/fake_upstream.py, an OpenAI-compatible server) in a child process,
  answering every request with `--chunks` content deltas, `--delay` seconds before each event;
- chatkiosk (`python -m chatkiosk serve --migrate`) in a child process: SQLite in a temporary
  directory, the fake upstream as its only provider, per-user limits raised so nothing is refused;
- the client: this process (asyncio, uvloop when installed, one httpx.AsyncClient whose pool holds
  every stream's connection; SSE is split from the raw bytes, not with `aiter_lines`).

For each N, after one unmeasured warm-up round of each path (it opens the connections), it runs
`--rounds` rounds, each: N streams at once straight to the fake (`POST /v1/chat/completions`,
stream=true), then N streams at once through chatkiosk (`POST /api/conversations/{id}/messages`,
stream=true, one conversation per stream, one user; SQLite persistence of both messages included).

Printed per N, both paths measured in this run:
- throughput: content frames received per second of wall time (first request sent to last stream
  done, summed over the rounds), and chatkiosk / direct;
- time to first token (request sent -> first content delta) p50 / p99 and what chatkiosk adds;
- inter-token gap (between consecutive content deltas of one stream) p50 / p99;
- chatkiosk's RSS (VmRSS of its process) before the N's first round and at the peak sampled during
  its streams, and (peak - before) / N;
- CPU time of each process per 1000 frames (where the two shared cores go).
It prints figures, never asserts; on a failure (a process does not start, a stream errs or does
not finish) it prints one line and exits 1. Child processes and the temporary directory are
removed on every exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 40.0  # seconds a child process may take to answer


class BenchError(Exception):
    """A failure that ends the run with one line."""


# --- the fake upstream's process ------------------------------------------------------------


def answer_text(chunks: int) -> str:
    # Every piece is "word " so the fake's splitter makes exactly `chunks` content deltas.
    return "word " * chunks


def serve_upstream(chunks: int, delay: float) -> int:
    """Child mode: run the fake upstream, print its port, serve until stdin closes."""
    sys.path.insert(0, str(ROOT))
    from tests.fake_upstream import FakeUpstream, Reply

    reply = Reply(text=answer_text(chunks), chunks=chunks, delay=delay, usage=(20, chunks))
    upstream = FakeUpstream(default=reply, keep_requests=False).start()
    print(upstream.port, flush=True)
    with contextlib.suppress(Exception):
        sys.stdin.read()  # the parent closes our stdin (or dies): time to go
    upstream.stop()
    return 0


# --- the bare proxy's process ---------------------------------------------------------------
# What one Python worker carries with no auth, no storage and no limits: a Starlette app whose one
# route relays the request body to the upstream and streams the upstream's bytes back unchanged.
# Run once per upstream client (`--proxies aiohttp,httpx`), it measures the clients' cost per frame.


def serve_proxy(kind: str, upstream_port: int, port: int) -> int:
    """Child mode: run the bare proxy with `kind` (aiohttp or httpx) as its upstream client."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    url = f"http://127.0.0.1:{upstream_port}/v1/chat/completions"
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        if kind == "aiohttp":
            import aiohttp
            state["client"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        else:
            import httpx
            state["client"] = httpx.AsyncClient(limits=httpx.Limits(max_connections=None, max_keepalive_connections=1000), timeout=60)
        yield
        if kind == "aiohttp":
            await state["client"].close()
        else:
            await state["client"].aclose()

    async def relay(request: Request) -> StreamingResponse:
        body = await request.body()
        headers = {"content-type": "application/json"}
        client = state["client"]
        if kind == "aiohttp":
            upstream = await client.post(url, data=body, headers=headers)

            async def chunks() -> Any:
                try:
                    async for chunk in upstream.content.iter_any():
                        yield chunk
                finally:
                    upstream.release()
        else:
            upstream = await client.send(client.build_request("POST", url, content=body, headers=headers), stream=True)

            async def chunks() -> Any:
                try:
                    async for chunk in upstream.aiter_raw():
                        yield chunk
                finally:
                    await upstream.aclose()

        return StreamingResponse(chunks(), media_type="text/event-stream")

    app = Starlette(routes=[Route("/v1/chat/completions", relay, methods=["POST"])], lifespan=lifespan)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, loop="uvloop", http="httptools")
    return 0


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler:
    """Samples a process's VmRSS in a thread (every 20 ms) while it runs; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, rss_kib(self.pid))
            self._stop.wait(0.02)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(OSError):
            self.peak = max(self.peak, rss_kib(self.pid))


class Children:
    """The child processes and the temporary directory; `close` ends and removes them all."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="chat_stream_"))
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Any] = []

    def start(self, args: list[str], *, env: dict[str, str] | None = None, log: str, stdout_pipe: bool = False) -> subprocess.Popen:
        handle = open(self.tmp / log, "wb")
        self.logs.append(handle)
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE if stdout_pipe else handle,
            stderr=handle,
            env=env,
            cwd=self.tmp,
        )
        self.procs.append(proc)
        return proc

    def log_tail(self, log: str) -> str:
        with contextlib.suppress(OSError):
            lines = [l for l in (self.tmp / log).read_text(errors="replace").splitlines() if l.strip()]
            if lines:
                return lines[-1][:300]
        return "(no output)"

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(OSError):
                    if proc.stdin:
                        proc.stdin.close()
                    proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for handle in self.logs:
            handle.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_upstream(children: Children, chunks: int, delay: float) -> tuple[subprocess.Popen, int]:
    proc = children.start(
        [sys.executable, str(Path(__file__).resolve()), "--serve-upstream", "--chunks", str(chunks), "--delay", str(delay)],
        log="upstream.log",
        stdout_pipe=True,
    )
    assert proc.stdout is not None
    port: list[int] = []
    reader = threading.Thread(target=lambda: port.append(int(proc.stdout.readline() or 0)), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(START_TIMEOUT)
    if not port or not port[0]:
        raise BenchError(f"the fake upstream did not start: {children.log_tail('upstream.log')}")
    return proc, port[0]


def start_proxy(children: Children, kind: str, upstream_port: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = children.start(
        [sys.executable, str(Path(__file__).resolve()), "--serve-proxy", kind, "--upstream-port", str(upstream_port), "--proxy-port", str(port)],
        log=f"proxy-{kind}.log",
    )
    return proc, f"http://127.0.0.1:{port}"


def start_chatkiosk(children: Children, upstream_port: int, root: Path = ROOT, name: str = "chatkiosk") -> tuple[subprocess.Popen, str]:
    port = free_port()
    data_dir = children.tmp / f"data-{name}"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CHATKIOSK_", "OPENAI_", "ANTHROPIC_")) and k not in ("DATABASE_URL", "REDIS_URL")
    }
    provider = {
        "name": "fake", "kind": "openai", "base_url": f"http://127.0.0.1:{upstream_port}/v1",
        "model": "fake-model", "max_retries": 0,
    }
    # The project's editable install resolves `chatkiosk` only from the repository root, and the
    # server runs in the temporary directory: put the root on its path.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    env.update({
        "CHATKIOSK_CONFIG": str(children.tmp / "absent.toml"),
        "CHATKIOSK_ENVIRONMENT": "test",
        "CHATKIOSK_DATA_DIR": str(data_dir),
        "CHATKIOSK_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'chatkiosk.db'}",
        "CHATKIOSK_PROVIDERS": json.dumps([provider]),
        "CHATKIOSK_LOCAL_MODEL": "false",
        "CHATKIOSK_MAX_STREAMS_PER_USER": "100000",
        "CHATKIOSK_MESSAGES_PER_WINDOW": "10000000",
        "CHATKIOSK_DAILY_TOKEN_QUOTA": "1000000000",
        "CHATKIOSK_MAX_SESSIONS_PER_USER": "100",
    })
    proc = children.start(
        [sys.executable, "-m", "chatkiosk", "serve", "--migrate", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        log=f"{name}.log",
    )
    return proc, f"http://127.0.0.1:{port}"


async def wait_healthy(client: Any, base: str, proc: subprocess.Popen, children: Children, log: str = "chatkiosk.log") -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"chatkiosk exited with {proc.returncode}: {children.log_tail(log)}")
        with contextlib.suppress(Exception):
            if (await client.get(f"{base}/health", timeout=2)).status_code == 200:
                return
        await asyncio.sleep(0.1)
    raise BenchError(f"chatkiosk did not answer /health within {START_TIMEOUT:g} s: {children.log_tail(log)}")


# --- the client -----------------------------------------------------------------------------


@dataclass
class Stream:
    start: float = 0.0
    frames: list[float] = field(default_factory=list)  # arrival times of content deltas
    end: float = 0.0


async def _post_json(client: Any, url: str, body: dict, token: str | None = None, expect: int = 200) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(url, json=body, headers=headers)
    if response.status_code != expect:
        raise BenchError(f"POST {url} answered {response.status_code}: {response.text[:200]}")
    return response.json()


# A lean HTTP/1.1 client for the measured streams: one asyncio.Protocol per keep-alive connection,
# chunked decoding and SSE splitting done synchronously in `data_received`, the arrival time taken
# once per read. It costs a fraction of httpx per frame, so on two shared cores the client does not
# become the bottleneck of any path.


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.closed = False
        self.done: asyncio.Future | None = None
        self.on_body: Any = None
        self.state = "idle"
        self.status = 0
        self.keep_alive = True
        self.remaining = 0
        self.got_bytes = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError(f"connection lost mid-response ({exc or 'closed by the server'})"))

    def request(self, data: bytes, on_body: Any) -> asyncio.Future:
        assert self.transport is not None
        self.done = asyncio.get_running_loop().create_future()
        self.on_body, self.state, self.got_bytes = on_body, "head", False
        self.transport.write(data)
        return self.done

    def _finish(self, error: Exception | None = None) -> None:
        self.state = "idle"
        if not self.keep_alive and self.transport is not None:
            self.transport.close()
            self.closed = True
        if self.done is not None and not self.done.done():
            if error is not None:
                self.done.set_exception(error)
            else:
                self.done.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.got_bytes = True
        buf = self.buf
        buf += data
        try:
            while True:
                state = self.state
                if state == "data":
                    if len(buf) < self.remaining + 2:
                        return
                    chunk = bytes(buf[: self.remaining])
                    del buf[: self.remaining + 2]
                    self.state = "size"
                    self.on_body(chunk, now)
                elif state == "size":
                    cut = buf.find(b"\r\n")
                    if cut < 0:
                        return
                    size = int(bytes(buf[:cut]).split(b";")[0], 16)
                    del buf[: cut + 2]
                    self.remaining = size
                    self.state = "data" if size else "trailer"
                elif state == "trailer":
                    cut = buf.find(b"\r\n")
                    if cut < 0:
                        return
                    line = bytes(buf[:cut])
                    del buf[: cut + 2]
                    if not line:
                        self._finish()
                elif state == "head":
                    cut = buf.find(b"\r\n\r\n")
                    if cut < 0:
                        return
                    lines = bytes(buf[:cut]).decode("latin-1").split("\r\n")
                    del buf[: cut + 4]
                    self.status = int(lines[0].split()[1])
                    headers = {}
                    for line in lines[1:]:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip().lower()
                    self.keep_alive = headers.get("connection") != "close"
                    if headers.get("transfer-encoding") == "chunked":
                        self.state = "size"
                    else:
                        self.remaining = int(headers.get("content-length", "0"))
                        self.state = "fixed"
                elif state == "fixed":
                    if len(buf) < self.remaining:
                        return
                    body = bytes(buf[: self.remaining])
                    del buf[: self.remaining]
                    if body:
                        self.on_body(body, now)
                    self._finish()
                else:  # idle: bytes nobody asked for
                    buf.clear()
                    return
        except Exception as exc:  # a broken response must not hang the stream
            self.keep_alive = False
            self._finish(exc)


class RawClient:
    """Keep-alive connections per (host, port); `post` streams one request's body to `on_body`."""

    def __init__(self) -> None:
        self.idle: dict[tuple[str, int], list[_Conn]] = {}
        self.all: list[_Conn] = []

    async def _connect(self, host: str, port: int) -> _Conn:
        _, conn = await asyncio.get_running_loop().create_connection(_Conn, host, port)
        self.all.append(conn)
        return conn

    async def post(self, host: str, port: int, data: bytes, on_body: Any) -> int:
        """Send `data` (a whole request); returns the status once the body has ended."""
        pool = self.idle.setdefault((host, port), [])
        while pool:
            conn = pool.pop()
            if conn.closed:
                continue
            try:
                await conn.request(data, on_body)
            except ConnectionError:
                if conn.got_bytes:
                    raise
                continue  # the server closed an idle connection as we sent: try another
            break
        else:
            conn = await self._connect(host, port)
            await conn.request(data, on_body)
        if not conn.closed and conn.keep_alive:
            pool.append(conn)
        return conn.status

    def close(self) -> None:
        for conn in self.all:
            if conn.transport is not None and not conn.closed:
                conn.transport.close()


def http_request(host: str, port: int, path: str, body: dict, token: str | None = None) -> bytes:
    payload = json.dumps(body).encode()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: text/event-stream\r\n{auth}Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode("latin-1") + payload


class SseSink:
    """Splits a body into SSE events and keeps what the benchmark measures of them."""

    def __init__(self, kiosk: bool) -> None:
        self.kiosk = kiosk
        self.buf = b""
        self.result = Stream(start=time.perf_counter())
        self.error: str | None = None

    def __call__(self, chunk: bytes, now: float) -> None:
        self.buf += chunk
        while (cut := self.buf.find(b"\n\n")) >= 0:
            event, self.buf = self.buf[:cut], self.buf[cut + 2 :]
            if self.kiosk:
                self._kiosk(event, now)
            else:
                self._direct(event, now)

    def _direct(self, event: bytes, now: float) -> None:
        if not event.startswith(b"data: "):
            return
        data = event[6:]
        if data == b"[DONE]":
            self.result.end = now
            return
        for choice in json.loads(data).get("choices") or ():
            if (choice.get("delta") or {}).get("content"):
                self.result.frames.append(now)

    def _kiosk(self, event: bytes, now: float) -> None:
        if b"\nevent: delta\n" in event:
            self.result.frames.append(now)
        elif b"\nevent: done\n" in event:
            message = json.loads(event.split(b"\ndata: ", 1)[1])["message"]
            if message["status"] != "complete":
                self.error = f"a chatkiosk turn ended {message['status']}: {message.get('error')}"
            self.result.end = now
        elif b"\nevent: error\n" in event:
            self.error = f"a chatkiosk turn failed: {event.split(b'data: ', 1)[-1][:200].decode(errors='replace')}"


async def raw_stream(client: RawClient, host: str, port: int, data: bytes, kiosk: bool) -> Stream:
    sink = SseSink(kiosk)
    status = await client.post(host, port, data, sink)
    if status != 200:
        raise BenchError(f"{'chatkiosk' if kiosk else 'the fake upstream'} answered {status}: {sink.buf[:200]!r}")
    if sink.error:
        raise BenchError(sink.error)
    if not sink.result.end:
        raise BenchError(f"a {'chatkiosk' if kiosk else 'direct'} stream ended without its last event")
    return sink.result


@dataclass
class Phase:
    """Every stream of every round of one path at one N."""

    streams: list[Stream] = field(default_factory=list)
    wall: float = 0.0  # summed over rounds
    cpu: dict[str, float] = field(default_factory=dict)  # process -> CPU seconds, summed

    @property
    def frames(self) -> int:
        return sum(len(s.frames) for s in self.streams)

    @property
    def throughput(self) -> float:
        return self.frames / self.wall if self.wall else 0.0

    def ttft_ms(self) -> list[float]:
        return [(s.frames[0] - s.start) * 1000 for s in self.streams if s.frames]

    def gaps_ms(self) -> list[float]:
        return [(b - a) * 1000 for s in self.streams for a, b in zip(s.frames, s.frames[1:])]


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear between the nearest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


async def run_round(make: Any, n: int, phase: Phase | None, pids: dict[str, int], timeout: float, what: str) -> None:
    """Start n streams at once (`make(i)` gives each one's coroutine) and wait for all."""
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    began = time.perf_counter()
    tasks = [asyncio.ensure_future(make(i)) for i in range(n)]
    try:
        done = await asyncio.wait_for(asyncio.gather(*tasks), timeout)
    except TimeoutError:
        raise BenchError(f"{what}: {n} streams did not finish within {timeout:g} s") from None
    except BenchError as exc:
        raise BenchError(f"{what}: {exc}") from None
    except Exception as exc:  # httpx transport errors and the like
        raise BenchError(f"{what}: {type(exc).__name__}: {exc}") from None
    finally:
        for task in tasks:
            task.cancel()
    finished = max(s.end for s in done)
    if phase is None:
        return
    phase.streams += done
    phase.wall += finished - began
    for name, pid in pids.items():
        phase.cpu[name] = phase.cpu.get(name, 0.0) + cpu_seconds(pid) - cpu_before[name]


# --- the run --------------------------------------------------------------------------------


@dataclass
class Path_:
    """One way of streaming: how to start a stream, and the processes whose CPU it costs."""

    name: str
    make: Any
    pids: dict[str, int]
    server: str | None = None  # the process between client and upstream (its CPU per frame is printed)


@dataclass
class Result:
    n: int
    phases: dict[str, Phase]
    rss: dict[str, tuple[int, int]]  # server path -> (KiB before, KiB peak)


async def wait_port(base: str, proc: subprocess.Popen, children: Children, log: str) -> None:
    host, port = base.rsplit("/", 1)[1].split(":")
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{log} exited with {proc.returncode}: {children.log_tail(log)}")
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection(host, int(port))
            writer.close()
            return
        await asyncio.sleep(0.1)
    raise BenchError(f"{log} did not listen within {START_TIMEOUT:g} s: {children.log_tail(log)}")


async def prepare_chatkiosk(client: Any, base: str, most: int) -> tuple[str, list[str]]:
    """A user and one conversation per concurrent stream; returns the token and the ids."""
    username, password = f"bench_{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    await _post_json(client, f"{base}/api/auth/register", {"username": username, "password": password}, expect=201)
    token = (await _post_json(client, f"{base}/api/auth/login", {"username": username, "password": password}))["access_token"]
    conversations: list[str] = []
    for start in range(0, most, 50):
        batch = [
            _post_json(client, f"{base}/api/conversations", {"title": f"bench {i}"}, token, expect=201)
            for i in range(start, min(start + 50, most))
        ]
        conversations += [c["id"] for c in await asyncio.gather(*batch)]
    return token, conversations


async def bench(args: argparse.Namespace, children: Children) -> list[Result]:
    import httpx

    counts = args.streams
    upstream, upstream_port = start_upstream(children, args.chunks, args.delay)
    servers: dict[str, tuple[subprocess.Popen, str]] = {}
    for kind in args.proxies:
        servers[f"proxy-{kind}"] = start_proxy(children, kind, upstream_port)
    servers["chatkiosk"] = start_chatkiosk(children, upstream_port)
    if args.baseline_root:
        servers["baseline"] = start_chatkiosk(children, upstream_port, Path(args.baseline_root).resolve(), "baseline")
    most = max(counts)
    limits = httpx.Limits(max_connections=4 * most + 20, max_keepalive_connections=4 * most + 20)
    timeout = httpx.Timeout(60.0, connect=10.0, pool=30.0)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        for name, (proc, base) in servers.items():
            if name.startswith("proxy-"):
                await wait_port(base, proc, children, f"{name}.log")
            else:
                await wait_healthy(client, base, proc, children, f"{name}.log")
        prompt = "Say something, please."
        direct_body = {
            "model": "fake-model", "messages": [{"role": "user", "content": prompt}],
            "max_tokens": 512, "stream": True, "stream_options": {"include_usage": True},
        }
        kiosk_body = {"content": prompt, "stream": True}
        me = os.getpid()
        raw = RawClient()
        direct_data = http_request("127.0.0.1", upstream_port, "/v1/chat/completions", direct_body)
        paths = [Path_("direct", lambda i: raw_stream(raw, "127.0.0.1", upstream_port, direct_data, kiosk=False),
                       {"upstream": upstream.pid, "client": me})]
        for name, (proc, base) in servers.items():
            port = int(base.rsplit(":", 1)[1])
            pids = {"upstream": upstream.pid, "server": proc.pid, "client": me}
            if name.startswith("proxy-"):
                data = http_request("127.0.0.1", port, "/v1/chat/completions", direct_body)
                paths.append(Path_(name, lambda i, port=port, data=data: raw_stream(raw, "127.0.0.1", port, data, kiosk=False), pids, name))
            else:
                token, conversations = await prepare_chatkiosk(client, base, most)
                datas = [http_request("127.0.0.1", port, f"/api/conversations/{c}/messages", kiosk_body, token) for c in conversations]
                paths.append(Path_(name, lambda i, port=port, datas=datas: raw_stream(raw, "127.0.0.1", port, datas[i], kiosk=True), pids, name))
        round_timeout = max(30.0, (args.chunks + 4) * args.delay * 10 + most * 0.2)
        print(f"fake upstream pid {upstream.pid} on port {upstream_port}; "
              + "; ".join(f"{name} pid {proc.pid} at {base}" for name, (proc, base) in servers.items())
              + f"; client: this process (pid {me}, {loop_name()}, raw HTTP/1.1 keep-alive client)", flush=True)
        results = []
        try:
            for n in counts:
                results.append(await measure(n, args, paths, round_timeout))
        except BenchError as exc:
            for name, (proc, _) in [*servers.items(), ("upstream", (upstream, ""))]:
                if proc.poll() is not None:
                    raise BenchError(f"{exc} ({name} exited with {proc.returncode}: {children.log_tail(name + '.log')})") from None
            raise
        raw.close()
        return results


async def measure(n: int, args: argparse.Namespace, paths: list[Path_], round_timeout: float) -> Result:
    """Warm up, then the measured rounds of one N (every path in turn, each round); prints and returns its figures."""
    rss: dict[str, tuple[int, int]] = {}
    for path in paths:
        if path.server:
            rss[path.name] = (rss_kib(path.pids["server"]), rss_kib(path.pids["server"]))
        await run_round(path.make, n, None, {}, round_timeout, f"warm-up {path.name} N={n}")
    phases = {path.name: Phase() for path in paths}
    for r in range(args.rounds):
        for path in paths:
            await asyncio.sleep(0.2)
            if path.server:
                with RssSampler(path.pids["server"]) as sampler:
                    await run_round(path.make, n, phases[path.name], path.pids, round_timeout, f"{path.name} N={n} round {r + 1}")
                before, peak = rss[path.name]
                rss[path.name] = (before, max(peak, sampler.peak))
            else:
                await run_round(path.make, n, phases[path.name], path.pids, round_timeout, f"{path.name} N={n} round {r + 1}")
    result = Result(n, phases, rss)
    print_result(result, args)
    return result


def loop_name() -> str:
    loop = asyncio.get_running_loop()
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def cpu_us_per_frame(p: Phase, name: str) -> float:
    """CPU µs of one process per frame received (= CPU ms per 1000 frames)."""
    return 1e6 * p.cpu.get(name, 0.0) / max(p.frames, 1)


def print_result(r: Result, args: argparse.Namespace) -> None:
    d = r.phases["direct"]
    names = list(r.phases)
    expected = r.n * args.rounds * args.chunks
    print()
    print(f"N = {r.n} concurrent streams  ({args.rounds} rounds, {args.chunks} deltas per answer, "
          f"{args.delay * 1000:g} ms upstream delay per event; {expected} frames expected per path; received: "
          + ", ".join(f"{k} {p.frames}" for k, p in r.phases.items()) + ")")
    width = max(14, *(len(x) + 2 for x in names))
    print(f"  {'':28}" + "".join(f"{x:>{width}}" for x in names))
    print(f"  {'throughput (frames/s)':28}" + "".join(f"{p.throughput:{width}.1f}" for p in r.phases.values()))
    print(f"  {'ratio to direct':28}" + "".join(f"{p.throughput / d.throughput:{width - 1}.3f}x" for p in r.phases.values()))
    for label, q in (("TTFT p50 (ms)", 50), ("TTFT p99 (ms)", 99)):
        print(f"  {label:28}" + "".join(f"{pct(p.ttft_ms(), q):{width}.2f}" for p in r.phases.values()))
        print(f"  {'  added vs direct (ms)':28}" + "".join(f"{pct(p.ttft_ms(), q) - pct(d.ttft_ms(), q):+{width}.2f}" for p in r.phases.values()))
    for label, q in (("inter-token gap p50 (ms)", 50), ("inter-token gap p99 (ms)", 99)):
        print(f"  {label:28}" + "".join(f"{pct(p.gaps_ms(), q):{width}.2f}" for p in r.phases.values()))
    print(f"  {'server CPU µs per frame':28}" + "".join(
        f"{cpu_us_per_frame(p, 'server'):{width}.1f}" if k in r.rss else f"{'-':>{width}}" for k, p in r.phases.items()))
    print(f"  {'upstream CPU µs per frame':28}" + "".join(f"{cpu_us_per_frame(p, 'upstream'):{width}.1f}" for p in r.phases.values()))
    print(f"  {'client CPU µs per frame':28}" + "".join(f"{cpu_us_per_frame(p, 'client'):{width}.1f}" for p in r.phases.values()))
    print(f"  {'cores busy (of %d)' % (os.cpu_count() or 0):28}" + "".join(f"{sum(p.cpu.values()) / p.wall:{width}.2f}" for p in r.phases.values()))
    for name, (before, peak) in r.rss.items():
        print(f"  {name} RSS: {before / 1024:.1f} MiB before, {peak / 1024:.1f} MiB peak -> {(peak - before) / r.n:.1f} KiB per stream")
    sys.stdout.flush()


def print_summary(results: list[Result]) -> None:
    print()
    print("summary (each path vs direct, same run, same mock upstream)")
    print(f"  {'path':>16} {'streams':>7} {'frames/s ratio':>15} {'+TTFT p50 ms':>13} {'+TTFT p99 ms':>13} {'server CPU µs/frame':>20}")
    for r in results:
        d = r.phases["direct"]
        for name, p in r.phases.items():
            if name == "direct":
                continue
            print(f"  {name:>16} {r.n:>7} {p.throughput / d.throughput:>14.3f}x "
                  f"{pct(p.ttft_ms(), 50) - pct(d.ttft_ms(), 50):>13.2f} {pct(p.ttft_ms(), 99) - pct(d.ttft_ms(), 99):>13.2f} "
                  f"{cpu_us_per_frame(p, 'server'):>20.1f}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", default="1,50,200,300", help="concurrent stream counts, comma-separated (default 1,50,200,300)")
    parser.add_argument("--chunks", type=int, default=50, help="content deltas per answer (default 50)")
    parser.add_argument("--delay", type=float, default=0.02, help="fake upstream seconds before each event (default 0.02)")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per stream count (default 3)")
    parser.add_argument("--proxies", default="aiohttp,httpx",
                        help="bare proxies to measure, by upstream client: aiohttp, httpx, both (default) or none")
    parser.add_argument("--baseline-root", default=None,
                        help="a second chatkiosk checkout (e.g. an older commit) to measure in the same run as `baseline`")
    parser.add_argument("--serve-upstream", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-proxy", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--upstream-port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--proxy-port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_upstream or args.serve_proxy:
        return args
    args.proxies = [] if args.proxies in ("", "none") else [p.strip() for p in args.proxies.split(",") if p.strip()]
    if set(args.proxies) - {"aiohttp", "httpx"}:
        parser.error("--proxies takes aiohttp, httpx or none")
    try:
        args.streams = [int(s) for s in args.streams.split(",") if s.strip()]
    except ValueError:
        parser.error("--streams takes integers separated by commas, e.g. 1,50,200")
    if not args.streams or min(args.streams) < 1 or args.chunks < 1 or args.delay < 0 or args.rounds < 1:
        parser.error("--streams, --chunks and --rounds must be positive, --delay not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_upstream:
        return serve_upstream(args.chunks, args.delay)
    if args.serve_proxy:
        return serve_proxy(args.serve_proxy, args.upstream_port, args.proxy_port)

    def on_term(signum: int, frame: Any) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, on_term)
    children = Children()
    try:
        try:
            import uvloop
        except ImportError:
            results = asyncio.run(bench(args, children))
        else:
            results = uvloop.run(bench(args, children))
        print_summary(results)
        return 0
    except BenchError as exc:
        print(f"chat_stream: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("chat_stream: interrupted", file=sys.stderr)
        return 130
    finally:
        children.close()


if __name__ == "__main__":
    sys.exit(main())
