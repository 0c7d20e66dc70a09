"""Issue 16: the turn's routers are tried first (app.py), which is safe only while no route
tried earlier answers a path and method that another route answers: the order then only
changes how soon a request finds its route, never which route it finds."""

from __future__ import annotations

import re

import pytest
from starlette.routing import compile_path

from chatkiosk.api.routes import flat_routes


@pytest.fixture(params=["sqlite"])
def backend(request):
    return request.param


async def test_no_route_answers_another_routes_paths(api):
    routes = [(r.path, set(getattr(r, "methods", None) or {"GET"})) for r in flat_routes(api.app.routes) if getattr(r, "path", None)]
    assert any(p == "/api/conversations/{conversation_id}/messages" and "POST" in m for p, m in routes)
    shadowed = []
    for path, methods in routes:
        pattern = compile_path(path)[0]
        for other, other_methods in routes:
            example = re.sub(r"\{[^}]+\}", "x1", other)
            if other != path and methods & other_methods and pattern.match(example):
                shadowed.append((path, other))
    assert shadowed == []
