"""Issue 13 items 2 and 3: deep JSON and lone surrogates are the caller's error, never a 500."""

from __future__ import annotations

import pytest

from chatkiosk.api.bodies import MAX_DEPTH, nesting_depth, parse_json
from chatkiosk.errors import UserError, ValidationFailed
from chatkiosk.llm.fake import ScriptedProvider

DEEP_MESSAGES = ('{"model": "assistant", "messages": ' + "[" * 1000 + "]" * 1000 + "}").encode()
SURROGATE = b'{"model": "assistant", "messages": [{"role": "user", "content": "hi \\ud800"}]}'
SURROGATE_BOUND = b'{"model": "assistant", "metadata": {"conversation_id": "%s"}, "messages": [{"role": "user", "content": "hi \\ud800"}]}'


@pytest.fixture
async def chat_api(make_api):
    return await make_api(providers={"s": ScriptedProvider([])})


async def test_deep_json_on_v1_is_400(chat_api):
    user = await chat_api.signup()
    headers = {**user["headers"], "Content-Type": "application/json"}
    for body in (DEEP_MESSAGES, b"[" * 1000 + b"]" * 1000, b'{"model": "assistant", "tools": ' + b"[" * 900 + b"]" * 900 + b"}"):
        r = await chat_api.client.post("/v1/chat/completions", content=body, headers=headers)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "invalid_json"
    assert (await chat_api.client.get("/health")).status_code == 200


async def test_a_lone_surrogate_on_v1_is_4xx_and_stores_nothing(chat_api):
    user = await chat_api.signup()
    headers = {**user["headers"], "Content-Type": "application/json"}
    r = await chat_api.client.post("/v1/chat/completions", content=SURROGATE, headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_unicode", r.text
    assert r.json()["error"]["param"] == "messages.0.content"
    cid = (await chat_api.client.post("/api/conversations", headers=user["headers"], json={})).json()["id"]
    r = await chat_api.client.post("/v1/chat/completions", content=SURROGATE_BOUND % cid.encode(), headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_unicode", r.text
    stored = await chat_api.client.get(f"/api/conversations/{cid}/messages", headers=user["headers"])
    assert stored.json()["data"] == []
    # A valid surrogate pair (an emoji written as an escape) is text and passes the body check.
    pair = b'{"model": "nope", "messages": [{"role": "user", "content": "hi \\ud83d\\ude00"}]}'
    assert (await chat_api.client.post("/v1/chat/completions", content=pair, headers=headers)).status_code == 404
    r = await chat_api.client.post(f"/api/conversations/{cid}/messages", content=b'{"content": "hi \\udc00"}', headers=headers)
    assert r.status_code == 422


def test_the_body_reader():
    assert parse_json(b'{"a": [1, {"b": "\\ud83d\\ude00"}]}') == {"a": [1, {"b": "\U0001F600"}]}
    assert nesting_depth(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)) == MAX_DEPTH + 1
    assert nesting_depth(b'{"a": "' + b"[" * 500 + b'"}') == 1  # brackets in strings do not nest
    with pytest.raises(UserError) as caught:
        parse_json(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))
    assert caught.value.code == "invalid_json" and caught.value.status_code == 400
    with pytest.raises(ValidationFailed) as bad_text:
        parse_json(b'{"x": {"\\udfff": 1}}')
    assert bad_text.value.param == "x.<key>" and bad_text.value.status_code == 422
