"""The official `openai` client, sync and async, against agent models (SECURITY 22)."""

from __future__ import annotations

from chatkiosk.llm.fake import ScriptedProvider, tool_call, usage
from chatkiosk.llm.openai_compat import OpenAICompatProvider

from .conftest import passthrough_config


def test_models_lists_agents_and_passthrough_models(live, upstream):
    server = live(providers={"scripted": ScriptedProvider(), "up": OpenAICompatProvider(passthrough_config(upstream))})
    user = server.user()
    models = {m.id: m.owned_by for m in server.client(user).models.list()}
    assert models["assistant"] == "chatkiosk" and models["kiosk"] == "chatkiosk"
    assert models["up-model"] == "up" and models["up-model-large"] == "up"
    assert server.client(user).models.retrieve("assistant").owned_by == "chatkiosk"


def test_models_leave_out_providers_without_passthrough(live, upstream):
    closed = OpenAICompatProvider(passthrough_config(upstream, name="closed", passthrough=False))
    server = live(providers={"scripted": ScriptedProvider(), "closed": closed})
    ids = {m.id for m in server.client(server.user()).models.list()}
    assert "up-model" not in ids and "assistant" in ids


def test_sync_completion_with_an_agent_model(live):
    llm = ScriptedProvider([["Hello ", "from the agent.", usage(21, 4)]])
    server = live(providers={"scripted": llm})
    answer = server.client(server.user()).chat.completions.create(
        model="assistant", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
    )
    assert answer.object == "chat.completion" and answer.model == "assistant"
    assert answer.choices[0].message.content == "Hello from the agent."
    assert answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.total_tokens) == (21, 4, 25)
    sent = llm.calls[0].messages
    # The agent's own system prompt comes first; the client's messages follow.
    assert sent[0]["role"] == "system" and "helpful assistant" in sent[0]["content"]
    assert {"role": "system", "content": "Be brief."} in sent and sent[-1] == {"role": "user", "content": "hi"}


def test_the_agent_runs_its_own_tools(live):
    llm = ScriptedProvider([tool_call("calculator", {"expression": "6*7"}), "It is 42."])
    server = live(providers={"scripted": llm})
    answer = server.client(server.user()).chat.completions.create(model="assistant", messages=[{"role": "user", "content": "6 times 7?"}])
    assert answer.choices[0].message.content == "It is 42." and not answer.choices[0].message.tool_calls
    tool_result = llm.calls[1].messages[-1]
    assert tool_result["role"] == "tool" and "42" in tool_result["content"]


async def test_async_completion(live):
    llm = ScriptedProvider(["async answer"])
    server = live(providers={"scripted": llm})
    async with server.async_client(server.user()) as client:
        answer = await client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "async answer"


def test_sync_stream_with_usage_chunk(live):
    llm = ScriptedProvider([["a", "b", "c", usage(9, 3)]])
    server = live(providers={"scripted": llm})
    chunks = list(server.client(server.user()).chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True},
    ))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "abc"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == [] and (last.usage.prompt_tokens, last.usage.completion_tokens) == (9, 3)
    assert all(c.usage is None for c in chunks[:-1])


async def test_async_stream(live):
    llm = ScriptedProvider([["one ", "two"]])
    server = live(providers={"scripted": llm})
    async with server.async_client(server.user()) as client:
        stream = await client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "hi"}], stream=True)
        text = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(text) == "one two"


def test_raw_stream_ends_with_done(live):
    server = live(providers={"scripted": ScriptedProvider([["x", "y"]])})
    user = server.user()
    body = {"model": "assistant", "messages": [{"role": "user", "content": "hi"}], "stream": True, "stream_options": {"include_usage": True}}
    with server.http.stream("POST", "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {user.key}"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line.startswith("data:")]
    assert lines[-1] == "data: [DONE]" and '"usage":{"prompt_tokens"' in lines[-2]


def test_a_jwt_works_as_well_as_an_api_key(live):
    server = live(providers={"scripted": ScriptedProvider(["ok"])})
    user = server.user()
    token = user.headers["Authorization"].removeprefix("Bearer ")
    assert server.client(token).chat.completions.create(model="assistant", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content == "ok"


def test_an_unbound_turn_is_ephemeral_but_counted(live):
    llm = ScriptedProvider(["first", "second"])
    server = live(providers={"scripted": llm}, messages_per_window=2)
    user = server.user()
    client = server.client(user)
    client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "one"}])
    # The client's earlier messages are the context of an unbound call.
    client.chat.completions.create(model="assistant", messages=[
        {"role": "user", "content": "one"}, {"role": "assistant", "content": "first"}, {"role": "user", "content": "two"},
    ])
    assert [m["content"] for m in llm.calls[1].messages[1:]] == ["one", "first", "two"]
    assert server.http.get("/api/conversations", headers=user.headers).json()["data"] == []
    metrics = server.runtime.metrics.render().decode()
    assert 'chatkiosk_turns_total{agent="assistant",path="llm",status="complete"} 2.0' in metrics
