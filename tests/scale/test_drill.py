"""The multi-worker drill: real `chatkiosk serve` processes on PostgreSQL + Redis.

Two servers on two ports (the second one itself runs two worker processes) share one
database and one Redis, as hosts behind a load balancer would. What one of them does must
hold on the other: a logout, the message rate and token quota (SECURITY 29), a live answer
re-joined and cancelled through the other (over SSE and over a WebSocket), a `single_login`
kick of a socket on the other, and one answer at a time per conversation: a second turn sent
to the other host while the first answers is refused like one sent to the same host, and a
bound `/v1` call waits its turn there (or is 409 past `openai_binding_wait`).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import websockets.sync.client as ws_client

from ..conftest import PASSWORD, require_service
from ..fake_upstream import FakeUpstream, Reply


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Host:
    base: str
    proc: subprocess.Popen
    http: httpx.Client

    def signup(self, name: str | None = None) -> dict:
        name = name or f"d{uuid.uuid4().hex[:8]}"
        r = self.http.post("/api/auth/register", json={"username": name, "password": PASSWORD})
        assert r.status_code == 201, r.text
        return self.login(name)

    def login(self, name: str) -> dict:
        r = self.http.post("/api/auth/login", json={"username": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        tokens = r.json()
        return {"username": name, "token": tokens["access_token"], "headers": {"Authorization": f"Bearer {tokens['access_token']}"}}

    def conversation(self, user: dict) -> str:
        r = self.http.post("/api/conversations", headers=user["headers"], json={"agent": "assistant"})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def turn(self, user: dict, conv: str, **options: object) -> httpx.Response:
        body = {"content": "hello", "stream": False, **({"options": options} if options else {})}
        return self.http.post(f"/api/conversations/{conv}/messages", headers=user["headers"], json=body)


def _pg_database() -> str:
    import asyncpg

    name = f"chatkiosk_drill_{uuid.uuid4().hex[:8]}"

    async def make() -> None:
        conn = await asyncpg.connect(host="127.0.0.1", user="root", database="test")
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(make())
    return name


def _drop(name: str) -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(host="127.0.0.1", user="root", database="test")
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(drop())


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(default=Reply(text="one two three four", chunks=4)) as up:
        yield up


@pytest.fixture(scope="module")
def hosts(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Host, Host]]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    name = _pg_database()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql+asyncpg://root@127.0.0.1:5432/{name}",
        "REDIS_URL": "redis://127.0.0.1:6379/15", "CHATKIOSK_REDIS_PREFIX": f"drill:{uuid.uuid4().hex[:8]}",
        "CHATKIOSK_DATA_DIR": str(tmp_path_factory.mktemp("drill")), "CHATKIOSK_ENVIRONMENT": "development",
        "CHATKIOSK_SECRET_KEY": "drill-secret-" + uuid.uuid4().hex,
        "OPENAI_BASE_URL": upstream.base_url, "OPENAI_API_KEY": "sk-drill", "CHATKIOSK_MODEL": "fake-model",
        "CHATKIOSK_LOCAL_MODEL": "false", "CHATKIOSK_LOG_LEVEL": "WARNING", "CHATKIOSK_SINGLE_LOGIN": "true",
        "CHATKIOSK_MESSAGES_PER_WINDOW": "3", "CHATKIOSK_MESSAGE_WINDOW": "60", "CHATKIOSK_DAILY_TOKEN_QUOTA": "40",
        "CHATKIOSK_OPENAI_BINDING_WAIT": "4",
    }
    env.pop("CHATKIOSK_CONFIG", None)
    cli = [sys.executable, "-m", "chatkiosk"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    started: list[Host] = []
    try:
        for workers in (1, 2):
            port = _free_port()
            proc = subprocess.Popen([*cli, "serve", "--port", str(port), "--workers", str(workers)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            base = f"http://127.0.0.1:{port}"
            started.append(Host(base, proc, httpx.Client(base_url=base, timeout=20)))
        for host in started:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if host.http.get("/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert host.proc.poll() is None, host.proc.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        time.sleep(1.0)  # the second host's two workers both up
        yield started[0], started[1]
    finally:
        for host in started:
            host.proc.terminate()
        for host in started:
            try:
                host.proc.wait(15)
            except subprocess.TimeoutExpired:
                host.proc.kill()
            host.http.close()
        _drop(name)


def test_logout_on_one_host_is_401_on_the_other(hosts: tuple[Host, Host]) -> None:
    a, b = hosts
    user = a.signup()
    assert b.http.get("/api/auth/me", headers=user["headers"]).status_code == 200
    assert a.http.post("/api/auth/logout", headers=user["headers"]).status_code == 204
    # at once, and on every worker of the other host
    for _ in range(6):
        assert b.http.get("/api/auth/me", headers=user["headers"]).status_code == 401


def test_the_message_rate_is_shared(hosts: tuple[Host, Host]) -> None:
    a, b = hosts
    user = a.signup()
    conv = a.conversation(user)
    statuses = [host.turn(user, conv, max_tokens=2).status_code for host in (a, b, a)]
    assert statuses == [200, 200, 200]
    refused = b.turn(user, conv, max_tokens=2)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "message_rate"


def test_the_token_quota_is_shared(hosts: tuple[Host, Host]) -> None:
    """40 tokens a day; the fake answer costs 18 (11 in, 7 out): two turns fit, a third does not."""
    a, b = hosts
    user = a.signup()
    conv = a.conversation(user)
    assert a.turn(user, conv, max_tokens=2).status_code == 200
    assert b.turn(user, conv, max_tokens=2).status_code == 200
    refused = a.turn(user, conv, max_tokens=5)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "token_quota"


def test_single_login_kicks_a_socket_on_the_other_host(hosts: tuple[Host, Host]) -> None:
    a, b = hosts
    user = a.signup()
    with ws_client.connect(b.base.replace("http", "ws") + "/api/ws", open_timeout=10) as ws:
        ws.send(json.dumps({"type": "auth", "token": user["token"]}))
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        a.login(user["username"])  # a second login, on the other host
        frames = []
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            while True:
                frames.append(json.loads(ws.recv(timeout=10)))
    assert closed.value.rcvd.code == 4001
    assert frames[-1] == {"type": "revoked", "reason": "replaced"}


import websockets.exceptions  # noqa: E402  (used above; kept beside the sync client import)


def test_a_live_answer_is_rejoined_and_cancelled_through_the_other_host(hosts: tuple[Host, Host], upstream: FakeUpstream) -> None:
    """Started on host A, followed from the start and cancelled on host B (two workers, no stickiness)."""
    import threading

    a, b = hosts
    user = a.signup()
    conv = a.conversation(user)
    upstream.queue(Reply(text=" ".join(f"w{i}" for i in range(40)), chunks=40, delay=0.25))
    seen_on_a: list[str] = []

    def ask_on_a() -> None:
        body = {"content": "tell me a long story", "stream": True, "options": {"max_tokens": 5}}
        with a.http.stream("POST", f"/api/conversations/{conv}/messages", headers=user["headers"], json=body) as r:
            for line in r.iter_lines():
                if line.startswith("event: "):
                    seen_on_a.append(line[7:])

    asking = threading.Thread(target=ask_on_a, daemon=True)
    asking.start()
    deadline = time.monotonic() + 20
    while "delta" not in seen_on_a:
        assert time.monotonic() < deadline, seen_on_a
        time.sleep(0.05)
    kinds, deltas, done = [], [], None
    with b.http.stream("GET", f"/api/conversations/{conv}/events", params={"after": 0}, headers=user["headers"]) as r:
        assert r.status_code == 200
        kind, cancelled = "", False
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
                kinds.append(kind)
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                if kind == "delta":
                    deltas.append(data["text"])
                    if len(deltas) == 3 and not cancelled:
                        cancel = b.http.post(f"/api/conversations/{conv}/cancel", headers=user["headers"])
                        assert cancel.status_code == 200 and cancel.json()["cancelled"] is True
                        cancelled = True
                elif kind == "done":
                    done = data
                    break
    asking.join(20)
    assert kinds[0] == "message"  # re-joined from the very start, on the other host
    assert deltas and done is not None and done["message"]["status"] == "cancelled"
    assert len(deltas) < 40  # the cancel, relayed to host A, stopped the answer
    assert seen_on_a[-1] == "done"
    history = b.http.get(f"/api/conversations/{conv}/messages", headers=user["headers"]).json()["data"]
    assert history[0]["status"] == "cancelled" and history[0]["content"].startswith("".join(deltas[:2]).strip()[:2])


def test_another_user_cannot_rejoin_through_the_other_host(hosts: tuple[Host, Host], upstream: FakeUpstream) -> None:
    """SECURITY 12 across hosts: the mirror is read only after the conversation's owner is checked."""
    a, b = hosts
    owner, other = a.signup(), b.signup()
    conv = a.conversation(owner)
    assert b.http.get(f"/api/conversations/{conv}/events", headers=other["headers"]).status_code == 404
    assert b.http.post(f"/api/conversations/{conv}/cancel", headers=other["headers"]).status_code == 404


