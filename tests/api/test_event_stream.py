"""EventStream's writes: what goes to the socket in which ASGI message.

Each body message is one socket write in uvicorn, so the stream sends the catch-up (the events
published before it attached) with its head in one message, and the done frame with the end of
the body in one message. These tests drive the response with an ASGI `send` that records every
message and a `receive` that behaves as uvicorn's does (`http.disconnect` once the response is
complete, or when the client leaves).
"""

from __future__ import annotations

import asyncio

from chatkiosk.api.stream import EventStream
from chatkiosk.chat.generations import Generation
from chatkiosk.events import DeltaEvent, DoneEvent, Event, MessageEvent


def _encode(seq: int, event: Event) -> bytes:
    return b"%d:%b;" % (seq, event.type.encode())


def _done() -> DoneEvent:
    # The test encoder reads only the event's type: no message or usage is needed.
    return DoneEvent(message=None, usage=None)  # type: ignore[arg-type]


class _Client:
    """The ASGI side of one connection, as uvicorn presents it."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.complete = asyncio.Event()
        self.left = asyncio.Event()

    async def send(self, message: dict) -> None:
        assert not self.complete.is_set(), f"sent after the response completed: {message}"
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.complete.set()

    async def receive(self) -> dict:
        complete = asyncio.ensure_future(self.complete.wait())
        left = asyncio.ensure_future(self.left.wait())
        await asyncio.wait({complete, left}, return_when=asyncio.FIRST_COMPLETED)
        complete.cancel()
        left.cancel()
        return {"type": "http.disconnect"}

    def bodies(self) -> list[tuple[bytes, bool]]:
        return [(m["body"], m.get("more_body", False)) for m in self.sent if m["type"] == "http.response.body"]


async def _serve(stream: EventStream, client: _Client) -> asyncio.Task[None]:
    task = asyncio.ensure_future(stream({"type": "http"}, client.receive, client.send))
    for _ in range(20):  # let it send its start and attach
        await asyncio.sleep(0)
    return task


async def test_catch_up_goes_out_with_the_head_in_one_write():
    generation = Generation("conv", "user")
    await generation.publish(MessageEvent(message=None))  # type: ignore[arg-type]
    await generation.publish(MessageEvent(message=None))  # type: ignore[arg-type]
    client = _Client()
    task = await _serve(EventStream(generation, _encode, owner=True, head=b"head;"), client)
    assert client.sent[0]["type"] == "http.response.start"
    assert client.bodies() == [(b"head;1:message;2:message;", True)]
    await generation.publish(DeltaEvent("a"))
    await generation.publish(DeltaEvent("b"))
    assert client.bodies()[1:] == [(b"3:delta;", True), (b"4:delta;", True)]
    await generation.publish(_done())
    generation.finish()
    await task


async def test_the_done_frame_ends_the_body_in_the_same_write():
    generation = Generation("conv", "user")
    client = _Client()
    task = await _serve(EventStream(generation, _encode, owner=True), client)
    await generation.publish(DeltaEvent("a"))
    await generation.publish(_done())
    # The client has the whole body before the generation ends (its final store runs beside the
    # done frame); the response's call returns with the generation's end.
    assert client.bodies() == [(b"1:delta;", True), (b"2:done;", False)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert not task.done()
    generation.finish()
    await asyncio.wait_for(task, 5)
    assert client.bodies() == [(b"1:delta;", True), (b"2:done;", False)]


async def test_the_end_of_the_body_does_not_cancel_the_owners_turn():
    generation = Generation("conv", "user")
    generation.task = asyncio.ensure_future(asyncio.sleep(30))  # the turn, still storing its end
    client = _Client()
    task = await _serve(EventStream(generation, _encode, owner=True), client)
    await generation.publish(_done())
    for _ in range(20):  # `receive` now says disconnect: the body is complete
        await asyncio.sleep(0)
    assert not generation.task.done()
    generation.task.cancel()
    generation.finish()
    await asyncio.wait_for(task, 5)


async def test_a_client_that_leaves_cancels_the_owners_turn():
    generation = Generation("conv", "user")
    generation.task = asyncio.ensure_future(asyncio.sleep(30))
    client = _Client()
    task = await _serve(EventStream(generation, _encode, owner=True), client)
    await generation.publish(DeltaEvent("a"))
    client.left.set()
    await asyncio.wait_for(task, 5)
    await asyncio.sleep(0)
    assert generation.task.cancelled()
    generation.finish()


async def test_joining_a_finished_answer_sends_it_whole_in_one_write():
    generation = Generation("conv", "user")
    for event in (MessageEvent(message=None), DeltaEvent("a"), _done()):  # type: ignore[arg-type]
        await generation.publish(event)
    generation.finish()
    client = _Client()
    await asyncio.wait_for(EventStream(generation, _encode, after=1)({"type": "http"}, client.receive, client.send), 5)
    assert client.bodies() == [(b"2:delta;3:done;", False)]


async def test_a_generation_that_ends_without_done_still_ends_the_body():
    generation = Generation("conv", "user")
    client = _Client()
    task = await _serve(EventStream(generation, _encode), client)
    await generation.publish(DeltaEvent("a"))
    generation.finish()
    await asyncio.wait_for(task, 5)
    assert client.bodies() == [(b"1:delta;", True), (b"", False)]
