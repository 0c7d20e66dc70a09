"""The demo customer's shop orders, seeded by `make run` (`chatkiosk serve --demo`)."""

from __future__ import annotations

from datetime import timedelta

from chatkiosk.errors import Conflict
from chatkiosk.store.tables import utcnow

from .models import OrderIn
from .service import ShopService

# (number, status, days ago, carrier, tracking, items)
DEMO_ORDERS = [
    ("A-1001", "paid", 0, None, None, [{"sku": "MUG-01", "name": "Ceramic mug", "quantity": 2, "unit_price": 12000}]),
    ("A-1002", "preparing", 1, None, None, [{"sku": "TEA-09", "name": "Jeju green tea", "quantity": 3, "unit_price": 8000},
                                            {"name": "Tea sampler", "quantity": 1, "unit_price": 9500}]),
    ("B-2001", "shipped", 3, "CJ Logistics", "630112345678", [{"sku": "KET-02", "name": "Glass kettle", "quantity": 1, "unit_price": 34000}]),
    ("B-2002", "delivered", 9, "Hanjin", "450998877665", [{"sku": "CUP-05", "name": "Celadon cup set", "quantity": 1, "unit_price": 58000}]),
    ("C-3001", "cancelled", 14, None, None, [{"name": "Bamboo tray", "quantity": 1, "unit_price": 15000}]),
]


async def seed_demo_orders(shop: ShopService, user_id: str) -> int:
    """Give the demo customer a few orders in different states, unless they have some; how many were added."""
    if (await shop.list_orders(user_id, limit=1)).data:
        return 0
    now, added = utcnow(), 0
    for number, status, days, carrier, tracking, items in reversed(DEMO_ORDERS):
        order = OrderIn(user_id=user_id, status=status, number=number, items=items, carrier=carrier, tracking_number=tracking)
        try:
            await shop.create_order(order, created_at=now - timedelta(days=days))
        except Conflict:  # the number is already used by imported data: leave that one out
            continue
        added += 1
    return added
