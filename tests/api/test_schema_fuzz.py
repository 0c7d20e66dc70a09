"""Schemathesis over the OpenAPI schema: no server error anywhere, no protected route open.

Bounded: a few examples per operation and a deadline, so the run stays in seconds.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from chatkiosk.app import create_app

from ..conftest import PASSWORD
from ..live import serve

PUBLIC = {("GET", "/health"), ("GET", "/ready"), ("POST", "/api/auth/register"), ("POST", "/api/auth/login"), ("POST", "/api/auth/refresh"), ("GET", "/")}
# Routes that end the caller's own login would cut the fuzz run's credentials.
SKIP = {("POST", "/api/auth/logout"), ("POST", "/api/auth/password"), ("POST", "/api/admin/users/{user_id}/disable")}


@pytest.fixture(params=["sqlite"])
def backend(request):
    return request.param


@pytest.fixture
def live(settings_factory):
    app = create_app(settings_factory(login_max_failures=1000))
    with serve(app) as base:
        runtime = app.state.runtime

        async def admin_token() -> str:
            async with httpx.AsyncClient(base_url=base) as client:
                await client.post("/api/auth/register", json={"username": "fuzzer", "password": PASSWORD})
                r = await client.post("/api/auth/login", json={"username": "fuzzer", "password": PASSWORD})
                return r.json()["access_token"]

        token = asyncio.run(admin_token())
        yield base, {"Authorization": f"Bearer {token}"}, runtime


def test_no_server_errors_and_no_open_routes(live):
    base, headers, _ = live
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        key = (operation.method.upper(), operation.path)
        if key in SKIP:
            continue

        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def fuzz(case):
            response = case.call(base_url=base, headers=headers)
            assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}"
            anonymous = case.call(base_url=base, headers={"Authorization": ""})
            if key not in PUBLIC:
                assert anonymous.status_code == 401, f"{key} answered {anonymous.status_code} without credentials"

        fuzz()
