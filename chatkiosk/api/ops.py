"""Operations routes: `/health`, `/ready`, `/metrics`."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from chatkiosk.api.deps import AdminUser, RuntimeDep
from chatkiosk.api.schemas import Health, Readiness

router = APIRouter(tags=["operations"])
_CHECK_TIMEOUT = 3.0


@router.get("/health")
async def health() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get("/ready", responses={503: {"model": Readiness, "description": "a dependency is down"}})
async def ready(runtime: RuntimeDep) -> Readiness:
    """The database, Redis (when configured) and the LLM provider answer."""
    checks: dict[str, str] = {}

    async def run(name: str, probe) -> None:  # type: ignore[no-untyped-def]
        try:
            result = await asyncio.wait_for(probe(), _CHECK_TIMEOUT)
            checks[name] = "ok" if result is not False else "unavailable"
        except Exception:
            checks[name] = "unavailable"

    probes = {"database": runtime.db.ping}
    if runtime.redis is not None:
        probes["redis"] = runtime.redis.ping
    probes.update(runtime.readiness_probes())
    await asyncio.gather(*(run(name, probe) for name, probe in probes.items()))
    ok = all(value == "ok" for value in checks.values())
    body = Readiness(status="ok" if ok else "unavailable", checks=checks)
    if not ok:
        return JSONResponse(body.model_dump(), status_code=503)  # type: ignore[return-value]
    return body


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, 401: {"description": "no credentials"}, 403: {"description": "not an admin"}},
)
async def metrics(runtime: RuntimeDep, _admin: AdminUser) -> Response:
    """Prometheus metrics (administrators; scrape with an admin's API key)."""
    return Response(runtime.metrics.render(), media_type="text/plain; version=0.0.4")
