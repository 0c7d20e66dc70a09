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


def _refs_in(schema) -> set[str]:
    """Every `#n` name the decoding schema allows."""
    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for value in node.get("enum") or []:
                if isinstance(value, str) and "#" in value:
                    found.add(value[value.index("#"):])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(schema)
    return found


async def test_the_model_may_point_only_at_the_words_the_kiosk_heard_this_turn(make_api):
    llm = ScriptedProvider(["Which one would you like?", "Which one would you like?"], supports_tools=False)
    llm.context_window = 2048  # a small local model: the JSON command format, decoded by a schema
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid = await _kiosk_with_colas(api, user)
    for said in (REFUSED_BY_THE_PARSER, "hmm, honestly I am not sure about all this"):
        r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": said})
        assert r.status_code == 200, r.text
    with_words, without = (call.options.command_schema for call in llm.calls)
    assert _refs_in(with_words) == {"#1", "#2"}  # "colas" and "sprites"
    assert _refs_in(without) == set()  # no word recognised: nothing to point at