def _stream_in_background(host: Host, user: dict, conv: str, seen: list[dict]) -> threading.Thread:
    """A streamed turn on `host`, its events (`{event, data}`) collected into `seen` as they arrive."""

    def ask() -> None:
        body = {"content": "tell me a story", "stream": True, "options": {"max_tokens": 2}}
        with host.http.stream("POST", f"/api/conversations/{conv}/messages", headers=user["headers"], json=body) as r:
            kind = ""
            for line in r.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    seen.append({"event": kind, "data": json.loads(line[6:])})

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not any(e["event"] == "delta" for e in seen):
        assert time.monotonic() < deadline and thread.is_alive(), seen
        time.sleep(0.05)
    return thread


def _v1_turn(host: Host, user: dict, conv: str) -> httpx.Response:
    body = {"model": "assistant", "messages": [{"role": "user", "content": "and then?"}], "max_tokens": 2}
    return host.http.post("/v1/chat/completions", headers={**user["headers"], "X-Conversation-Id": conv}, json=body)


def test_a_second_turn_on_the_other_host_waits_its_turn(hosts: tuple[Host, Host], upstream: FakeUpstream) -> None:
    """One answer at a time per conversation across hosts: while A answers, a turn sent to B is
    409 (as on A itself) and a `/v1` call bound to the conversation waits for A's answer, then runs."""
    a, b = hosts
    user = a.signup()
    conv = a.conversation(user)
    upstream.queue(Reply(text="once upon a time", chunks=4, delay=0.4))
    seen: list[dict] = []
    asking = _stream_in_background(a, user, conv, seen)
    refused = b.turn(user, conv, max_tokens=2)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "generation_in_progress"
    waited = _v1_turn(b, user, conv)
    assert waited.status_code == 200, waited.text
    asking.join(20)
    assert waited.json()["choices"][0]["message"]["content"] == "one two three four"
    # B ran once A's answer had ended, on the history it left: A's finished answer is in B's context.
    sent = [r.json["messages"] for r in upstream.chat_requests() if r.json["messages"][-1]["content"] == "and then?"]
    assert {"role": "assistant", "content": "once upon a time"} in sent[-1]
    history = b.http.get(f"/api/conversations/{conv}/messages", headers=user["headers"]).json()["data"]
    assert [(m["role"], m["content"], m["status"]) for m in reversed(history)] == [
        ("user", "tell me a story", "complete"), ("assistant", "once upon a time", "complete"),
        ("user", "and then?", "complete"), ("assistant", "one two three four", "complete"),
    ]


