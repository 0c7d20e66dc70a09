"""The stored calls to a client's tools: which turn waits for results, and which results it takes."""

from __future__ import annotations

import pytest

from chatkiosk.chat.client_calls import entries, open_exchange
from chatkiosk.errors import ValidationFailed
from chatkiosk.llm.base import ToolCall
from chatkiosk.store import messages

A, B = ToolCall("call_a", "get_weather", '{"city": "Seoul"}'), ToolCall("call_b", "get_time", "{}")
SERVER = {"id": "call_s", "name": "calculator", "arguments": {"expression": "1+1"}, "result": {"result": 2}, "status": "ok", "duration_ms": 1}


def _row(role, content="", *, status="complete", tool_calls=None, tool_call_id=None):
    return messages.build(conversation_id="conv_1", user_id="u", role=role, content=content, status=status,
                          tool_calls=tool_calls, tool_call_id=tool_call_id)


def _result(call_id, content="ok"):
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def test_the_last_answers_client_calls_wait_for_every_result():
    rows = [_row("user", "hi"), _row("assistant", "hello"), _row("user", "weather and time?"),
            _row("assistant", "", tool_calls=[SERVER, *entries([A, B])])]
    exchange = open_exchange(rows)
    assert exchange is not None and exchange.user.content == "weather and time?" and [r.content for r in exchange.before] == ["hi", "hello"]
    assert exchange.pending == {"call_a": "get_weather", "call_b": "get_time"}
    [asked] = exchange.messages  # the client's calls only: the agent's own ran and were answered here
    assert [c["function"]["name"] for c in asked["tool_calls"]] == ["get_weather", "get_time"]
    assert asked["tool_calls"][0]["function"]["arguments"] == '{"city": "Seoul"}'
    with pytest.raises(ValidationFailed) as caught:
        exchange.answers([_result("call_a")])
    assert caught.value.code == "tool_result_missing"
    with pytest.raises(ValidationFailed) as caught:
        exchange.answers([_result("call_a"), _result("call_b"), _result("call_z")])
    assert caught.value.code == "unknown_tool_call"
    assert exchange.answers([_result("call_b", "noon"), _result("call_a", "sunny"), _result("call_a", "again")]) == [
        _result("call_b", "noon"), _result("call_a", "sunny")]


def test_nothing_waits_once_answered_or_without_client_calls():
    asked = _row("assistant", "", tool_calls=entries([A]))
    assert open_exchange([_row("user", "hi"), _row("assistant", "hello", tool_calls=[SERVER])]) is None
    assert open_exchange([_row("user", "hi"), asked, _row("tool", "sunny", tool_call_id="call_a"), _row("assistant", "Sunny.")]) is None
    assert open_exchange([_row("user", "hi"), asked, _row("user", "never mind")]) is None
    assert open_exchange([]) is None


def test_results_stored_before_a_failed_answer_may_be_sent_again():
    rows = [_row("user", "hi"), _row("assistant", "", tool_calls=entries([A])), _row("tool", "sunny", tool_call_id="call_a"),
            _row("assistant", "", status="error")]
    exchange = open_exchange(rows)
    assert exchange is not None and exchange.pending == {} and exchange.answered == {"call_a"}
    assert [m["role"] for m in exchange.messages] == ["assistant", "tool"]
    assert exchange.answers([_result("call_a", "sunny")]) == []  # already stored: the turn goes on from the store
