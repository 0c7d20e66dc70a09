"""Conversations are titled from their first message, with no LLM call (issue 14, item 5)."""

from __future__ import annotations

import pytest

from chatkiosk.llm.fake import ScriptedProvider
from chatkiosk.store.titles import title_from


@pytest.mark.parametrize("text, title", [
    ("불고기버거 2개랑 콜라 주세요", "불고기버거 2개랑 콜라 주세요"),
    ("  Hello there\nsecond   line ", "Hello there second line"),
    ("Write a Python function that reverses a string and explains every step", "Write a Python function that reverses a string…"),
    ("我" * 60, "我" * 48 + "…"),
])
def test_title_from(text, title):
    assert title_from(text) == title


async def test_the_first_message_titles_the_conversation_once(make_api):
    llm = ScriptedProvider(["first answer", "second answer"])
    api = await make_api(providers={"scripted": llm})
    h = (await api.signup())["headers"]
    conv = (await api.client.post("/api/conversations", headers=h, json={"agent": "assistant"})).json()
    assert conv["title"] == ""
    r = await api.client.post(f"/api/conversations/{conv['id']}/messages", headers=h, json={"content": "What time is it in Seoul?"})
    assert r.status_code == 200
    r = await api.client.post(f"/api/conversations/{conv['id']}/messages", headers=h, json={"content": "And in Beijing?"})
    assert r.status_code == 200
    listed = (await api.client.get("/api/conversations", headers=h)).json()["data"]
    assert [c["title"] for c in listed] == ["What time is it in Seoul?"]
    assert len(llm.calls) == 2  # one per turn: the title took no model call


async def test_a_given_title_is_kept_and_a_kiosk_order_is_titled(make_api):
    api = await make_api(providers={"scripted": ScriptedProvider([])})
    h = (await api.signup())["headers"]
    named = (await api.client.post("/api/conversations", headers=h, json={"title": "Lunch"})).json()
    kiosk = (await api.client.post("/api/conversations", headers=h, json={"agent": "kiosk"})).json()
    r = await api.client.post(f"/api/conversations/{kiosk['id']}/messages", headers=h, json={"content": "불고기버거 2개랑 콜라 주세요"})
    assert r.status_code == 200, r.text
    await api.client.post(f"/api/conversations/{named['id']}/messages", headers=h, json={"content": "hi"})
    titles = {c["id"]: c["title"] for c in (await api.client.get("/api/conversations", headers=h)).json()["data"]}
    assert titles == {named["id"]: "Lunch", kiosk["id"]: "불고기버거 2개랑 콜라 주세요"}
