"""Confirmations: bound to user, conversation, tool, arguments and expiry; the action runs once."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from chatkiosk.agents.confirm import (
    ConfirmationGate,
    ConfirmationRefused,
    MemoryConfirmationStore,
    arguments_hash,
    confirm,
    request_confirmation,
)
from chatkiosk.agents.loop import run_agent
from chatkiosk.agents.tools import ToolContext, ToolRegistry, tool
from chatkiosk.llm.fake import ScriptedProvider, tool_call

SECRET = b"test-secret-0123456789abcdef0123"


@pytest.fixture
def cancelled() -> list[str]:
    return []


@pytest.fixture
def shop(cancelled: list[str]) -> ToolRegistry:
    @tool(requires_confirmation=True, summary=lambda a: f"Cancel order {a['order_id']}")
    async def cancel_order(ctx: ToolContext, order_id: str) -> dict:
        """Cancel one of the user's orders.

        Args:
            order_id: The order to cancel.
        """
        await asyncio.sleep(0.01)  # a window in which a second confirm could slip in
        cancelled.append(order_id)
        return {"cancelled": order_id}

    return ToolRegistry([cancel_order])


@pytest.fixture
def store() -> MemoryConfirmationStore:
    return MemoryConfirmationStore()


async def _pending(store, shop, ctx, *, ttl: float = 300) -> str:
    outcome = await request_confirmation(store, SECRET, shop.get("cancel_order"), ctx, {"order_id": "o-1"}, ttl=ttl)
    assert outcome.status == "confirmation_required"
    return outcome.result["confirmation_id"]


async def test_the_model_cannot_run_a_confirmed_tool_on_its_own(
    drain,
    shop: ToolRegistry, store: MemoryConfirmationStore, ctx: ToolContext, cancelled: list[str]
) -> None:
    llm = ScriptedProvider([tool_call("cancel_order", {"order_id": "o-1"}), "Please confirm in the app."])
    out = await drain(run_agent(llm, [{"role": "user", "content": "cancel o-1"}], ctx, shop,
                                confirmations=ConfirmationGate(store, SECRET)))
    assert cancelled == []
    (record,) = out.result.tool_calls
    assert record.status == "confirmation_required"
    assert record.result["status"] == "confirmation_required"
    assert record.result["summary"] == "Cancel order o-1"
    cid = record.result["confirmation_id"]
    pending = await store.get(cid, "u-alice")
    assert pending is not None and pending.tool == "cancel_order" and pending.arguments == {"order_id": "o-1"}
    assert pending.conversation_id == "c-1" and pending.expires_at - pending.created_at == pytest.approx(300)
    # The model saw the pending state, not a result.
    assert '"confirmation_required"' in llm.calls[1].messages[-1]["content"]


async def test_without_a_gate_a_confirmed_tool_is_refused(drain, shop, ctx, cancelled) -> None:
    llm = ScriptedProvider([tool_call("cancel_order", {"order_id": "o-1"}), "ok"])
    out = await drain(run_agent(llm, [{"role": "user", "content": "x"}], ctx, shop))
    assert cancelled == [] and out.result.tool_calls[0].status == "error"


async def test_invalid_arguments_create_no_confirmation(drain, shop, store, ctx) -> None:
    llm = ScriptedProvider([tool_call("cancel_order", {"order": 1}), "ok"])
    out = await drain(run_agent(llm, [{"role": "user", "content": "x"}], ctx, shop,
                                confirmations=ConfirmationGate(store, SECRET)))
    assert out.result.tool_calls[0].status == "error"
    assert store._items == {}


async def test_confirm_runs_the_action_once_and_refuses_a_replay(
    shop: ToolRegistry, store: MemoryConfirmationStore, ctx: ToolContext, cancelled: list[str]
) -> None:
    cid = await _pending(store, shop, ctx)
    confirmation, outcome = await confirm(store, SECRET, cid, "u-alice", "c-1", tools=shop)
    assert outcome.status == "ok" and outcome.result == {"cancelled": "o-1"}
    assert confirmation.tool == "cancel_order"
    with pytest.raises(ConfirmationRefused) as refused:
        await confirm(store, SECRET, cid, "u-alice", "c-1", tools=shop)
    assert refused.value.code == "confirmation_not_found"
    assert cancelled == ["o-1"]


async def test_concurrent_confirms_run_the_action_once(
    shop: ToolRegistry, store: MemoryConfirmationStore, ctx: ToolContext, cancelled: list[str]
) -> None:
    cid = await _pending(store, shop, ctx)
    results = await asyncio.gather(
        *(confirm(store, SECRET, cid, "u-alice", "c-1", tools=shop) for _ in range(20)), return_exceptions=True
    )
    assert sum(1 for r in results if isinstance(r, tuple)) == 1
    assert all(isinstance(r, ConfirmationRefused) for r in results if not isinstance(r, tuple))
    assert cancelled == ["o-1"]


async def test_another_user_is_refused_and_does_not_use_it_up(
    shop: ToolRegistry, store: MemoryConfirmationStore, ctx: ToolContext, cancelled: list[str]
) -> None:
    cid = await _pending(store, shop, ctx)
    with pytest.raises(ConfirmationRefused) as refused:
        await confirm(store, SECRET, cid, "u-bob", "c-1", tools=shop)
    assert refused.value.code == "confirmation_not_found"  # the same answer as an unknown id
    assert await store.consume(cid, "u-bob") is None
    assert cancelled == []
    await confirm(store, SECRET, cid, "u-alice", "c-1", tools=shop)
    assert cancelled == ["o-1"]


async def test_unknown_id_is_refused(shop: ToolRegistry, store: MemoryConfirmationStore) -> None:
    with pytest.raises(ConfirmationRefused):
        await confirm(store, SECRET, "cf_nope", "u-alice", "c-1", tools=shop)


async def test_an_expired_confirmation_is_refused(
    shop: ToolRegistry, store: MemoryConfirmationStore, ctx: ToolContext, cancelled: list[str]
) -> None:
    cid = await _pending(store, shop, ctx, ttl=0)
    with pytest.raises(ConfirmationRefused) as refused:
        await confirm(store, SECRET, cid, "u-alice", "c-1", tools=shop)
    assert refused.value.code == "confirmation_expired"
    assert cancelled == []


async def test_another_conversation_is_refused(
    shop: ToolRegistry, store: MemoryConfirmationStore, ctx: ToolContext, cancelled: list[str]
) -> None:
    cid = await _pending(store, shop, ctx)
    with pytest.raises(ConfirmationRefused):
        await confirm(store, SECRET, cid, "u-alice", "c-2", tools=shop)
    assert cancelled == []


@pytest.mark.parametrize(
    "alter",
    [
        lambda c: replace(c, arguments={"order_id": "o-999"}),  # arguments swapped
        lambda c: replace(c, arguments={"order_id": "o-999"}, arguments_hash=arguments_hash({"order_id": "o-999"})),
        lambda c: replace(c, expires_at=c.expires_at + 3600),  # expiry stretched
        lambda c: replace(c, tool="other_tool"),
        lambda c: replace(c, signature="0" * 64),
    ],
)
async def test_an_altered_confirmation_is_refused(
    shop: ToolRegistry, store: MemoryConfirmationStore, ctx: ToolContext, cancelled: list[str], alter
) -> None:
    cid = await _pending(store, shop, ctx)
    store._items[cid] = alter(store._items[cid])
    with pytest.raises(ConfirmationRefused) as refused:
        await confirm(store, SECRET, cid, "u-alice", "c-1", tools=shop)
    assert refused.value.code == "confirmation_invalid"
    assert cancelled == []


async def test_a_different_secret_is_refused(
    shop: ToolRegistry, store: MemoryConfirmationStore, ctx: ToolContext, cancelled: list[str]
) -> None:
    cid = await _pending(store, shop, ctx)
    with pytest.raises(ConfirmationRefused):
        await confirm(store, b"another-secret", cid, "u-alice", "c-1", tools=shop)
    assert cancelled == []


async def test_a_tool_the_agent_no_longer_grants_is_refused(
    shop: ToolRegistry, store: MemoryConfirmationStore, ctx: ToolContext, cancelled: list[str]
) -> None:
    cid = await _pending(store, shop, ctx)
    with pytest.raises(ConfirmationRefused):
        await confirm(store, SECRET, cid, "u-alice", "c-1", tools=ToolRegistry())
    assert cancelled == []
