"""A generation's events sent to an HTTP client: the one place for stream headers, the
disconnect watcher, heartbeats and "wait for the end".

`EventStream` is an ASGI response that attaches a sink to the generation: each event is
encoded (SSE or OpenAI chunks — the encoder is the caller's) and written to the socket by the
generating task as it publishes it. The request's own task only watches for the client leaving
and sends a heartbeat when nothing was sent for a while.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from chatkiosk.chat.generations import Generation
from chatkiosk.errors import ChatkioskError
from chatkiosk.events import DoneEvent, Event

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
HEARTBEAT_SECONDS = 15.0

Encoder = Callable[[int, Event], bytes]
"""One event as the bytes to send (empty: nothing to send for it)."""


async def disconnected(receive: Receive) -> None:
    """Return when the client has gone (the ASGI `http.disconnect`)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def until(generation: Generation, receive: Receive, what: Awaitable[None]) -> None:
    """Wait for `what`; if the client leaves first, cancel the generation and wait for its end."""
    target = asyncio.ensure_future(what)
    watcher = asyncio.ensure_future(disconnected(receive))
    try:
        done, _ = await asyncio.wait({target, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if target not in done:
            generation.cancel()
            await generation.wait()
    finally:
        for task in (target, watcher):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def wait_done(generation: Generation, receive: Receive) -> DoneEvent:
    """The generation's done event, for a client answered in one piece (its failure raised).

    A client that leaves first cancels it.
    """
    await until(generation, receive, generation.wait())
    error = generation.error
    if error is not None:
        raise error if isinstance(error, ChatkioskError) else ChatkioskError("the answer failed")
    done = generation.done
    if done is None:
        raise ChatkioskError("the answer failed")
    return done


class EventStream(Response):
    """Streams a generation from `after` on, each event through `encode`.

    `head` and `heartbeat` are bytes sent first and when idle. With `owner`, the client that
    leaves cancels the generation (the client that started a turn owns it).
    """

    media_type = "text/event-stream"

    def __init__(
        self, generation: Generation, encode: Encoder, *, after: int = 0, owner: bool = False,
        head: bytes = b"", heartbeat: bytes = b": heartbeat\n\n", headers: dict[str, str] | None = None,
    ) -> None:
        self.generation = generation
        self.encode = encode
        self.after = after
        self.owner = owner
        self.head = head
        self.heartbeat = heartbeat
        self.every = HEARTBEAT_SECONDS
        self.status_code = 200
        self.background = None
        self.init_headers({**STREAM_HEADERS, **(headers or {})})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        clock = asyncio.get_running_loop().time
        last = clock()
        encode = self.encode

        async def sink(seq: int, event: Event) -> None:
            nonlocal last
            body = encode(seq, event)
            if body:
                last = clock()
                await send({"type": "http.response.body", "body": body, "more_body": True})

        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if self.head:
            await send({"type": "http.response.body", "body": self.head, "more_body": True})
        generation = self.generation
        await generation.attach(sink, self.after)
        ended = generation.wait()  # the generation's own future, shielded: no task per stream
        watcher = asyncio.ensure_future(disconnected(receive))
        try:
            while not ended.done():
                done, _ = await asyncio.wait({ended, watcher}, timeout=self.every, return_when=asyncio.FIRST_COMPLETED)
                if watcher in done:
                    if self.owner:
                        generation.cancel()
                    return
                if not done and clock() - last >= self.every:
                    last = clock()
                    await send({"type": "http.response.body", "body": self.heartbeat, "more_body": True})
        finally:
            generation.detach(sink)
            for task in (ended, watcher):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await send({"type": "http.response.body", "body": b"", "more_body": False})
