"""Web search backends, chosen in the server's settings: SearXNG (self-hosted) or Brave's API.

A backend is one method: `await backend.search(query, count)` → results (title, URL, snippet).
The backend's URL and key come only from the settings; a client can never point it elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

from chatkiosk.errors import ToolError


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One hit: what the answer cites."""

    title: str
    url: str
    snippet: str


class SearchBackend(Protocol):
    name: str

    async def search(self, query: str, count: int) -> list[SearchResult]:
        """Up to `count` results for the query; ToolError when the backend fails."""
        ...

    async def close(self) -> None:
        """Release the connection pool."""
        ...


def _clip(text: object, limit: int) -> str:
    return " ".join(str(text or "").split())[:limit]


class _HttpBackend:
    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = httpx.AsyncClient(timeout=timeout, trust_env=False, follow_redirects=False)

    async def _get(self, url: str, params: dict, headers: dict | None = None) -> dict:
        try:
            response = await self.client.get(url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise ToolError(f"the search service is not reachable ({type(exc).__name__})", code="search_unavailable") from None
        if response.status_code != 200:
            # The backend's own text may quote our key: never pass it on.
            raise ToolError(f"the search service answered HTTP {response.status_code}", code="search_failed")
        try:
            data = response.json()
        except ValueError:
            raise ToolError("the search service answered something that is not JSON", code="search_failed") from None
        if not isinstance(data, dict):
            raise ToolError("the search service answered an unexpected shape", code="search_failed")
        return data

    async def close(self) -> None:
        await self.client.aclose()


class SearxngBackend(_HttpBackend):
    """SearXNG's JSON API (`/search?format=json`; the instance must allow the json format)."""

    name = "searxng"

    async def search(self, query: str, count: int) -> list[SearchResult]:
        data = await self._get(f"{self.base_url}/search", {"q": query, "format": "json", "safesearch": 1})
        results = data.get("results") if isinstance(data.get("results"), list) else []
        return [
            SearchResult(_clip(r.get("title"), 200), str(r.get("url")), _clip(r.get("content"), 500))
            for r in results if isinstance(r, dict) and str(r.get("url", "")).startswith(("http://", "https://"))
        ][:count]


class BraveBackend(_HttpBackend):
    """Brave's Web Search API (`X-Subscription-Token`)."""

    name = "brave"
    DEFAULT_URL = "https://api.search.brave.com"

    def __init__(self, base_url: str | None, api_key: str, timeout: float) -> None:
        super().__init__(base_url or self.DEFAULT_URL, timeout)
        self.api_key = api_key

    async def search(self, query: str, count: int) -> list[SearchResult]:
        data = await self._get(
            f"{self.base_url}/res/v1/web/search", {"q": query, "count": count},
            headers={"X-Subscription-Token": self.api_key, "Accept": "application/json"},
        )
        web = data.get("web") if isinstance(data.get("web"), dict) else {}
        results = web.get("results") if isinstance(web.get("results"), list) else []
        return [
            SearchResult(_clip(r.get("title"), 200), str(r.get("url")), _clip(r.get("description"), 500))
            for r in results if isinstance(r, dict) and str(r.get("url", "")).startswith(("http://", "https://"))
        ][:count]
