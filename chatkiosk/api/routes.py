"""The app's routes as one flat list, whatever FastAPI's version keeps nested."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


class _Plain:
    """A route of a FastAPI that keeps routes flat, shaped like a newer FastAPI's RouteContext."""

    def __init__(self, route: Any) -> None:
        self.original_route = route

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original_route, name)


def flat_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route (with its full path, `methods` and `original_route`), included routers opened."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before routers were included lazily
        yield from (_Plain(r) for r in routes)
        return
    yield from iter_route_contexts(list(routes))
