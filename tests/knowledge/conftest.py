"""Helpers of the knowledge tests: upload a file through the API."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def upload():
    async def send(api: Any, user: dict, name: str, data: bytes, *, title: str | None = None, visibility: str | None = None,
                   content_type: str = "application/octet-stream") -> Any:
        form: dict[str, str] = {}
        if title is not None:
            form["title"] = title
        if visibility is not None:
            form["visibility"] = visibility
        return await api.client.post("/api/knowledge/documents", headers=user["headers"], files={"file": (name, data, content_type)}, data=form)

    return send
