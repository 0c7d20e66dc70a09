"""FallbackProvider: retries and fallbacks, only before the first piece; over real sockets."""

from __future__ import annotations

import asyncio

import pytest

from chatkiosk.errors import UpstreamError, UpstreamTimeout
from chatkiosk.llm.base import TextDelta
from chatkiosk.llm.fake import ScriptedProvider
from chatkiosk.llm.routing import FallbackProvider
from tests.fake_upstream import Reply
from tests.llm.conftest import USER, assert_no_stray_tasks


class Sleeps:
    """Records backoff delays instead of waiting them out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


async def text_of(stream) -> str:
    return "".join([p.text async for p in stream if isinstance(p, TextDelta)])


@pytest.fixture
def chain(upstream, other_upstream, make_openai):
    """primary (upstream) then secondary (other_upstream), 2 retries each, recorded backoff."""
    sleeps = Sleeps()
    primary = make_openai(upstream, name="primary")
    secondary = make_openai(other_upstream, name="secondary")
    secondary_reply = Reply(text="from secondary")
    other_upstream.script(secondary_reply)
    router = FallbackProvider([primary, secondary], max_retries=2, backoff_base=0.1, sleep=sleeps)
    return router, sleeps


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_retryable_error_is_retried_with_backoff(chain, upstream, other_upstream, status):
    router, sleeps = chain
    upstream.queue(Reply.error(status), Reply.error(status), Reply(text="third time lucky"))

    assert await text_of(router.stream(USER)) == "third time lucky"

    assert len(upstream.chat_requests()) == 3 and other_upstream.requests == []
    assert sleeps.delays == [0.1, 0.2]  # exponential


async def test_falls_back_when_retries_are_spent(chain, upstream, other_upstream):
    router, sleeps = chain
    upstream.script(Reply.error(503))

    assert await text_of(router.stream(USER)) == "from secondary"

    assert len(upstream.chat_requests()) == 3  # 1 try + 2 retries
    assert len(other_upstream.chat_requests()) == 1


async def test_timeout_before_first_token_falls_back(upstream, other_upstream, make_openai):
    upstream.script(Reply(hang=True))
    other_upstream.script(Reply(text="fast"))
    primary = make_openai(upstream, first_token_timeout=0.2, total_timeout=1)
    router = FallbackProvider([primary, make_openai(other_upstream)], max_retries=0)

    assert await text_of(router.stream(USER)) == "fast"
    assert await upstream.requests[0].wait_cancelled_async(2)
    await assert_no_stray_tasks()


async def test_nothing_is_retried_after_the_first_piece(chain, upstream, other_upstream):
    router, _ = chain
    upstream.queue(Reply(text="abcdef", chunks=3, drop_after=2))  # role chunk + "ab", then cut
    pieces = []

    with pytest.raises(UpstreamError) as info:
        async for piece in router.stream(USER):
            pieces.append(piece)

    assert info.value.retryable  # retryable in itself, yet not retried: text was already out
    assert pieces == [TextDelta("ab")]
    assert len(upstream.chat_requests()) == 1 and other_upstream.requests == []


async def test_timeout_after_first_piece_propagates(upstream, other_upstream, make_openai):
    upstream.queue(Reply(text="abcd", chunks=2, hang_after=2))
    router = FallbackProvider([make_openai(upstream, first_token_timeout=0.3, total_timeout=0.6), make_openai(other_upstream)])

    with pytest.raises(UpstreamTimeout):
        await text_of(router.stream(USER))
    assert other_upstream.requests == []


async def test_request_errors_neither_retry_nor_fall_back(chain, upstream, other_upstream):
    router, sleeps = chain
    upstream.queue(Reply.error(400, "context too long"))

    with pytest.raises(UpstreamError, match="context too long"):
        await text_of(router.stream(USER))

    assert len(upstream.chat_requests()) == 1 and other_upstream.requests == [] and sleeps.delays == []


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_misconfigured_provider_falls_back_without_retry(chain, upstream, other_upstream, status):
    router, sleeps = chain
    upstream.queue(Reply.error(status))

    assert await text_of(router.stream(USER)) == "from secondary"
    assert len(upstream.chat_requests()) == 1 and sleeps.delays == []


async def test_last_error_is_raised_when_all_fail(chain, upstream, other_upstream):
    router, _ = chain
    upstream.script(Reply.error(503))
    other_upstream.script(Reply.error(429, "secondary is busy"))

    with pytest.raises(UpstreamError, match="secondary is busy") as info:
        await text_of(router.stream(USER))
    assert info.value.upstream_status == 429


async def test_complete_retries_and_falls_back_too(chain, upstream, other_upstream):
    router, _ = chain
    upstream.script(Reply.error(500))

    result = await router.complete(USER)

    assert result.text == "from secondary" and len(upstream.chat_requests()) == 3


async def test_closing_early_cancels_the_upstream(chain, upstream):
    router, _ = chain
    upstream.queue(Reply(text="x" * 60, chunks=30, delay=0.05))

    stream = router.stream(USER)
    await anext(stream)
    await stream.aclose()

    assert await upstream.requests[0].wait_cancelled_async(2)


async def test_other_errors_are_not_swallowed():
    router = FallbackProvider([ScriptedProvider([ValueError("bug")]), ScriptedProvider(["unused"])])
    with pytest.raises(ValueError, match="bug"):
        await text_of(router.stream(USER))


async def test_members_and_helpers():
    local_like = ScriptedProvider(["b"], name="local", supports_tools=False, supports_images=False, ready=True)
    router = FallbackProvider([ScriptedProvider([], name="a", ready=False), local_like], backoff_base=1, backoff_max=3)

    assert router.name == "a>local" and router.supports_tools is False  # mixed chain: lowest common
    assert router.supports_images is False  # a photo reaches such a chain as a note, whichever member answers
    assert [router.backoff(n) for n in (1, 2, 3, 4)] == [1, 2, 3, 3]
    assert await router.check() is True
    with pytest.raises(ValueError):
        FallbackProvider([])


async def test_a_hung_upstream_costs_one_first_token_wait_not_one_per_try(upstream, make_openai):
    """Issue 13 item 9: the whole wait before the first token is bounded, and the error says so truly."""
    import time

    from chatkiosk.llm.registry import build_route

    upstream.script(Reply(hang=True))
    provider = make_openai(upstream, name="hung", first_token_timeout=1.0, total_timeout=5.0, max_retries=2)
    route = build_route(["hung"], {"hung": provider}, {"hung": provider.cfg}, backoff_base=0.1)
    start = time.monotonic()
    with pytest.raises(UpstreamTimeout) as caught:
        await text_of(route.stream(USER))
    elapsed = time.monotonic() - start
    assert elapsed < 1.8, f"waited {elapsed:.1f} s for a 1 s first-token timeout"
    message = caught.value.message
    assert "within 1 s, the bound on the whole wait before the first token" in message
    assert "1 try" in message
    await asyncio.sleep(0.1)
    assert upstream.chat_requests()[0].cancelled


async def test_the_bound_leaves_room_to_fall_back_and_counts_the_tries(upstream, other_upstream, make_openai):
    from chatkiosk.llm.registry import build_route

    upstream.script(Reply(hang=True))
    other_upstream.script(Reply(text="from the fallback"))
    hung = make_openai(upstream, name="hung", first_token_timeout=0.4, max_retries=0)
    spare = make_openai(other_upstream, name="spare")
    configs = {"hung": hung.cfg, "spare": spare.cfg}
    route = build_route(["hung", "spare"], {"hung": hung, "spare": spare}, configs, first_token_wait=3.0)
    assert await text_of(route.stream(USER)) == "from the fallback"

    upstream.script(Reply.error(503))
    failing = make_openai(upstream, name="failing", max_retries=2)
    route = build_route(["failing"], {"failing": failing}, {"failing": failing.cfg}, backoff_base=0.05)
    with pytest.raises(UpstreamError) as caught:
        await text_of(route.stream(USER))
    assert "HTTP 503" in caught.value.message and "after 3 tries" in caught.value.message
