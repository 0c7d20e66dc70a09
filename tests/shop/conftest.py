"""Fixtures for the shop: an app with a scripted LLM, an admin, and orders put in as the shop's system does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from chatkiosk.llm.fake import ScriptedProvider

ITEMS = [{"sku": "MUG-01", "name": "Ceramic mug", "quantity": 2, "unit_price": 12000},
         {"name": "Tea sampler", "quantity": 1, "unit_price": 9500}]


@dataclass
class Shop:
    api: Any
    llm: ScriptedProvider
    admin: dict

    async def order(self, user: dict, status: str = "paid", number: str | None = None, **more: Any) -> dict:
        """An order for `user`, as the shop's system sends it."""
        body = {"user_id": user["id"], "status": status, "items": more.pop("items", ITEMS), **more}
        if number is not None:
            body["number"] = number
        r = await self.api.client.post("/api/admin/shop/orders", headers=self.admin["headers"], json=body)
        assert r.status_code == 201, r.text
        return r.json()

    async def conversation(self, user: dict) -> str:
        r = await self.api.client.post("/api/conversations", headers=user["headers"], json={"agent": "shop"})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    async def say(self, user: dict, cid: str, text: str) -> dict:
        r = await self.api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": text})
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
async def shop(make_api) -> Shop:
    llm = ScriptedProvider()
    api = await make_api(providers={"scripted": llm})
    admin = await api.signup(admin=True)
    return Shop(api, llm, admin)
