"""The web page's shop panel in a real headless Chromium: orders and tickets beside the chat,
the cancel and "file a ticket" buttons, and the panel following a chat that changed an order."""

from __future__ import annotations

from typing import Any

import pytest

from chatkiosk.agents.shop.models import OrderIn
from chatkiosk.agents.shop.service import ShopService
from chatkiosk.llm.fake import ScriptedProvider
from chatkiosk.store.db import Database
from tests.web.browser import chromium, run_async, screenshot  # noqa: F401  (fixture)
from tests.web.test_page import PHONE, open_page, register, say, start, wait_answered  # noqa: F401  (open_page: fixture)


@pytest.fixture
def backend() -> str:
    return "sqlite"


def _seed(srv: Any, username: str) -> None:
    me = srv.http.get("/api/auth/me", headers=srv.login(username).headers).json()

    async def work() -> None:
        db = Database(srv.settings.resolved_database_url)
        shop = ShopService(db)
        try:
            for number, status in (("A-1001", "paid"), ("B-2002", "shipped"), ("C-3003", "preparing")):
                await shop.create_order(OrderIn(
                    user_id=me["id"], status=status, number=number, carrier="CJ" if status == "shipped" else None,
                    tracking_number="6301" if status == "shipped" else None,
                    items=[{"name": "Ceramic mug", "quantity": 2, "unit_price": 12000}],
                ))
        finally:
            await db.close()

    run_async(work())


def test_the_shop_panel_lists_orders_cancels_and_files_tickets(live, open_page):
    srv = live(providers={"scripted": ScriptedProvider([])})
    page = open_page(srv, locale="ko-KR")
    username = register(page)
    _seed(srv, username)
    start(page, "shop")
    page.wait_for_selector("#shop-panel .shop-order[data-order='A-1001']")
    assert page.get_attribute(".shop-order[data-order='B-2002']", "data-status") == "shipped"
    assert "₩24,000" in page.inner_text(".shop-order[data-order='A-1001']")
    assert page.locator(".shop-order[data-order='B-2002'] [data-action=cancel]").count() == 0  # shipped: no cancel
    page.click(".shop-order[data-order='A-1001'] [data-action=cancel]")
    page.click(".shop-order[data-order='A-1001'] [data-action=confirm-cancel]")
    page.wait_for_selector(".shop-order[data-order='A-1001'][data-status=cancelled]")
    page.click(".shop-order[data-order='B-2002'] [data-action=ticket]")
    page.select_option(".shop-order[data-order='B-2002'] select[name=issue_type]", "damaged")
    page.fill(".shop-order[data-order='B-2002'] textarea[name=description]", "상자가 찌그러져 왔어요")
    page.click(".shop-order[data-order='B-2002'] [data-action=send-ticket]")
    page.wait_for_selector(".shop-ticket")
    assert "찌그러져" in page.inner_text(".shop-tickets")
    # A cancel by chat: asked, confirmed with a yes, and the panel follows.
    say(page, "C-3003 주문 취소해 주세요")
    wait_answered(page, 1)
    say(page, "네")
    page.wait_for_selector(".shop-order[data-order='C-3003'][data-status=cancelled]")
    wait_answered(page, 2)
    assert "취소되었어요" in page.inner_text("#messages")
    screenshot(page, "shop-desktop")
    assert not page.errors and page.dialogs == []


def test_the_shop_panel_sits_below_the_chat_on_a_phone(live, open_page):
    srv = live(providers={"scripted": ScriptedProvider([])})
    page = open_page(srv, viewport=PHONE)
    username = register(page)
    _seed(srv, username)
    start(page, "shop")
    page.wait_for_selector("#shop-panel .shop-order[data-order='B-2002']")
    say(page, "Where is order B-2002?")
    wait_answered(page, 1)
    assert "shipped" in page.inner_text("#messages")
    chat_box = page.locator(".chat").bounding_box()
    panel_box = page.locator("#shop-panel").bounding_box()
    assert panel_box["y"] >= chat_box["y"] + chat_box["height"] - 1 and panel_box["width"] <= PHONE["width"]
    screenshot(page, "shop-phone")
    assert not page.errors


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (60, 40), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_a_photo_picked_in_the_composer_is_sent_and_filed_with_the_ticket(live, open_page):
    srv = live(providers={"scripted": ScriptedProvider([])})
    page = open_page(srv)
    username = register(page)
    _seed(srv, username)
    start(page, "assistant")
    assert page.locator("#photo-pick").is_hidden()  # only the shop takes photos
    page.select_option("#agent-select", "shop")
    page.click("#new-chat")
    page.wait_for_selector("#photo-pick:not([hidden])")
    page.set_input_files("#photo-input", files=[{"name": "box.png", "mimeType": "image/png", "buffer": _png()}])
    page.wait_for_selector("#photo-tray .tray-photo img")
    screenshot(page, "shop-photo-picked")
    say(page, "My order B-2002 arrived damaged")
    wait_answered(page, 1)
    assert page.locator("#photo-tray").is_hidden()
    assert "added 1 photo(s) to ticket" in page.inner_text(".msg-assistant")
    assert page.locator(".msg-user .msg-photo").count() == 1
    # The ticket has it, and the history shows it again after a reload (fetched with the login).
    headers = srv.login(username).headers
    (ticket,) = srv.http.get("/api/shop/tickets", headers=headers).json()["data"]
    photos = srv.http.get(f"/api/shop/tickets/{ticket['id']}/attachments", headers=headers).json()["data"]
    assert [(p["width"], p["height"]) for p in photos] == [(60, 40)]
    page.reload()
    page.click(".conv:has(.agent-shop) .conv-open")
    page.wait_for_function("() => { const i = document.querySelector('.msg-user .msg-photo'); return i && i.complete && i.naturalWidth === 60; }")
    screenshot(page, "shop-photo-sent")
    assert not page.errors and page.dialogs == []
