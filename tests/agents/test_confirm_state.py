"""A confirmation describes the state it confirms and is refused when that state changed
(issue 13, item 5): the kiosk's pay is bound to the cart and its total."""

from __future__ import annotations

import pytest

from chatkiosk.agents.confirm import ConfirmationRefused, ConfirmationStale, MemoryConfirmationStore, confirm, request_confirmation
from chatkiosk.agents.tools import ToolContext, ToolDefinitionError, ToolRegistry, tool
from chatkiosk.errors import Conflict
from chatkiosk.llm.fake import ScriptedProvider, tool_call

SECRET = "test-secret"


def _counter_tool(box: dict, ran: list):
    async def fingerprint(ctx: ToolContext, arguments: dict) -> dict:
        return {"price": box["price"]}

    @tool(requires_confirmation=True, fingerprint=fingerprint,
          summary=lambda a, s=None: f"buy {a['item']}" + (f" at {s['price']}" if s else ""))
    async def buy(ctx: ToolContext, item: str) -> dict:
        """Buy something.

        Args:
            item: What to buy.
        """
        ran.append((item, ctx.confirmed_state))
        return {"bought": item}

    return buy


async def test_the_confirmation_shows_the_state_and_runs_while_it_holds():
    box, ran = {"price": 100}, []
    buy = _counter_tool(box, ran)
    store = MemoryConfirmationStore()
    ctx = ToolContext(user_id="u1", conversation_id="c1", agent="a")
    outcome = await request_confirmation(store, SECRET, buy, ctx, {"item": "tea"})
    assert outcome.status == "confirmation_required"
    assert outcome.result["state"] == {"price": 100} and outcome.result["summary"] == "buy tea at 100"
    _, done = await confirm(store, SECRET, outcome.result["confirmation_id"], "u1", "c1", tools=ToolRegistry([buy]))
    assert done.ok and ran == [("tea", {"price": 100})]


async def test_a_changed_state_is_refused_and_nothing_runs():
    box, ran = {"price": 100}, []
    buy = _counter_tool(box, ran)
    store = MemoryConfirmationStore()
    ctx = ToolContext(user_id="u1", conversation_id="c1", agent="a")
    outcome = await request_confirmation(store, SECRET, buy, ctx, {"item": "tea"})
    box["price"] = 9000
    with pytest.raises(ConfirmationStale) as caught:
        await confirm(store, SECRET, outcome.result["confirmation_id"], "u1", "c1", tools=ToolRegistry([buy]))
    assert caught.value.status_code == 409 and caught.value.code == "confirmation_stale"
    assert "buy tea at 100" in caught.value.message and "buy tea at 9000" in caught.value.message
    assert ran == []
    # It is used up: changing the state back does not revive it.
    box["price"] = 100
    with pytest.raises(ConfirmationRefused):
        await confirm(store, SECRET, outcome.result["confirmation_id"], "u1", "c1", tools=ToolRegistry([buy]))
    assert ran == []


def test_a_fingerprint_needs_a_confirmation():
    async def fp(ctx, arguments):
        return {}

    with pytest.raises(ToolDefinitionError):
        @tool(fingerprint=fp)
        async def look(ctx: ToolContext) -> dict:
            """Look."""
            return {}


# --- the kiosk: the reported bug ----------------------------------------------------------


async def _kiosk_at_pay(api, user) -> tuple[str, str]:
    r = await api.client.post("/api/conversations", headers=user["headers"], json={"agent": "kiosk"})
    cid = r.json()["id"]
    url = f"/api/conversations/{cid}/order/commands"
    for body in ({"command": "add_item", "args": {"item_id": "cola"}}, {"command": "checkout", "args": {}},
                 {"command": "set_dine_option", "args": {"dine": "takeout"}}):
        assert (await api.client.post(url, headers=user["headers"], json=body)).status_code == 200
    return cid, url


async def _ask_to_pay(api, user, cid, llm) -> dict:
    llm.add(tool_call("pay", {"method": "card"}), "Please confirm the payment.")
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"],
                              json={"content": "Could you settle the bill the usual way?"})
    assert r.status_code == 200, r.text
    (call,) = r.json()["message"]["tool_calls"]
    assert call["status"] == "confirmation_required"
    return call["result"]


async def test_pay_confirmed_at_1800_is_refused_after_20_burgers_were_added(make_api):
    llm = ScriptedProvider()
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid, url = await _kiosk_at_pay(api, user)
    asked = await _ask_to_pay(api, user, cid, llm)
    assert asked["state"]["total"] == 1800 and "₩1,800" in asked["summary"] and "1 × Cola" in asked["summary"]
    r = await api.client.post(url, headers=user["headers"],
                              json={"command": "add_item", "args": {"item_id": "double_cheeseburger", "quantity": 20}})
    assert r.status_code == 200
    assert (await api.client.post(url, headers=user["headers"], json={"command": "checkout", "args": {}})).json()["order"]["state"] == "pay"
    r = await api.client.post(f"/api/conversations/{cid}/confirmations/{asked['confirmation_id']}", headers=user["headers"])
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "confirmation_stale"
    assert "₩1,800" in error["message"] and "₩139,800" in error["message"]
    order = (await api.client.get(f"/api/conversations/{cid}/order", headers=user["headers"])).json()
    assert order["state"] == "pay" and order["total"] == 139800
    assert (await api.client.get("/api/kiosk/orders", headers=user["headers"])).json()["data"] == []
    # Asked again, the customer sees the real total, and that confirmation pays it.
    again = await _ask_to_pay(api, user, cid, llm)
    assert again["state"]["total"] == 139800 and "₩139,800" in again["summary"]
    r = await api.client.post(f"/api/conversations/{cid}/confirmations/{again['confirmation_id']}", headers=user["headers"])
    assert r.status_code == 200 and r.json()["status"] == "ok"
    placed = (await api.client.get("/api/kiosk/orders", headers=user["headers"])).json()["data"]
    assert [p["total"] for p in placed] == [139800]


async def test_a_cart_changed_inside_the_paying_transaction_pays_nothing(make_api):
    """The kiosk re-checks the confirmed cart under its own write lock too (no check-then-act gap)."""
    api = await make_api(providers={"s": ScriptedProvider()})
    user = await api.signup()
    cid, _url = await _kiosk_at_pay(api, user)
    kiosk = api.runtime.kiosk
    confirmed = await kiosk.payment_state(cid, user["id"])
    await kiosk.run(cid, user["id"], [("add_item", {"item_id": "fries"}), ("checkout", {})])
    with pytest.raises(Conflict) as caught:
        await kiosk.run(cid, user["id"], [("pay", {"method": "card"})], confirmed=confirmed)
    assert caught.value.code == "confirmation_stale"
    order, _lang = await kiosk.current(cid, user["id"])
    assert order.state.value == "pay" and order.order_number is None
