"""The search backends against a fake SearXNG and a fake Brave API on loopback."""

from __future__ import annotations

import pytest

from chatkiosk.errors import ToolError
from chatkiosk.reach.search import BraveBackend, SearxngBackend

from .conftest import BRAVE_KEY, FakeWeb


async def test_searxng_results_come_back_as_title_url_snippet(fake_web: FakeWeb) -> None:
    backend = SearxngBackend(fake_web.base, timeout=5)
    try:
        results = await backend.search("배송 시간", 5)
    finally:
        await backend.close()
    assert [r.title for r in results] == ["Delivery times 2026", "Shipping FAQ"]  # javascript: URL dropped
    assert results[0].url == f"{fake_web.base}/article" and "2 pm" in results[0].snippet
    asked = [r for r in fake_web.requests if r["path"] == "/search"][-1]
    assert asked["query"] == {"q": "배송 시간", "format": "json", "safesearch": "1"}


async def test_searxng_results_are_capped_at_count(fake_web: FakeWeb) -> None:
    backend = SearxngBackend(fake_web.base, timeout=5)
    try:
        assert len(await backend.search("x", 1)) == 1
    finally:
        await backend.close()


async def test_brave_sends_its_key_in_the_header(fake_web: FakeWeb) -> None:
    backend = BraveBackend(fake_web.base, BRAVE_KEY, timeout=5)
    try:
        results = await backend.search("hosted", 3)
    finally:
        await backend.close()
    assert [(r.title, r.url, r.snippet) for r in results] == [("Brave result", "https://brave.example/a", "From the hosted API.")]
    asked = [r for r in fake_web.requests if r["path"] == "/res/v1/web/search"][-1]
    assert asked["headers"]["x-subscription-token"] == BRAVE_KEY and BRAVE_KEY not in str(asked["query"])


async def test_a_backend_error_never_quotes_the_key(fake_web: FakeWeb) -> None:
    backend = BraveBackend(fake_web.base, "wrong-key-that-must-not-leak", timeout=5)
    try:
        with pytest.raises(ToolError) as failed:
            await backend.search("x", 3)
    finally:
        await backend.close()
    assert failed.value.code == "search_failed" and "401" in failed.value.message
    assert "wrong-key-that-must-not-leak" not in failed.value.message


async def test_an_unreachable_backend_is_a_tool_error() -> None:
    backend = SearxngBackend("http://127.0.0.1:9", timeout=2)
    try:
        with pytest.raises(ToolError) as failed:
            await backend.search("x", 3)
    finally:
        await backend.close()
    assert failed.value.code == "search_unavailable"
