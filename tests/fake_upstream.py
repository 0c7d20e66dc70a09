"""A real fake LLM server on loopback: OpenAI chat completions and Anthropic messages.

    with FakeUpstream() as up:
        up.queue(Reply(text="Hi there", chunks=3), Reply.error(503))
        cfg = ProviderConfig(name="up", kind="openai", base_url=up.base_url, model="m")
        ...
        assert up.requests[0].json["model"] == "m"

It runs uvicorn in a background thread on 127.0.0.1 (a port the OS picks), so the client
under test goes through real sockets, real SSE framing and real disconnects. Replies are
taken from the queue in order, then `default` (set with `script`). The same `Reply` is
encoded as OpenAI chunks on `/v1/chat/completions` and as Anthropic events on
`/v1/messages`; failures (delay, drop, hang, trickle, HTTP errors) act on either. An OpenAI
request's `n` and `logprobs` are answered (see `Asked`).

It is a raw ASGI app, not a framework one, to stay cheap under benchmark load
(hundreds of concurrent streams) and to see each client disconnect directly.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

import uvicorn

__all__ = ["Asked", "FakeToolCall", "FakeUpstream", "Received", "Reply", "choice_text", "token_logprob"]


@dataclass(frozen=True)
class FakeToolCall:
    """A tool call the fake model makes; its arguments stream in `pieces` parts."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None
    pieces: int = 3

    @property
    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


@dataclass(frozen=True)
class Reply:
    """What the fake answers to one request.

    Counting for `drop_after` / `hang_after` is in SSE events sent (the OpenAI role chunk is
    the first event). Without a stream, `drop_after` cuts the JSON body and `hang_after`
    acts like `hang`.
    """

    text: str = "Hello from the fake upstream."
    chunks: int = 3  # the text is split into this many content deltas
    tool_calls: tuple[FakeToolCall, ...] = ()
    usage: tuple[int, int] | None = (11, 7)  # (prompt, completion); None: no usage
    finish_reason: str | None = None  # default: tool_calls when it calls tools, else stop
    delay: float = 0.0  # seconds before each event (and before a non-streamed answer)
    drop_after: int | None = None  # close the connection after this many events
    end_after: int | None = None  # end the body cleanly (a valid HTTP end) after this many events
    hang: bool = False  # never answer at all (not even headers)
    hang_after: int | None = None  # send this many events, then go silent
    trickle: float | None = None  # send the body one byte every this many seconds
    status: int = 200
    error_message: str = "fake upstream error"
    redirect_to: str | None = None  # answer 307 with this Location
    done: bool = True  # end OpenAI streams with `data: [DONE]`

    @classmethod
    def error(cls, status: int, message: str | None = None) -> Reply:
        """An HTTP error with an OpenAI-shaped body."""
        return cls(status=status, error_message=message or f"fake upstream error {status}")

    def with_(self, **changes: Any) -> Reply:
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass
class Received:
    """One request the fake received, and how it ended."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float  # time.monotonic()
    cancelled_event: threading.Event = field(default_factory=threading.Event)
    cancelled_at: float | None = None  # when the client went away before the answer ended
    completed_at: float | None = None
    dropped_at: float | None = None  # when the fake cut the connection on purpose

    @property
    def json(self) -> Any:
        """The body as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None

    @property
    def cancelled(self) -> bool:
        """The client disconnected before the answer was complete."""
        return self.cancelled_event.is_set()

    def wait_cancelled(self, timeout: float) -> bool:
        """Block until the client disconnects (True) or `timeout` passes (False)."""
        return self.cancelled_event.wait(timeout)

    async def wait_cancelled_async(self, timeout: float) -> bool:
        """`wait_cancelled` for async tests: polls, so it never blocks the event loop."""
        end = time.monotonic() + timeout
        while not self.cancelled:
            if time.monotonic() >= end:
                return False
            await asyncio.sleep(0.01)
        return True


