"""fetch_page against the fake web: main text only, and every refusal of the page reader.

The fake web listens on 127.0.0.1, which the policy refuses like any loopback address; these
tests allow exactly 127.0.0.1/32 (as an admin could), so the rest of loopback, private and
link-local space stays refused — also when a redirect points there.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from chatkiosk.errors import ToolError
from chatkiosk.reach.fetch import PageFetcher
from chatkiosk.reach.netguard import AddressPolicy

from .conftest import FakeWeb


@pytest.fixture
async def fetcher() -> AsyncIterator[PageFetcher]:
    reader = PageFetcher(AddressPolicy(["127.0.0.1/32"]), max_bytes=200_000, timeout=3, max_chars=4000)
    yield reader
    await reader.close()


async def test_a_page_comes_back_as_its_main_text(fetcher: PageFetcher, fake_web: FakeWeb) -> None:
    page = await fetcher.read(f"{fake_web.base}/article")
    assert page.title in ("Delivery times", "Delivery times 2026")
    assert "Orders placed before 2 pm ship the same day." in page.text and "Island deliveries" in page.text
    for furniture in ("Home | Shop", "cookies", "© Example"):
        assert furniture not in page.text
    assert page.truncated is False


async def test_plain_text_keeps_korean_and_chinese(fetcher: PageFetcher, fake_web: FakeWeb) -> None:
    page = await fetcher.read(f"{fake_web.base}/plain")
    assert "첫 줄입니다." in page.text and "第二段。" in page.text


async def test_the_connection_goes_to_the_checked_address_with_the_real_host(fetcher: PageFetcher, fake_web: FakeWeb) -> None:
    await fetcher.read(f"{fake_web.base}/article")
    asked = [r for r in fake_web.requests if r["path"] == "/article"][-1]
    assert asked["headers"]["host"] == f"127.0.0.1:{fake_web.port}"


@pytest.mark.parametrize("target", [
    "http://127.0.0.2:{port}/article",  # loopback beyond the one allowed address
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://[::1]:{port}/article",
    "file:///etc/passwd",
])
async def test_a_redirect_to_a_refused_address_is_refused(fetcher: PageFetcher, fake_web: FakeWeb, target: str) -> None:
    hops_before = len(fake_web.requests)
    with pytest.raises(ToolError) as refused:
        await fetcher.read(f"{fake_web.base}/redirect?to={target.format(port=fake_web.port)}")
    assert refused.value.code == "url_refused"
    assert len(fake_web.requests) == hops_before + 1  # only the first hop was ever sent


async def test_without_an_allowance_loopback_is_refused(fake_web: FakeWeb) -> None:
    reader = PageFetcher(AddressPolicy(), timeout=3)
    try:
        with pytest.raises(ToolError) as refused:
            await reader.read(f"{fake_web.base}/article")
    finally:
        await reader.close()
    assert refused.value.code == "url_refused"


async def test_redirect_loops_end(fetcher: PageFetcher, fake_web: FakeWeb) -> None:
    with pytest.raises(ToolError, match="redirects"):
        await fetcher.read(f"{fake_web.base}/hops?n=0")


async def test_the_size_is_limited(fetcher: PageFetcher, fake_web: FakeWeb) -> None:
    page = await fetcher.read(f"{fake_web.base}/big")
    assert page.truncated is True and len(page.text) <= 4000


async def test_the_time_is_limited(fetcher: PageFetcher, fake_web: FakeWeb) -> None:
    started = time.monotonic()
    with pytest.raises(ToolError) as slow:
        await fetcher.read(f"{fake_web.base}/slow")
    assert slow.value.code == "fetch_timeout" and time.monotonic() - started < 5


async def test_binary_content_is_refused(fetcher: PageFetcher, fake_web: FakeWeb) -> None:
    with pytest.raises(ToolError) as refused:
        await fetcher.read(f"{fake_web.base}/binary")
    assert refused.value.code == "fetch_unreadable"


async def test_http_errors_are_tool_errors(fetcher: PageFetcher, fake_web: FakeWeb) -> None:
    with pytest.raises(ToolError, match="404"):
        await fetcher.read(f"{fake_web.base}/missing")