def test_a_turn_on_the_other_host_is_409_past_the_wait(hosts: tuple[Host, Host], upstream: FakeUpstream) -> None:
    """An answer longer than `openai_binding_wait` (4 s here): the bound call on B gives up with 409."""
    a, b = hosts
    user = a.signup()
    conv = a.conversation(user)
    upstream.queue(Reply(text=" ".join(f"w{i}" for i in range(60)), chunks=60, delay=0.25))
    seen: list[dict] = []
    asking = _stream_in_background(a, user, conv, seen)
    refused = _v1_turn(b, user, conv)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "generation_in_progress"
    assert seen[-1]["event"] != "done"  # A still answering: B gave up at its bound
    assert b.http.post(f"/api/conversations/{conv}/cancel", headers=user["headers"]).json() == {"cancelled": True}
    asking.join(20)
    assert seen[-1]["event"] == "done" and seen[-1]["data"]["message"]["status"] == "cancelled"


def test_a_socket_on_the_other_host_rejoins_and_cancels_the_answer(hosts: tuple[Host, Host], upstream: FakeUpstream) -> None:
    """A WebSocket on B joins A's answer from its first event, gets the frames A's client gets,
    and its cancel stops the answer on A."""
    a, b = hosts
    user = a.signup()
    conv = a.conversation(user)
    upstream.queue(Reply(text=" ".join(f"w{i}" for i in range(40)), chunks=40, delay=0.25))
    seen: list[dict] = []
    asking = _stream_in_background(a, user, conv, seen)
    frames: list[dict] = []
    with ws_client.connect(b.base.replace("http", "ws") + "/api/ws", open_timeout=10) as ws:
        ws.send(json.dumps({"type": "auth", "token": user["token"]}))
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        ws.send(json.dumps({"type": "join", "conversation_id": conv, "after": 0}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "joined", "conversation_id": conv, "after": 0}
        while True:
            frame = json.loads(ws.recv(timeout=20))
            frames.append(frame)
            if sum(f["type"] == "delta" for f in frames) == 3:
                ws.send(json.dumps({"type": "cancel", "conversation_id": conv}))
            if frame["type"] == "done":
                break
    asking.join(20)
    assert {"type": "cancelled", "conversation_id": conv, "cancelled": True} in frames
    events = [f for f in frames if f["type"] != "cancelled"]
    assert events[0]["type"] == "message" and events[0]["seq"] == 1  # from the very start, on the other host
    assert [f["seq"] for f in events] == list(range(1, len(events) + 1))
    # The same events as A's own client, frame for frame.
    assert [{"event": f["type"], "data": {k: v for k, v in f.items() if k not in ("type", "seq", "conversation_id")}} for f in events] == seen
    assert events[-1]["message"]["status"] == "cancelled" and sum(f["type"] == "delta" for f in events) < 40
