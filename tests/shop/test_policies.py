"""`search_policies` on the real knowledge base: the shop's policy documents (shared knowledge)
answer refund/delivery/exchange questions in ko/en/zh, citing document title and chunk."""

from __future__ import annotations

from pathlib import Path

import pytest

import chatkiosk.knowledge as knowledge_package

DEMO = Path(knowledge_package.__file__).parent / "demo"


async def _seed_policies(api) -> None:
    for path in sorted(DEMO.glob("*.md")):
        await api.runtime.knowledge.ingest(path.read_bytes(), filename=path.name, owner_id=None, visibility="shared")


@pytest.mark.parametrize("text, topic, source_word, title", [
    ("환불 정책이 어떻게 되나요?", "refund", "출처", "환불 정책"),
    ("What is your refund policy?", "refund", "Source", "Refund policy"),
    ("配送需要几天？", "delivery", "来源", "配送说明"),
    ("Can I exchange an item for a different size?", "exchange", "Source", "Exchange policy"),
])
async def test_policy_questions_are_answered_from_the_documents_with_citations(shop, text, topic, source_word, title):
    api = shop.api
    await _seed_policies(api)
    alice = await api.signup()
    cid = await shop.conversation(alice)
    answer = await shop.say(alice, cid, text)
    assert answer["usage"]["llm"] is False
    (call,) = answer["message"]["tool_calls"]
    assert call["name"] == "search_policies" and call["arguments"]["topic"] == topic
    results = call["result"]["results"]
    assert results, call
    best = results[0]
    assert best["document"] and best["chunk_id"] and isinstance(best["chunk"], int)
    content = answer["message"]["content"]
    assert source_word in content and best["document"] in content and f"chunk {best['chunk']}" in content
    assert best["document"] == title  # the policy of that topic, in the customer's language
