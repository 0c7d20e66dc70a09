"""Read one web page's main text for the assistant, safely.

Every hop — the first URL and each redirect — is resolved and checked by the address policy
before a byte is sent, and the connection goes to the checked address. Size, time and the
number of redirects are bounded; only HTML and plain text are read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from chatkiosk.errors import ToolError
from chatkiosk.reach.netguard import AddressPolicy, Target

MAX_REDIRECTS = 5
READABLE = ("text/html", "application/xhtml+xml", "text/plain")


@dataclass(frozen=True, slots=True)
class Page:
    """A page as the assistant sees it: where it ended up, its title and main text."""

    url: str
    title: str | None
    text: str
    truncated: bool


def _pinned(target: Target) -> tuple[str, dict[str, str], dict[str, str]]:
    """The request URL aimed at the checked address, the Host header, and the TLS name."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(target.url)
    address = f"[{target.address}]" if ":" in target.address else target.address
    default = 443 if target.scheme == "https" else 80
    netloc = address if target.port == default else f"{address}:{target.port}"
    url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host = target.host if target.port == default else f"{target.host}:{target.port}"
    return url, {"Host": host}, {"sni_hostname": target.host}


class PageFetcher:
    """Fetches pages within the limits; `await fetcher.read(url)` → Page or ToolError."""

    def __init__(self, policy: AddressPolicy, *, max_bytes: int = 1_000_000, timeout: float = 10.0,
                 max_chars: int = 8000, user_agent: str = "chatkiosk-fetch/1.0") -> None:
        self.policy = policy
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_chars = max_chars
        # No proxies from the environment, no redirects followed behind the policy's back.
        self.client = httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=timeout,
                                        headers={"User-Agent": user_agent, "Accept": "text/html, text/plain;q=0.9"})

    async def read(self, url: str) -> Page:
        """The page's main text (ToolError when refused, unreachable, too slow or unreadable)."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._read(url)
        except TimeoutError:
            raise ToolError(f"the page did not answer within {self.timeout:g} s", code="fetch_timeout") from None
        except httpx.HTTPError as exc:
            raise ToolError(f"the page could not be fetched ({type(exc).__name__})", code="fetch_failed") from None

    async def _read(self, url: str) -> Page:
        for _ in range(MAX_REDIRECTS + 1):
            target = await self.policy.resolve(url)
            request_url, headers, extensions = _pinned(target)
            request = self.client.build_request("GET", request_url, headers=headers, extensions=extensions)
            response = await self.client.send(request, stream=True)
            try:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(target.url, response.headers["location"])
                    continue
                if response.status_code >= 400:
                    raise ToolError(f"the page answered HTTP {response.status_code}", code="fetch_failed")
                kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if kind not in READABLE:
                    raise ToolError(f"the page is {kind or 'of unknown type'}, not HTML or text", code="fetch_unreadable")
                body, truncated = await self._body(response)
            finally:
                await response.aclose()
            return self._page(target.url, kind, body, truncated)
        raise ToolError(f"more than {MAX_REDIRECTS} redirects", code="fetch_failed")

    async def _body(self, response: httpx.Response) -> tuple[bytes, bool]:
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_bytes:
                return b"".join(chunks)[: self.max_bytes], True
        return b"".join(chunks), False

    def _page(self, url: str, kind: str, body: bytes, truncated: bool) -> Page:
        from chatkiosk.knowledge.formats import extract

        extracted = extract(body, "text" if kind == "text/plain" else "html")
        text = "\n\n".join(p.text for p in extracted.paragraphs)
        if len(text) > self.max_chars:
            text, truncated = text[: self.max_chars], True
        return Page(url=url, title=extracted.title, text=text, truncated=truncated)

    async def close(self) -> None:
        await self.client.aclose()
