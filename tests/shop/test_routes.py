"""The shop's routes on SQLite and PostgreSQL: intake by the shop's system, the customer's orders
and tickets, cancellation within policy, and another customer's objects answered 404 (SECURITY 11)."""

from __future__ import annotations

import pytest


async def test_the_shop_system_puts_orders_in_and_moves_them_forward(shop):
    api, admin = shop.api, shop.admin
    alice = await api.signup()
    order = await shop.order(alice, number="A-1001", carrier="CJ", tracking_number="6301")
    assert order["number"] == "A-1001" and order["total"] == 33500 and order["user_id"] == alice["id"]
    assert order["items"][0] == {"sku": "MUG-01", "name": "Ceramic mug", "quantity": 2, "unit_price": 12000}
    generated = await shop.order(alice)
    assert generated["number"].startswith("S") and generated["number"] != order["number"]
    url = f"/api/admin/shop/orders/{order['id']}"
    r = await api.client.patch(url, headers=admin["headers"], json={"status": "shipped"})
    assert r.status_code == 200 and r.json()["status"] == "shipped" and r.json()["cancellable"] is False
    r = await api.client.patch(url, headers=admin["headers"], json={"status": "paid"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    assert (await api.client.patch("/api/admin/shop/orders/so_nope", headers=admin["headers"], json={"status": "shipped"})).status_code == 404


@pytest.mark.parametrize("body, status, code", [
    ({"status": "paid", "items": []}, 422, "validation_error"),
    ({"status": "lost", "items": [{"name": "x", "quantity": 1, "unit_price": 1}]}, 422, "validation_error"),
    ({"items": [{"name": "x", "quantity": 0, "unit_price": 1}]}, 422, "validation_error"),
    ({"items": [{"name": "x", "quantity": 1, "unit_price": 1}], "number": "bad number!"}, 422, "validation_error"),
])
async def test_bad_orders_are_refused_with_the_error_shape(shop, body, status, code):
    alice = await shop.api.signup()
    r = await shop.api.client.post("/api/admin/shop/orders", headers=shop.admin["headers"], json={"user_id": alice["id"], **body})
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


async def test_intake_refuses_unknown_users_taken_numbers_and_non_admins(shop):
    api, admin = shop.api, shop.admin
    alice = await api.signup()
    item = [{"name": "x", "quantity": 1, "unit_price": 1}]
    r = await api.client.post("/api/admin/shop/orders", headers=admin["headers"], json={"user_id": "user_nobody", "items": item})
    assert r.status_code == 404 and r.json()["error"]["code"] == "user_not_found"
    await shop.order(alice, number="DUP-1")
    r = await api.client.post("/api/admin/shop/orders", headers=admin["headers"], json={"user_id": alice["id"], "number": "DUP-1", "items": item})
    assert r.status_code == 409 and r.json()["error"]["code"] == "number_taken"
    for method, url in (("POST", "/api/admin/shop/orders"), ("PATCH", "/api/admin/shop/orders/x"), ("GET", "/api/admin/shop/tickets"),
                        ("POST", "/api/shop/tickets/x/resolve")):
        r = await api.client.request(method, url, headers=alice["headers"], json={"user_id": alice["id"], "items": item, "resolution": "x"})
        assert r.status_code == 403, (method, url, r.text)


async def test_customers_read_and_cancel_their_own_orders(shop):
    api = shop.api
    alice = await api.signup()
    paid = await shop.order(alice, "paid")
    preparing = await shop.order(alice, "preparing")
    shipped = await shop.order(alice, "shipped", carrier="CJ", tracking_number="555")
    r = await api.client.get("/api/shop/orders", headers=alice["headers"])
    assert [o["id"] for o in r.json()["data"]] == [shipped["id"], preparing["id"], paid["id"]]
    r = await api.client.get("/api/shop/orders?status=shipped&limit=1", headers=alice["headers"])
    assert [o["id"] for o in r.json()["data"]] == [shipped["id"]] and r.json()["has_more"] is False
    assert (await api.client.get("/api/shop/orders?status=lost", headers=alice["headers"])).status_code == 422
    r = await api.client.get(f"/api/shop/orders/{shipped['id']}", headers=alice["headers"])
    assert r.json()["tracking_number"] == "555" and "user_id" not in r.json()

    r = await api.client.post(f"/api/shop/orders/{paid['id']}/cancel", headers=alice["headers"], json={"reason": "changed my mind"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await api.client.post(f"/api/shop/orders/{preparing['id']}/cancel", headers=alice["headers"])
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await api.client.post(f"/api/shop/orders/{shipped['id']}/cancel", headers=alice["headers"], json={"reason": "late"})
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "not_cancellable" and "return" in error["message"]
    again = await api.client.post(f"/api/shop/orders/{paid['id']}/cancel", headers=alice["headers"], json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_cancellable"
    delivered = await shop.order(alice, "delivered")
    r = await api.client.post(f"/api/shop/orders/{delivered['id']}/cancel", headers=alice["headers"])
    assert r.status_code == 409 and "return" in r.json()["error"]["message"]


async def test_another_customers_orders_and_tickets_are_404_everywhere(shop):
    """SECURITY 11 for orders and tickets."""
    api = shop.api
    alice, bob = await api.signup(), await api.signup()
    order = await shop.order(alice, "paid")
    r = await api.client.post("/api/shop/tickets", headers=alice["headers"],
                              json={"order_id": order["id"], "issue_type": "damaged", "description": "The mug arrived broken."})
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["priority"] == "high" and ticket["status"] == "open" and ticket["order_id"] == order["id"]
    nope = [
        await api.client.get(f"/api/shop/orders/{order['id']}", headers=bob["headers"]),
        await api.client.post(f"/api/shop/orders/{order['id']}/cancel", headers=bob["headers"], json={"reason": "x"}),
        await api.client.get(f"/api/shop/tickets/{ticket['id']}", headers=bob["headers"]),
        await api.client.post("/api/shop/tickets", headers=bob["headers"],
                              json={"order_id": order["id"], "issue_type": "refund", "description": "mine now"}),
        await api.client.post("/api/shop/tickets", headers=bob["headers"],
                              json={"order_id": order["number"], "issue_type": "refund", "description": "mine now"}),
    ]
    assert [r.status_code for r in nope] == [404] * 5
    assert all(set(r.json()["error"]) == {"type", "code", "message", "param"} for r in nope)
    assert (await api.client.get("/api/shop/orders", headers=bob["headers"])).json()["data"] == []
    assert (await api.client.get("/api/shop/tickets", headers=bob["headers"])).json()["data"] == []
    assert (await api.client.get(f"/api/shop/orders/{order['id']}", headers=alice["headers"])).json()["status"] == "paid"
    assert (await api.client.get("/api/shop/orders/so_missing", headers=alice["headers"])).status_code == 404


async def test_tickets_are_filed_listed_and_resolved_by_staff(shop):
    api, admin = shop.api, shop.admin
    alice, bob = await api.signup(), await api.signup()
    order = await shop.order(alice, "delivered", number="T-77")
    r = await api.client.post("/api/shop/tickets", headers=alice["headers"],
                              json={"order_id": "t-77", "issue_type": "exchange", "description": "Wrong colour."})
    assert r.status_code == 201 and r.json()["order_id"] == order["id"] and r.json()["priority"] == "normal"
    mine = r.json()
    r = await api.client.post("/api/shop/tickets", headers=bob["headers"],
                              json={"issue_type": "other", "description": "Do you ship abroad?", "priority": "low"})
    theirs = r.json()
    assert (await api.client.post("/api/shop/tickets", headers=bob["headers"], json={"issue_type": "x", "description": "y"})).status_code == 422
    assert [t["id"] for t in (await api.client.get("/api/shop/tickets", headers=alice["headers"])).json()["data"]] == [mine["id"]]
    everyone = (await api.client.get("/api/admin/shop/tickets?status=open", headers=admin["headers"])).json()["data"]
    assert {t["id"] for t in everyone} >= {mine["id"], theirs["id"]} and {t["user_id"] for t in everyone} >= {alice["id"], bob["id"]}
    r = await api.client.post(f"/api/shop/tickets/{mine['id']}/resolve", headers=admin["headers"], json={"resolution": "Exchange sent."})
    assert r.status_code == 200 and r.json()["status"] == "resolved" and r.json()["resolved_at"]
    r = await api.client.post(f"/api/shop/tickets/{mine['id']}/resolve", headers=admin["headers"], json={"resolution": "again"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_resolved"
    assert (await api.client.post("/api/shop/tickets/tkt_none/resolve", headers=admin["headers"], json={"resolution": "x"})).status_code == 404
    r = await api.client.get(f"/api/shop/tickets/{mine['id']}", headers=alice["headers"])
    assert r.json()["resolution"] == "Exchange sent."
    assert [t["id"] for t in (await api.client.get("/api/shop/tickets?status=open", headers=alice["headers"])).json()["data"]] == []
