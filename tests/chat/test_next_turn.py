"""A turn sent the moment the previous answer's `done` arrived, while that answer's final write
is still landing, waits for it — and its context holds that answer, not the history before it."""

from __future__ import annotations

import asyncio

from chatkiosk.chat.turn import ChatService
from chatkiosk.llm.fake import ScriptedProvider

from ..conftest import PASSWORD
from ..live import live_servers


def test_the_next_turns_context_holds_the_answer_still_being_stored(settings_factory, monkeypatch):
    store_final = ChatService._store_final

    async def slow_store_final(self, turn, events):
        await asyncio.sleep(0.4)  # the final write is slow: the client reads `done` long before it lands
        await store_final(self, turn, events)

    monkeypatch.setattr(ChatService, "_store_final", slow_store_final)
    provider = ScriptedProvider([["first ", "answer"], ["second"]])
    with live_servers(settings_factory) as start:
        server = start(providers={"s": provider})
        assert server.http.post("/api/auth/register", json={"username": "nextturn", "password": PASSWORD}).status_code == 201
        token = server.http.post("/api/auth/login", json={"username": "nextturn", "password": PASSWORD}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        cid = server.http.post("/api/conversations", headers=headers, json={"agent": "assistant"}).json()["id"]
        with server.http.stream("POST", f"/api/conversations/{cid}/messages", headers=headers,
                                json={"content": "one", "stream": True}) as streamed:
            for line in streamed.iter_lines():
                if line == "event: done":
                    break
            r = server.http.post(f"/api/conversations/{cid}/messages", headers=headers, json={"content": "two"})
        assert r.status_code == 200, r.text
    said = [(m["role"], m["content"]) for m in provider.calls[1].messages if m["role"] in ("user", "assistant")]
    assert said[-3:] == [("user", "one"), ("assistant", "first answer"), ("user", "two")]
