"""The knowledge routes on SQLite and PostgreSQL: every format, search with citations, replace, delete, bad files."""

from __future__ import annotations

import pytest

from .documents import EN_LINE, HTML, KO_LINE, MARKDOWN, TEXT, ZH_LINE, pdf_bytes


@pytest.mark.parametrize(("name", "data", "fmt", "title", "query", "expected"), [
    ("returns.md", MARKDOWN, "markdown", "Returns handbook", "how many days for a refund", "within 7 days"),
    ("notes.txt", TEXT, "text", "Warehouse notes", "when does the loading dock open", "six in the morning"),
    ("care.html", HTML, "html", "Care guide", "how should I wash a wool sweater", "by hand in cold water"),
    ("policy.pdf", None, "pdf", "policy", "환불 신청은 언제까지", KO_LINE),
    ("policy.pdf", None, "pdf", "policy", "退货期限", ZH_LINE),
])
async def test_every_format_is_searchable(api, upload, name, data, fmt, title, query, expected):
    user = await api.signup()
    r = await upload(api, user, name, data if data is not None else pdf_bytes([[KO_LINE], [ZH_LINE, EN_LINE]]))
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["title"] == title and doc["format"] == fmt and doc["visibility"] == "private" and doc["chunks"] >= 1
    assert set(doc) == {"id", "title", "format", "visibility", "chunks", "created_at"}
    r = await api.client.get("/api/knowledge/search", params={"q": query}, headers=user["headers"])
    assert r.status_code == 200, r.text
    best = r.json()["data"][0]
    assert best["document"] == {"id": doc["id"], "title": title}
    assert expected in best["chunk"]["text"]
    assert set(best["chunk"]) == {"id", "index", "heading", "text"} and best["score"] > 0


async def test_html_furniture_is_not_indexed(api, upload):
    user = await api.signup()
    assert (await upload(api, user, "care.html", HTML)).status_code == 201
    r = await api.client.get("/api/knowledge/search", params={"q": "cookies copyright privacy menu", "top_k": 50}, headers=user["headers"])
    text = " ".join(hit["chunk"]["text"] for hit in r.json()["data"])
    assert "cookie" not in text.lower() and "Copyright" not in text and "Menu entry" not in text


async def test_same_title_replaces_and_delete_removes(api, upload):
    user = await api.signup()
    first = (await upload(api, user, "a.md", b"# Hours\n\nWe open at nine.", title="Opening hours")).json()
    second = (await upload(api, user, "b.txt", b"We now open at eight thirty.", title="Opening hours")).json()
    assert second["id"] != first["id"] and second["format"] == "text"
    listed = (await api.client.get("/api/knowledge/documents", headers=user["headers"])).json()
    assert [d["id"] for d in listed["data"]] == [second["id"]] and listed["has_more"] is False
    assert (await api.client.get(f"/api/knowledge/documents/{first['id']}", headers=user["headers"])).status_code == 404
    assert (await api.client.get(f"/api/knowledge/documents/{second['id']}", headers=user["headers"])).json() == second
    hits = (await api.client.get("/api/knowledge/search", params={"q": "when do you open"}, headers=user["headers"])).json()["data"]
    assert [h["chunk"]["text"] for h in hits] == ["We now open at eight thirty."]
    assert (await api.client.delete(f"/api/knowledge/documents/{second['id']}", headers=user["headers"])).status_code == 204
    assert (await api.client.get("/api/knowledge/search", params={"q": "when do you open"}, headers=user["headers"])).json()["data"] == []
    assert (await api.client.delete(f"/api/knowledge/documents/{second['id']}", headers=user["headers"])).status_code == 404


@pytest.mark.parametrize(("name", "data", "content_type", "status", "code"), [
    ("report.docx", b"PK\x03\x04 word", "application/octet-stream", 415, "unsupported_media_type"),
    ("image", b"\x89PNG\r\n", "image/png", 415, "unsupported_media_type"),
    ("broken.pdf", b"%PDF-1.4 garbage garbage", "application/pdf", 422, "unreadable_document"),
    ("fake.pdf", b"just text pretending", "application/pdf", 422, "unreadable_document"),
    ("binary.txt", b"\x00\x01\x02\x03" * 50, "text/plain", 422, "unreadable_document"),
    ("empty.md", b"", "text/markdown", 422, "unreadable_document"),
])
async def test_bad_files(api, upload, name, data, content_type, status, code):
    user = await api.signup()
    r = await upload(api, user, name, data, content_type=content_type)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["param"] == "file" and error["message"]
    assert (await api.client.get("/api/knowledge/documents", headers=user["headers"])).json()["data"] == []


async def test_bad_requests(make_api, upload):
    api = await make_api(knowledge_max_upload_bytes=2048)
    user = await api.signup()
    r = await api.client.post("/api/knowledge/documents", headers=user["headers"], data={"title": "no file"})
    assert r.status_code == 422 and r.json()["error"]["type"] == "invalid_request_error"
    r = await upload(api, user, "big.txt", b"word " * 1000)
    assert r.status_code == 413
    r = await upload(api, user, "a.txt", b"hello", visibility="public")
    assert r.status_code == 422
    for params in ({"q": ""}, {"q": "x", "top_k": 0}, {"q": "x", "top_k": 51}, {}):
        r = await api.client.get("/api/knowledge/search", params=params, headers=user["headers"])
        assert r.status_code == 422, params
    assert (await api.client.get("/api/knowledge/search", params={"q": "x"})).status_code == 401
    assert (await api.client.get("/api/knowledge/documents")).status_code == 401
