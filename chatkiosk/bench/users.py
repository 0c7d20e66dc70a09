"""One virtual user: signs up, opens a conversation, sends streamed turns and times them."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from chatkiosk.bench.plan import BenchPlan


@dataclass(slots=True)
class TurnSample:
    """What one turn measured: time to first token, the gaps between tokens, how it ended."""

    ok: bool
    seconds: float
    ttft: float | None = None
    gaps: list[float] = field(default_factory=list)
    error: str | None = None  # "429 rate_limited", "stream upstream_error", "ReadTimeout"…


class _Clock:
    """Marks the first token and the gaps between the following ones."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.last: float | None = None
        self.ttft: float | None = None
        self.gaps: list[float] = []

    def token(self) -> None:
        now = time.perf_counter()
        if self.last is None:
            self.ttft = now - self.start
        else:
            self.gaps.append(now - self.last)
        self.last = now

    def sample(self, error: str | None = None) -> TurnSample:
        return TurnSample(error is None, time.perf_counter() - self.start, self.ttft, self.gaps, error)


def _http_error(response: httpx.Response, body: bytes) -> str:
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = "unparsed"
    return f"{response.status_code} {code}"


class VirtualUser:
    """A user of the product, driven by the bench: `await user.prepare()`, then `await user.turn()`."""

    def __init__(self, plan: BenchPlan, index: int, http: httpx.AsyncClient, run_id: str) -> None:
        self.plan = plan
        self.http = http
        self.username = f"{plan.user_prefix}{run_id}u{index}"
        self.headers: dict[str, str] = {}
        self.token = ""
        self.conversation_id = ""
        self._ws: Any = None

    async def prepare(self) -> None:
        """Register (or sign in when the name exists), then open a conversation with the agent."""
        credentials = {"username": self.username, "password": self.plan.password}
        r = await self.http.post("/api/auth/register", json=credentials)
        if r.status_code not in (201, 409):
            raise RuntimeError(f"register: {_http_error(r, r.content)}")
        r = await self.http.post("/api/auth/login", json=credentials)
        if r.status_code != 200:
            raise RuntimeError(f"login: {_http_error(r, r.content)}")
        self.token = r.json()["access_token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}
        r = await self.http.post("/api/conversations", json={"agent": self.plan.agent, "title": "bench"}, headers=self.headers)
        if r.status_code != 201:
            raise RuntimeError(f"conversation: {_http_error(r, r.content)}")
        self.conversation_id = r.json()["id"]
        if self.plan.transport == "ws":
            await self._connect_ws()

    async def turn(self) -> TurnSample:
        """One streamed turn over the plan's transport."""
        try:
            async with asyncio.timeout(self.plan.timeout):
                if self.plan.transport == "sse":
                    return await self._turn_sse()
                if self.plan.transport == "ws":
                    return await self._turn_ws()
                return await self._turn_v1()
        except TimeoutError:
            return TurnSample(False, self.plan.timeout, error="client_timeout")
        except (httpx.HTTPError, OSError) as exc:
            return TurnSample(False, 0.0, error=type(exc).__name__)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    # --- transports

    async def _turn_sse(self) -> TurnSample:
        clock = _Clock()
        url = f"/api/conversations/{self.conversation_id}/messages"
        body = {"content": self.plan.message, "stream": True}
        async with self.http.stream("POST", url, json=body, headers=self.headers) as r:
            if r.status_code != 200:
                return clock.sample(_http_error(r, await r.aread()))
            kind = ""
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    if kind == "delta":
                        clock.token()
                    elif kind == "error":
                        return clock.sample(f"stream {json.loads(line[6:])['error'].get('code')}")
                    elif kind == "done":
                        return clock.sample()
        return clock.sample("stream_ended_early")

    async def _turn_v1(self) -> TurnSample:
        clock = _Clock()
        body = {"model": self.plan.agent, "stream": True, "messages": [{"role": "user", "content": self.plan.message}]}
        headers = {**self.headers, "X-Conversation-Id": self.conversation_id}
        async with self.http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r:
            if r.status_code != 200:
                return clock.sample(_http_error(r, await r.aread()))
            async for line in r.aiter_lines():
                if not line.startswith("data: "):
                    continue
                if line == "data: [DONE]":
                    return clock.sample()
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    return clock.sample(f"stream {chunk['error'].get('code')}")
                for choice in chunk.get("choices") or []:
                    if (choice.get("delta") or {}).get("content"):
                        clock.token()
        return clock.sample("stream_ended_early")

    async def _connect_ws(self) -> None:
        import websockets

        url = str(self.http.base_url).replace("http", "ws", 1).rstrip("/") + "/api/ws"
        origin = str(self.http.base_url).rstrip("/")
        self._ws = await websockets.connect(url, origin=origin, max_size=2**22)
        await self._ws.send(json.dumps({"type": "auth", "token": self.token}))
        frame = json.loads(await self._ws.recv())
        if frame.get("type") != "ready":
            raise RuntimeError(f"websocket: {frame.get('code') or frame.get('type')}")

    async def _turn_ws(self) -> TurnSample:
        clock = _Clock()
        await self._ws.send(json.dumps({"type": "chat", "conversation_id": self.conversation_id, "content": self.plan.message}))
        while True:
            frame = json.loads(await self._ws.recv())
            kind = frame.get("type")
            if kind == "delta":
                clock.token()
            elif kind == "done":
                return clock.sample()
            elif kind == "error":
                error = frame.get("error") if isinstance(frame.get("error"), dict) else frame
                status = frame.get("status")
                return clock.sample(f"{status} {error.get('code')}" if status else f"stream {error.get('code')}")
            elif kind == "revoked":
                return clock.sample("revoked")
