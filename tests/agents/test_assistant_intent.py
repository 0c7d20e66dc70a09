"""The assistant's first tool for a small local model: arithmetic → calculator, the date → clock."""

from __future__ import annotations

import json

import pytest

from chatkiosk.agents.assistant import build_assistant
from chatkiosk.agents.assistant.intent import tool_for
from chatkiosk.agents.hooks import first_tool_choice
from chatkiosk.llm.fake import ScriptedProvider


@pytest.mark.parametrize("text", [
    "What is 1234 * 5678?", "what's 3+4", "compute 10 - 2 for me", "12 divided by 4", "15% of 80",
    "square root of 144", "9 squared", "2 ** 10", "1,200 × 3",
    "1234 곱하기 5678은?", "100 나누기 7", "12의 제곱",
    "1234乘以5678等于多少？", "100除以7", "3加上4",
])
def test_arithmetic_calls_for_the_calculator(text):
    assert tool_for(text) == "calculator"


@pytest.mark.parametrize("text", [
    "What is today's date?", "what day is it today", "What time is it?", "which day of the week is it",
    "오늘 며칠이에요?", "지금 몇 시야?", "오늘 무슨 요일이에요?",
    "今天几号？", "现在几点了", "今天星期几？",
])
def test_the_date_and_time_call_for_the_clock(text):
    assert tool_for(text) == "current_time"


@pytest.mark.parametrize("text", [
    "hello", "call me at 010-1234-5678", "the meeting is on 2026-12-01", "I have 3 cats and 2 dogs",
    "tell me about the history of time", "치즈버거 두 개요", "推荐两种适合雨天做的事情",
])
def test_other_text_calls_for_nothing(text):
    assert tool_for(text) is None


def _model(*, window: int | None, native: bool = False) -> ScriptedProvider:
    llm = ScriptedProvider([], supports_tools=native)
    llm.context_window = window
    return llm


def test_only_a_small_model_without_native_tools_is_made_to_call_it():
    assistant = build_assistant()
    forced = {"type": "function", "function": {"name": "calculator"}}
    assert first_tool_choice(assistant, _model(window=2048), "What is 6 * 7?", None) == forced
    assert first_tool_choice(assistant, _model(window=None), "What is 6 * 7?", None) is None  # an upstream model
    assert first_tool_choice(assistant, _model(window=2048, native=True), "What is 6 * 7?", None) is None
    assert first_tool_choice(assistant, _model(window=2048), "hello", None) is None
    assert first_tool_choice(assistant, _model(window=2048), "What is 6 * 7?", "none") == "none"  # the client's choice stands


async def test_a_small_model_that_would_narrate_the_sum_calls_the_calculator(make_api):
    def answer(messages, tools, options):
        if options.tool_choice == "required":  # forced: only the calculator's command may be written
            names = [alt["properties"]["tool"]["const"] for alt in options.command_schema["anyOf"][0]["anyOf"]]
            assert names == ["calculator"]
            return json.dumps({"tool": "calculator", "arguments": {"expression": "1234 * 5678"}})
        return "I used the calculator tool: the answer is 42."  # what it writes when left free

    def from_result(messages, tools, options):
        assert options.text_only and "7006652" in str(messages[-1]["content"])
        return "1234 × 5678 = 7,006,652."

    llm = ScriptedProvider([answer, from_result], supports_tools=False)
    llm.context_window = 2048
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    r = await api.client.post("/api/conversations", headers=user["headers"], json={"agent": "assistant"})
    cid = r.json()["id"]
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "What is 1234 * 5678?"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["message"]["content"] == "1234 × 5678 = 7,006,652."
    assert [(c["name"], c["result"]["result"]) for c in body["message"]["tool_calls"]] == [("calculator", 7006652)]
