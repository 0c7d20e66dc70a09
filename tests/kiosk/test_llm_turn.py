"""A kiosk turn on the LLM path: the model gets the order, the numbered words and the reading,
and its `change_order` (with `#n` references) runs as commands; the reply says what happened."""

from __future__ import annotations

from chatkiosk.llm.fake import ScriptedProvider, tool_call

REFUSED_BY_THE_PARSER = "those colas, I would rather have them as sprites honestly"


async def _kiosk_with_colas(api, user) -> str:
    cid = (await api.client.post("/api/conversations", headers=user["headers"], json={"agent": "kiosk"})).json()["id"]
    r = await api.client.post(f"/api/conversations/{cid}/order/commands", headers=user["headers"],
                              json={"command": "add_item", "args": {"item_id": "cola", "quantity": 2}, "lang": "en"})
    assert r.status_code == 200, r.text
    return cid


async def test_the_model_reads_the_words_and_the_reading_and_its_numbered_change_runs(make_api):
    llm = ScriptedProvider([tool_call("change_order", {"changes": [{"do": "replace", "target": "#1", "item": "#2"}]})])
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid = await _kiosk_with_colas(api, user)
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"],
                              json={"content": REFUSED_BY_THE_PARSER})
    assert r.status_code == 200, r.text
    asked = llm.calls[0].messages[-1]["content"]
    assert asked.startswith(REFUSED_BY_THE_PARSER)
    assert '[Words: #1 "colas" = cola, #2 "sprites" = cider.]' in asked
    assert '[Reading: [{"do":"replace","target":"#1","item":"#2"}]]' in asked
    assert "[Current order: 2 cola." in asked
    order = (await api.client.get(f"/api/conversations/{cid}/order", headers=user["headers"])).json()
    assert [(i["item_id"], i["quantity"]) for i in order["items"]] == [("cider", 2)]
    reply = r.json()["message"]["content"]
    assert "Lemon-lime soda" in reply and f"₩{order['total']:,}" in reply


async def test_without_a_reading_the_model_gets_worked_examples_and_a_refused_change_is_said(make_api):
    llm = ScriptedProvider([tool_call("change_order", {"changes": [{"do": "remove", "target": "cheeseburger"}]})])
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid = await _kiosk_with_colas(api, user)
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"],
                              json={"content": "hmm, honestly I am not sure about all this"})
    assert r.status_code == 200, r.text
    asked = llm.calls[0].messages[-1]["content"]
    assert "Answer like these examples:" in asked and "[Reading:" not in asked.split("Now:")[-1]
    assert asked.count('{"tool":') == 2  # two worked examples, then the request
    order = (await api.client.get(f"/api/conversations/{cid}/order", headers=user["headers"])).json()
    assert [(i["item_id"], i["quantity"]) for i in order["items"]] == [("cola", 2)]
    reply = r.json()["message"]["content"]
    assert "There is no Cheeseburger in your order." in reply
    assert "Removed" not in reply