class FakeUpstream:
    """The server. Use as a context manager (`with FakeUpstream() as up:`) or `start`/`stop`."""

    def __init__(self, *, default: Reply | None = None, keep_requests: bool = True, model: str = "fake-model") -> None:
        self.default = default or Reply()
        self.keep_requests = keep_requests
        self.model = model
        self.requests: list[Received] = []
        self.request_count = 0
        self._queue: list[Reply] = []
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- control ---------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        """http://127.0.0.1:PORT (Anthropic-style base URL)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT/v1 (OpenAI-style base URL)."""
        return f"{self.root_url}/v1"

    def script(self, reply: Reply | None = None, **fields: Any) -> FakeUpstream:
        """Set the default reply (used when the queue is empty); fields change `Reply()`."""
        self.default = reply or Reply(**fields)
        return self

    def queue(self, *replies: Reply) -> FakeUpstream:
        """Answer the next requests with these replies, in order."""
        with self._lock:
            self._queue.extend(replies)
        return self

    @property
    def cancelled(self) -> list[Received]:
        """The requests whose client went away before the answer was complete."""
        return [r for r in self.requests if r.cancelled]

    def chat_requests(self) -> list[Received]:
        """Only the generation requests (not /models)."""
        return [r for r in self.requests if r.method == "POST"]

    def reset(self) -> None:
        """Forget received requests and queued replies."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.request_count = 0

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._queue.pop(0) if self._queue else self.default

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeUpstream:
        """Bind a loopback port and serve from a background thread; returns when ready."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self,
            lifespan="off",
            log_config=None,  # leave the process's logging alone
            log_level="critical",  # deliberate drops and hangs are not errors worth a log
            access_log=False,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
            backlog=4096,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="fake-upstream")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake upstream did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop the server and its thread (hung requests are cut)."""
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- ASGI ------------------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        received = Received(
            method=scope["method"],
            path=scope["path"],
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            body=bytes(body),
            received_at=time.monotonic(),
        )
        self.request_count += 1
        if self.keep_requests:
            self.requests.append(received)

        responder = asyncio.ensure_future(self._respond(received, send))
        watcher = asyncio.ensure_future(self._watch_disconnect(receive, received, responder))
        try:
            await responder
        except _Dropped:
            # Returning without finishing the body makes uvicorn close the connection.
            received.completed_at = received.dropped_at = time.monotonic()
        except asyncio.CancelledError:
            if not received.cancelled:
                raise  # the server itself is shutting down
        finally:
            watcher.cancel()

    async def _watch_disconnect(self, receive: Any, received: Received, responder: asyncio.Future) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if received.completed_at is None:
                    received.cancelled_at = time.monotonic()
                    received.cancelled_event.set()
                    responder.cancel()
                return

    async def _respond(self, received: Received, send: Any) -> None:
        path = received.path.rstrip("/")
        if received.method == "GET" and path.endswith("/models"):
            ids = [self.model]
            await _send_json(send, 200, {"object": "list", "data": [{"id": m, "object": "model"} for m in ids]})
            received.completed_at = time.monotonic()
            return
        if received.method != "POST" or not path.endswith(("/chat/completions", "/messages")):
            await _send_json(send, 404, _openai_error(404, f"no route {received.method} {path}"))
            received.completed_at = time.monotonic()
            return
        anthropic = path.endswith("/messages")
        try:
            request = json.loads(received.body or b"{}")
        except ValueError:
            await _send_json(send, 400, _openai_error(400, "body is not JSON"))
            received.completed_at = time.monotonic()
            return
        reply = self._next_reply()
        if reply.hang:
            await asyncio.Event().wait()  # until the client leaves or the server stops
        if reply.redirect_to:
            await send({"type": "http.response.start", "status": 307, "headers": [(b"location", reply.redirect_to.encode()), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            received.completed_at = time.monotonic()
            return
        if reply.status >= 400:
            await asyncio.sleep(reply.delay)
            error = _anthropic_error(reply) if anthropic else _openai_error(reply.status, reply.error_message)
            await _send_json(send, reply.status, error)
            received.completed_at = time.monotonic()
            return
        model = request.get("model") or self.model
        if request.get("stream"):
            include_usage = anthropic or bool((request.get("stream_options") or {}).get("include_usage"))
            events = _anthropic_events(reply, model) if anthropic else _openai_events(reply, model, include_usage, Asked.of(request))
            await self._stream(send, reply, events)
        else:
            answer = _anthropic_message(reply, model) if anthropic else _openai_completion(reply, model, Asked.of(request))
            await self._answer(send, reply, answer)
        received.completed_at = time.monotonic()

    async def _stream(self, send: Any, reply: Reply, events: list[bytes]) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
        if reply.trickle is not None:
            for byte in b"".join(events):
                await asyncio.sleep(reply.trickle)
                await send({"type": "http.response.body", "body": bytes([byte]), "more_body": True})
        else:
            for n, event in enumerate(events):
                if n == reply.drop_after:
                    raise _Dropped
                if n == reply.end_after:
                    break
                if n == reply.hang_after:
                    await asyncio.Event().wait()
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _answer(self, send: Any, reply: Reply, answer: dict) -> None:
        if reply.hang_after is not None:
            await asyncio.Event().wait()
        await asyncio.sleep(reply.delay)
        data = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if reply.drop_after is not None:
            await send({"type": "http.response.body", "body": data[: len(data) // 2], "more_body": True})
            raise _Dropped
        await send({"type": "http.response.body", "body": data})


class _Dropped(Exception):
    """Raised inside the app to cut a connection mid-answer."""


# --- encoders --------------------------------------------------------------------------


def _split(text: str, n: int) -> list[str]:
    if not text:
        return []
    n = max(1, min(n, len(text)))
    size = -(-len(text) // n)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _finish(reply: Reply) -> str:
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


@dataclass(frozen=True)
class Asked:
    """What an OpenAI request asked of the answer's shape: `n` choices, `logprobs`, `top_logprobs`.

    Choice 0 is the reply's text (and its tool calls); choice i > 0 is `choice_text(reply, i)`.
    With `logprobs`, each content piece is one token whose logprob is `token_logprob(i, k)`
    (choice i, piece k) and whose `top_logprobs` are that many made-up alternatives.
    """

    n: int = 1
    logprobs: bool = False
    top_logprobs: int = 0

    @classmethod
    def of(cls, request: dict) -> Asked:
        return cls(int(request.get("n") or 1), bool(request.get("logprobs")), int(request.get("top_logprobs") or 0))

    def token(self, choice: int, k: int, text: str) -> dict:
        top = [{"token": f"{text}~{j}", "logprob": -1.0 - j, "bytes": list(f"{text}~{j}".encode())} for j in range(self.top_logprobs)]
        return {"token": text, "logprob": token_logprob(choice, k), "bytes": list(text.encode()), "top_logprobs": top}


def choice_text(reply: Reply, choice: int) -> str:
    """The text of choice `choice` when a client asks for several."""
    return reply.text if choice == 0 else f"{reply.text} (answer {choice + 1})"


def token_logprob(choice: int, k: int) -> float:
    """The logprob the fake gives the k-th piece of a choice."""
    return -round(0.01 * (choice + 1) + 0.1 * k, 4)


def _openai_events(reply: Reply, model: str, include_usage: bool, asked: Asked = Asked()) -> list[bytes]:
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

    def chunk(delta: dict, finish: str | None = None, index: int = 0, logprobs: dict | None = None) -> bytes:
        choice = {"index": index, "delta": delta, "finish_reason": finish}
        if asked.logprobs:
            choice["logprobs"] = logprobs
        return _sse({**base, "choices": [choice]})

    events = [chunk({"role": "assistant", "content": ""}, index=i) for i in range(asked.n)]
    texts = [_split(choice_text(reply, i), reply.chunks) for i in range(asked.n)]
    for k in range(max(map(len, texts))):  # the choices' pieces interleaved, as OpenAI streams them
        for i, pieces in enumerate(texts):
            if k < len(pieces):
                logprobs = {"content": [asked.token(i, k, pieces[k])], "refusal": None}
                events.append(chunk({"content": pieces[k]}, index=i, logprobs=logprobs))
    for i, call in enumerate(reply.tool_calls):
        call_id = call.id or f"call_fake_{i}"
        first = {"index": i, "id": call_id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        events.append(chunk({"tool_calls": [first]}))
        for piece in _split(call.arguments_json, call.pieces):
            events.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
    events += [chunk({}, _finish(reply) if i == 0 else "stop", index=i) for i in range(asked.n)]
    if include_usage and reply.usage is not None:
        p, c = reply.usage
        events.append(_sse({**base, "choices": [], "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}}))
    if reply.done:
        events.append(b"data: [DONE]\n\n")
    return events


def _openai_completion(reply: Reply, model: str, asked: Asked = Asked()) -> dict:
    choices = []
    for i in range(asked.n):
        text = choice_text(reply, i)
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        if reply.tool_calls and i == 0:
            message["tool_calls"] = [
                {"id": c.id or f"call_fake_{n}", "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}}
                for n, c in enumerate(reply.tool_calls)
            ]
        choice: dict[str, Any] = {"index": i, "message": message, "finish_reason": _finish(reply) if i == 0 else "stop"}
        if asked.logprobs:
            tokens = [asked.token(i, k, piece) for k, piece in enumerate(_split(text, reply.chunks))]
            choice["logprobs"] = {"content": tokens, "refusal": None}
        choices.append(choice)
    p, c = reply.usage or (0, 0)
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
    }


_ANTHROPIC_STOP = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}


def _anthropic_events(reply: Reply, model: str) -> list[bytes]:
    p, c = reply.usage or (0, 0)
    message = {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [], "usage": {"input_tokens": p, "output_tokens": 1}}
    events = [_sse({"type": "message_start", "message": message}, "message_start")]
    index = 0
    if reply.text:
        events.append(_sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}, "content_block_start"))
        for piece in _split(reply.text, reply.chunks):
            events.append(_sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}, "content_block_delta"))
        events.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
        index = 1
    for i, call in enumerate(reply.tool_calls, start=index):
        block = {"type": "tool_use", "id": call.id or f"toolu_fake_{i}", "name": call.name, "input": {}}
        events.append(_sse({"type": "content_block_start", "index": i, "content_block": block}, "content_block_start"))
        for piece in _split(call.arguments_json, call.pieces):
            events.append(_sse({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": piece}}, "content_block_delta"))
        events.append(_sse({"type": "content_block_stop", "index": i}, "content_block_stop"))
    stop = _ANTHROPIC_STOP.get(_finish(reply), "end_turn")
    events.append(_sse({"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": c}}, "message_delta"))
    events.append(_sse({"type": "message_stop"}, "message_stop"))
    return events


def _anthropic_message(reply: Reply, model: str) -> dict:
    content: list[dict] = [{"type": "text", "text": reply.text}] if reply.text else []
    for i, call in enumerate(reply.tool_calls):
        content.append({"type": "tool_use", "id": call.id or f"toolu_fake_{i}", "name": call.name, "input": json.loads(call.arguments_json)})
    p, c = reply.usage or (0, 0)
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": _ANTHROPIC_STOP.get(_finish(reply), "end_turn"),
        "usage": {"input_tokens": p, "output_tokens": c},
    }


def _openai_error(status: int, message: str) -> dict:
    kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}


def _anthropic_error(reply: Reply) -> dict:
    kind = {429: "rate_limit_error", 529: "overloaded_error", 401: "authentication_error"}.get(
        reply.status, "api_error" if reply.status >= 500 else "invalid_request_error"
    )
    return {"type": "error", "error": {"type": kind, "message": reply.error_message}}


async def _send_json(send: Any, status: int, data: dict) -> None:
    body = json.dumps(data).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

