"""Operations routes: health, readiness, metrics."""

from __future__ import annotations


async def test_health_is_public(api):
    r = await api.client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_ready_checks_database_and_redis(api, backend):
    r = await api.client.get("/ready")
    assert r.status_code == 200, r.text
    checks = r.json()["checks"]
    assert checks["database"] == "ok"
    if backend == "postgres":
        assert checks["redis"] == "ok"


async def test_metrics_need_an_admin_and_count_routes_by_template(api):
    assert (await api.client.get("/metrics")).status_code == 401
    user = await api.signup()
    assert (await api.client.get("/metrics", headers=user["headers"])).status_code == 403
    admin = await api.signup(admin=True)
    await api.client.get("/api/conversations/conv_nope", headers=admin["headers"])
    r = await api.client.get("/metrics", headers=admin["headers"])
    assert r.status_code == 200
    body = r.text
    assert 'route="/api/conversations/{conversation_id}"' in body
    assert "conv_nope" not in body
