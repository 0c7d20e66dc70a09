"""SECURITY 28: SIGKILL the server 20 times while answers stream; nothing committed is lost.

A real `chatkiosk serve` process on SQLite, a real fake upstream that streams slowly, and
three streams in flight at every kill. After each restart, every user message the server had
acknowledged (its `message` event) is still there, nothing is left `streaming`, and at the
end SQLite's integrity check passes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from ..fake_upstream import FakeUpstream, Reply
from ..sse import iterate

KILLS = 20
PASSWORD = "correct-horse-battery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(env: dict, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "chatkiosk", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


async def _wait_healthy(client: httpx.AsyncClient, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited at start")
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("the server did not start")


async def _stream(client, headers, cid, acked: list[str], started: asyncio.Event) -> None:
    try:
        async with client.stream("POST", f"/api/conversations/{cid}/messages", headers=headers,
                                 json={"content": f"turn {time.monotonic()}", "stream": True}) as r:
            async for event in iterate(r.aiter_lines()):
                if event.event == "message":
                    acked.append(event.data["message"]["id"])
                elif event.event == "delta":
                    started.set()
    except (httpx.TransportError, httpx.StreamError):
        pass  # the server was killed under us: expected


# 21 server starts: on two shared cores that takes longer than the suite's 120 s default.
@pytest.mark.timeout(900)
async def test_sigkill_while_streaming_loses_nothing(tmp_path):
    with FakeUpstream(default=Reply(text="word " * 400, chunks=400, delay=0.01)) as up:
        provider = {"name": "up", "kind": "openai", "base_url": up.base_url, "model": "m", "max_retries": 0}
        env = {
            **os.environ, "CHATKIOSK_DATA_DIR": str(tmp_path), "CHATKIOSK_ENVIRONMENT": "test",
            "CHATKIOSK_PROVIDERS": json.dumps([provider]), "CHATKIOSK_LOCAL_MODEL": "false",
            "CHATKIOSK_MESSAGES_PER_WINDOW": "10000", "CHATKIOSK_LOG_LEVEL": "WARNING",
        }
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        assert subprocess.run([sys.executable, "-m", "chatkiosk", "db", "upgrade"], env=env, capture_output=True).returncode == 0
        port = _free_port()
        acked: list[str] = []
        headers = None
        convs: list[str] = []
        for round_ in range(KILLS + 1):
            proc = _start(env, port)
            try:
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                    await _wait_healthy(client, proc)
                    if headers is None:
                        await client.post("/api/auth/register", json={"username": "crash", "password": PASSWORD})
                    token = (await client.post("/api/auth/login", json={"username": "crash", "password": PASSWORD})).json()["access_token"]
                    headers = {"Authorization": f"Bearer {token}"}
                    if not convs:
                        for _ in range(3):
                            convs.append((await client.post("/api/conversations", headers=headers, json={})).json()["id"])
                    # After every restart: all acknowledged messages are there, none left streaming.
                    stored = []
                    for cid in convs:
                        page = (await client.get(f"/api/conversations/{cid}/messages?limit=100", headers=headers)).json()["data"]
                        stored += page
                    ids = {m["id"] for m in stored}
                    assert set(acked) <= ids, set(acked) - ids
                    assert not [m for m in stored if m["status"] == "streaming"]
                    if round_ == KILLS:
                        assert any(m["status"] == "incomplete" for m in stored)
                        break
                    started = asyncio.Event()
                    tasks = [asyncio.create_task(_stream(client, headers, cid, acked, started)) for cid in convs]
                    await asyncio.wait_for(started.wait(), 10)
                    await asyncio.sleep(0.05)
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(10)
                    await asyncio.gather(*tasks)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
        assert len(acked) >= KILLS * 3
    db = sqlite3.connect(tmp_path / "chatkiosk.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


async def test_sigkill_mid_answer_keeps_the_text_the_client_saw(tmp_path):
    """The text of a streaming answer is saved every few seconds: after SIGKILL the message is
    `incomplete` and holds what the client had seen (up to the last save)."""
    from chatkiosk.chat.partial import SAVE_EVERY

    with FakeUpstream(default=Reply(text="word " * 1000, chunks=1000, delay=0.01)) as up:
        provider = {"name": "up", "kind": "openai", "base_url": up.base_url, "model": "m", "max_retries": 0}
        env = {
            **os.environ, "CHATKIOSK_DATA_DIR": str(tmp_path), "CHATKIOSK_ENVIRONMENT": "test",
            "CHATKIOSK_PROVIDERS": json.dumps([provider]), "CHATKIOSK_LOCAL_MODEL": "false", "CHATKIOSK_LOG_LEVEL": "WARNING",
        }
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        assert subprocess.run([sys.executable, "-m", "chatkiosk", "db", "upgrade"], env=env, capture_output=True).returncode == 0
        port = _free_port()
        seen: list[tuple[float, str]] = []  # (arrival, text so far)
        proc = _start(env, port)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                await _wait_healthy(client, proc)
                await client.post("/api/auth/register", json={"username": "partial", "password": PASSWORD})
                token = (await client.post("/api/auth/login", json={"username": "partial", "password": PASSWORD})).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                cid = (await client.post("/api/conversations", headers=headers, json={})).json()["id"]

                async def stream() -> None:
                    text = ""
                    try:
                        async with client.stream("POST", f"/api/conversations/{cid}/messages", headers=headers,
                                                 json={"content": "a long answer, please", "stream": True}) as r:
                            async for event in iterate(r.aiter_lines()):
                                if event.event == "delta":
                                    text += event.data["text"]
                                    seen.append((time.monotonic(), text))
                    except (httpx.TransportError, httpx.StreamError):
                        pass  # killed under us

                task = asyncio.create_task(stream())
                deadline = time.monotonic() + 30
                while not seen or time.monotonic() - seen[0][0] < 2.5 * SAVE_EVERY:
                    assert time.monotonic() < deadline and not task.done()
                    await asyncio.sleep(0.05)
                killed_at = time.monotonic()
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                await task
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        proc = _start(env, port)  # the restart marks what was left streaming incomplete
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                await _wait_healthy(client, proc)
                token = (await client.post("/api/auth/login", json={"username": "partial", "password": PASSWORD})).json()["access_token"]
                page = (await client.get(f"/api/conversations/{cid}/messages", headers={"Authorization": f"Bearer {token}"})).json()["data"]
        finally:
            proc.kill()
            proc.wait(10)
    answer = next(m for m in page if m["role"] == "assistant")
    assert answer["status"] == "incomplete"
    everything = seen[-1][1]
    assert answer["content"] and everything.startswith(answer["content"])
    # At most about one save interval (plus the write's own time) of what was seen is missing.
    seen_earlier = [text for at, text in seen if at <= killed_at - SAVE_EVERY - 1.0]
    assert seen_earlier and len(answer["content"]) >= len(seen_earlier[-1])
