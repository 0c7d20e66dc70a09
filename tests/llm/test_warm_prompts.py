"""The fixed prompts warmed on the embedded model at start: the same system message every turn
sends, evaluated once into llama.cpp's prefix cache."""

from __future__ import annotations

import pytest

from chatkiosk.agents.base import Agent
from chatkiosk.llm.base import GenerationOptions
from chatkiosk.llm.config import ProviderConfig
from chatkiosk.llm.fake import ScriptedProvider, tool_call
from chatkiosk.llm.local import LocalProvider
from chatkiosk.llm.models import installed_path
from chatkiosk.warmup import fixed_prompt, warm_prompt

from .conftest import needs_llama


async def test_the_warmed_system_message_is_the_one_every_kiosk_turn_begins_with(make_api):
    llm = ScriptedProvider([tool_call("change_order", {"changes": [{"do": "repeat", "target": "all"}]}),
                            tool_call("change_order", {"changes": [{"do": "halve", "target": "all"}]})],
                           supports_tools=False)
    llm.context_window = 2048  # a small local model: the compact command prompt
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid = (await api.client.post("/api/conversations", headers=user["headers"], json={"agent": "kiosk"})).json()["id"]
    for text in ("hmm, the same again I suppose", "now only half of all that"):
        r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": text})
        assert r.status_code == 200, r.text
    kiosk = api.app.state.runtime.agents.get("kiosk")
    warmed = fixed_prompt(kiosk, native_tools=False)[0]
    assert [call.messages[0] for call in llm.calls] == [warmed, warmed]
    assert warmed["role"] == "system" and "change_order" in warmed["content"]


@needs_llama
@pytest.mark.skipif(installed_path("smollm2-135m") is None, reason="SmolLM2 is not installed (make test installs it)")
async def test_a_warmed_prompt_is_kept_in_the_models_prefix_cache_and_a_turn_starts_from_it():
    local = LocalProvider(ProviderConfig(name="local", kind="local", model="smollm2-135m", n_ctx=1024))
    counter = Agent(name="counter", description="a test counter", system_prompt=COUNTER_PROMPT)
    try:
        await warm_prompt(counter, local)
        cache = local._llama.cache
        warmed = list(cache.cache_state)
        assert len(warmed) == 1 and len(warmed[0]) > local.count_tokens(COUNTER_PROMPT)  # the whole prompt, one state
        turn = [{"role": "system", "content": COUNTER_PROMPT}, {"role": "user", "content": "two colas please"}]
        await local.complete(turn, options=GenerationOptions(max_tokens=1, temperature=0))
        after = list(cache.cache_state)[-1]
        assert _common_prefix(warmed[0], after) > local.count_tokens(COUNTER_PROMPT)  # the system block is shared
    finally:
        await local.aclose()


COUNTER_PROMPT = ("You are the order counter of a burger shop. Answer in one short sentence, in the "
                  "customer's language. Never claim a change you did not make.")


def _common_prefix(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
