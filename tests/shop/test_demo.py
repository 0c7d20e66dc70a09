"""`make run` seeds the demo customer with shop orders in different states, once."""

from __future__ import annotations

from chatkiosk.cli import ensure_demo_user
from chatkiosk.runtime import Runtime
from chatkiosk.store import users


async def test_the_demo_user_gets_orders_in_every_state_once(settings_factory):
    settings = settings_factory()
    assert await ensure_demo_user(settings) is True
    assert await ensure_demo_user(settings) is False
    runtime = Runtime.build(settings)
    try:
        async with runtime.db.read() as session:
            demo = await users.by_username(session, settings.demo_username)
        orders = (await runtime.shop.list_orders(demo.id, limit=50)).data
    finally:
        await runtime.close()
    assert sorted(o.status for o in orders) == ["cancelled", "delivered", "paid", "preparing", "shipped"]
    assert [o.number for o in orders][0] == "A-1001"  # newest first
    assert any(o.tracking_number for o in orders if o.status == "shipped")
