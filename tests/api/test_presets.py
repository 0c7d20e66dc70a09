"""Preset prompts (`/api/presets`) and conversations started from them (SPEC 7; SECURITY 11)."""

from __future__ import annotations

from chatkiosk.llm.fake import ScriptedProvider


async def test_save_list_read_update_delete(api):
    user = await api.signup()
    h = user["headers"]
    r = await api.client.post("/api/presets", headers=h, json={"name": "Translate", "prompt": "Translate into Korean: "})
    assert r.status_code == 201
    preset = r.json()
    assert set(preset) == {"id", "name", "prompt", "created_at", "updated_at"} and preset["id"].startswith("pre_")
    second = (await api.client.post("/api/presets", headers=h, json={"name": "Menu", "prompt": "What is on the menu?"})).json()
    listed = (await api.client.get("/api/presets?limit=1", headers=h)).json()
    assert [p["id"] for p in listed["data"]] == [second["id"]] and listed["has_more"] is True
    assert (await api.client.get(f"/api/presets/{preset['id']}", headers=h)).json()["prompt"] == "Translate into Korean: "
    r = await api.client.patch(f"/api/presets/{preset['id']}", headers=h, json={"name": "번역"})
    assert r.status_code == 200 and r.json()["name"] == "번역" and r.json()["prompt"] == "Translate into Korean: "
    assert (await api.client.delete(f"/api/presets/{preset['id']}", headers=h)).status_code == 204
    assert (await api.client.get(f"/api/presets/{preset['id']}", headers=h)).status_code == 404
    assert [p["id"] for p in (await api.client.get("/api/presets", headers=h)).json()["data"]] == [second["id"]]


async def test_bad_presets_are_422(api):
    h = (await api.signup())["headers"]
    for body in ({"name": "", "prompt": "x"}, {"name": "x", "prompt": "   "}, {"name": "x"}, {"name": "x" * 101, "prompt": "p"},
                 {"name": "x", "prompt": "p", "user_id": "someone"}, {"name": 3, "prompt": "p"}):
        r = await api.client.post("/api/presets", headers=h, json=body)
        assert r.status_code == 422, body
        assert set(r.json()["error"]) == {"type", "code", "message", "param"}
    assert (await api.client.get("/api/presets")).status_code == 401


async def test_another_users_preset_is_404(api):
    alice, bob = await api.signup(), await api.signup()
    preset = (await api.client.post("/api/presets", headers=alice["headers"], json={"name": "mine", "prompt": "secret"})).json()
    for method in ("GET", "PATCH", "DELETE"):
        r = await api.client.request(method, f"/api/presets/{preset['id']}", headers=bob["headers"],
                                     json={"name": "stolen"} if method == "PATCH" else None)
        assert r.status_code == 404, method
    r = await api.client.post("/api/conversations", headers=bob["headers"], json={"preset_id": preset["id"]})
    assert r.status_code == 404 and r.json()["error"]["param"] == "preset_id"
    assert (await api.client.get("/api/presets", headers=bob["headers"])).json()["data"] == []
    assert (await api.client.get(f"/api/presets/{preset['id']}", headers=alice["headers"])).json()["name"] == "mine"


async def test_a_conversation_from_a_preset_takes_its_name_and_keeps_it(make_api):
    api = await make_api(providers={"scripted": ScriptedProvider(["Sure: 안녕하세요"])})
    h = (await api.signup())["headers"]
    preset = (await api.client.post("/api/presets", headers=h, json={"name": "Greeting in Korean", "prompt": "Say hello in Korean"})).json()
    r = await api.client.post("/api/conversations", headers=h, json={"preset_id": preset["id"]})
    assert r.status_code == 201
    conv = r.json()
    assert conv["title"] == "Greeting in Korean" and conv["metadata"] == {"preset_id": preset["id"]}
    # The client sends the preset's prompt first; the preset's name stays the title.
    r = await api.client.post(f"/api/conversations/{conv['id']}/messages", headers=h, json={"content": preset["prompt"]})
    assert r.status_code == 200, r.text
    history = (await api.client.get(f"/api/conversations/{conv['id']}/messages", headers=h)).json()["data"]
    assert [m["content"] for m in history][::-1][0] == "Say hello in Korean"
    assert (await api.client.get(f"/api/conversations/{conv['id']}", headers=h)).json()["title"] == "Greeting in Korean"
