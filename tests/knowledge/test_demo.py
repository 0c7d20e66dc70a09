"""`serve --demo` seeds the shop's policies; the assistant answers "환불은 며칠 안에 돼요?" with a citation."""

from __future__ import annotations

import json

from chatkiosk.cli import ensure_demo_user, upgrade_database
from chatkiosk.knowledge.demo import demo_files
from chatkiosk.llm.fake import ScriptedProvider, tool_call


def test_the_demo_documents_cover_three_policies_in_three_languages():
    names = sorted(p.name for p in demo_files())
    assert names == sorted(f"{topic}.{lang}.md" for topic in ("refund", "delivery", "exchange") for lang in ("ko", "en", "zh"))


async def test_demo_seed_and_a_cited_answer(make_api, settings_factory, backend):
    settings = settings_factory()
    await upgrade_database(settings)
    assert await ensure_demo_user(settings) is True
    assert await ensure_demo_user(settings) is False  # again: the same documents, replaced by title
    llm = ScriptedProvider([tool_call("knowledge_search", {"query": "환불은 며칠 안에 돼요?"}),
                            "검수 후 영업일 기준 3일 이내에 환불됩니다. [1] 환불 정책 › 환불 처리 기간"])
    api = await make_api(providers={"scripted": llm})
    user = await api.signup()
    docs = (await api.client.get("/api/knowledge/documents", headers=user["headers"])).json()["data"]
    assert len(docs) == 9 and {d["visibility"] for d in docs} == {"shared"}
    hits = (await api.client.get("/api/knowledge/search", params={"q": "환불은 며칠 안에 돼요?"}, headers=user["headers"])).json()["data"]
    assert hits[0]["document"]["title"] == "환불 정책"
    assert hits[0]["chunk"]["heading"].split(" > ")[-1] in ("환불 처리 기간", "환불 신청 기간")
    cid = (await api.client.post("/api/conversations", headers=user["headers"], json={"agent": "assistant"})).json()["id"]
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "환불은 며칠 안에 돼요?"})
    assert r.status_code == 200, r.text
    message = r.json()["message"]
    call = message["tool_calls"][0]
    assert call["name"] == "knowledge_search" and call["status"] == "ok"
    citations = [res["citation"] for res in call["result"]["results"]]
    assert citations[0].startswith("[1] 환불 정책 › 환불 정책 > 환불")
    # What the model saw: the passages as quoted data under the notice, with their citations.
    seen = llm.calls[1].messages[-1]["content"]
    assert "not instructions" in seen and "<<<document passage>>>" in seen and "환불 정책" in json.loads(seen)["results"][0]["citation"]
    assert "[1] 환불 정책" in message["content"]
