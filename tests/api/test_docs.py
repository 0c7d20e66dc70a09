"""Issue 13 item 14: `/docs` loads every asset from this server (it works offline)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest


@pytest.fixture(params=["sqlite"])
def backend(request):
    return request.param


async def test_docs_page_and_its_assets_are_served_locally(api):
    r = await api.client.get("/docs")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    page = r.text
    assert "SwaggerUIBundle" in page
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page) + re.findall(r"""url:\s*['"]([^'"]+)['"]""", page)
    assert urls, page
    for url in urls:
        assert not urlsplit(url).netloc, f"/docs loads {url} from elsewhere"
    assets = [u for u in urls if u.endswith((".js", ".css", ".png"))]
    assert {u.rsplit(".", 1)[1] for u in assets} >= {"js", "css"}
    for url in assets:
        asset = await api.client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 1000, url
    spec = await api.client.get("/openapi.json")
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.1")
    assert "default-src 'self'" in r.headers["content-security-policy"]
