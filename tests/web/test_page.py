"""The web page at `/`, end to end in a real headless Chromium (SPEC section 10, SECURITY 20)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from chatkiosk.llm.fake import ScriptedProvider, delay
from chatkiosk.store import messages
from chatkiosk.store.db import Database
from tests.conftest import PASSWORD
from tests.web.browser import chromium, run_async, screenshot  # noqa: F401  (fixture)
from tests.web.conftest import Live

DESKTOP = {"width": 1280, "height": 820}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def backend() -> str:
    """The page does not care about the database: run these on SQLite only."""
    return "sqlite"


@pytest.fixture
def open_page(chromium: Any) -> Iterator[Any]:
    """`page = open_page(srv, viewport=...)`: a fresh browser context (own storage) on the server's page."""
    contexts = []

    def make(srv: Live, viewport: dict[str, int] = DESKTOP, locale: str = "en-US") -> Any:
        context = chromium.new_context(viewport=viewport, locale=locale, is_mobile=viewport is PHONE, has_touch=viewport is PHONE)
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []  # type: ignore[attr-defined]
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
        page.errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda e: page.errors.append(str(e)))  # type: ignore[attr-defined]
        page.set_default_timeout(10_000)
        page.goto(srv.url + "/")
        return page

    yield make
    for context in contexts:
        context.close()


def register(page: Any, username: str | None = None) -> str:
    username = username or f"u{uuid.uuid4().hex[:8]}"
    page.click("#login-switch")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#app-view:not([hidden])")
    page.wait_for_selector("#conn[data-status=live]")
    return username


def sign_in(page: Any, username: str) -> None:
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#app-view:not([hidden])")


def start(page: Any, agent: str) -> None:
    page.click(f".agent-card[data-agent={agent}]")
    page.wait_for_selector("#composer:not([hidden])")


def say(page: Any, text: str) -> None:
    page.fill("#input", text)
    page.press("#input", "Enter")


def wait_answered(page: Any, count: int) -> None:
    """Wait until `count` assistant messages are finished and the stop button is gone."""
    page.wait_for_function(
        "n => document.querySelectorAll('.msg-assistant:not(.pending)').length >= n && document.getElementById('stop').hidden", arg=count
    )


def order_state(page: Any) -> str:
    return page.get_attribute(".state-pill", "data-state")


# --- chat


def test_register_chat_stream_and_sign_in_again(live, open_page):
    answer = ["Here is **bold** and code:\n\n```python\nprint('hi')\n```\n", delay(0.6), "See [the docs](https://example.com/docs)."]
    srv = live(providers={"scripted": ScriptedProvider([answer])})
    page = open_page(srv)
    assert page.title() == "chatkiosk"
    page.wait_for_selector("#login-view:not([hidden])")
    screenshot(page, "login")
    username = register(page)
    assert page.is_visible("#welcome")
    page.wait_for_selector(".agent-card")
    screenshot(page, "welcome")
    start(page, "assistant")
    page.wait_for_selector(".empty-chat")

    page.fill("#input", "Hello there")
    page.press("#input", "Shift+Enter")  # a new line, not a send
    page.type("#input", "second line")
    assert page.input_value("#input") == "Hello there\nsecond line"
    page.press("#input", "Enter")
    # Streaming is visible: the first part is shown while the stop button is still up.
    page.wait_for_selector(".msg-assistant.pending .code-block")
    assert page.is_visible("#stop") and not page.is_visible("#send")
    wait_answered(page, 1)
    bubble = page.locator(".msg-assistant .bubble").last
    assert bubble.locator("strong").inner_text() == "bold"
    assert bubble.locator(".code-block code").inner_text() == "print('hi')"
    assert bubble.locator("a").get_attribute("href") == "https://example.com/docs"
    assert page.locator(".msg-user .plain").inner_text() == "Hello there\nsecond line"
    page.wait_for_selector(".conv.active .conv-title:text('Hello there second line')")
    screenshot(page, "chat-desktop")

    page.click("#logout")
    page.wait_for_selector("#login-view:not([hidden])")
    sign_in(page, username)
    page.wait_for_selector(".msg-assistant .code-block")
    assert page.locator(".msg-user .plain").inner_text() == "Hello there\nsecond line"
    assert not page.errors and not page.dialogs


def test_stop_button_cancels_the_answer(live, open_page):
    srv = live(providers={"scripted": ScriptedProvider([["Thinking hard", delay(20), "never shown"]])})
    page = open_page(srv)
    register(page)
    start(page, "assistant")
    say(page, "Take your time")
    page.wait_for_selector(".msg-assistant.pending .markdown:has-text('Thinking hard')")
    page.click("#stop")
    page.wait_for_selector(".msg-assistant .msg-status.status-cancelled", timeout=4000)
    assert page.is_visible("#send") and not page.is_visible("#stop")
    assert "never shown" not in page.inner_text("#messages")


def test_markup_in_messages_is_shown_as_text(live, open_page):
    evil = '<img src=x onerror=alert(1)> and [click me](javascript:alert(2)) <script>alert(3)</script>'
    srv = live(providers={"scripted": ScriptedProvider([evil])})
    page = open_page(srv)
    register(page)
    start(page, "assistant")
    say(page, "<script>alert(1)</script> <img src=x onerror=alert(1)>")
    wait_answered(page, 1)
    assert page.locator(".msg-user .plain").inner_text() == "<script>alert(1)</script> <img src=x onerror=alert(1)>"
    answer = page.locator(".msg-assistant .bubble").last.inner_text()
    assert "<img src=x onerror=alert(1)>" in answer and "<script>alert(3)</script>" in answer
    assert page.locator("#messages img, #messages script, #messages a[href^='javascript']").count() == 0
    page.reload()
    page.wait_for_selector(".msg-assistant .markdown")
    assert page.locator("#messages img, #messages script, #messages a").count() == 0
    assert page.dialogs == [] and not page.errors


def test_rate_limit_is_explained_and_the_draft_kept(live, open_page):
    srv = live(providers={"scripted": ScriptedProvider(["first answer"])}, messages_per_window=1, message_window=60)
    page = open_page(srv)
    register(page)
    start(page, "assistant")
    say(page, "one")
    wait_answered(page, 1)
    say(page, "two")
    page.wait_for_selector("#banner:not([hidden])")
    assert re.search(r"a little fast\. Try again in \d+ s\.", page.inner_text("#banner"))
    assert page.input_value("#input") == "two"
    assert page.locator(".msg-user").count() == 1


def test_conversations_rename_delete_and_history_paging(live, open_page):
    srv = live()
    page = open_page(srv)
    username = register(page)
    user = srv.login(username)
    conv = srv.conversation(user)
    user_id = srv.http.get("/api/auth/me", headers=user.headers).json()["id"]

    async def fill() -> None:  # 70 stored messages, written straight to the database
        db = Database(srv.settings.resolved_database_url)
        try:
            async with db.write() as session:
                for i in range(70):
                    role = "user" if i % 2 == 0 else "assistant"
                    await messages.add(session, conversation_id=conv, user_id=user_id, role=role, content=f"message number {i}")
        finally:
            await db.close()

    run_async(fill())
    page.reload()
    page.wait_for_selector(".msg:has-text('message number 69')")
    assert page.locator(".msg").count() == 30
    page.evaluate("document.getElementById('messages').scrollTop = 0")
    page.wait_for_function("() => document.querySelectorAll('.msg').length === 60")
    page.evaluate("document.getElementById('messages').scrollTop = 0")
    page.wait_for_function("() => document.querySelectorAll('.msg').length === 70")
    assert page.locator(".msg").first.inner_text() == "message number 0"

    page.hover(f".conv[data-id='{conv}']")
    page.click(f".conv[data-id='{conv}'] .conv-rename")
    page.fill(".conv-rename-input", "Renamed 대화 对话")
    page.press(".conv-rename-input", "Enter")
    page.wait_for_selector(".conv-title:text('Renamed 대화 对话')")
    assert srv.http.get(f"/api/conversations/{conv}", headers=user.headers).json()["title"] == "Renamed 대화 对话"
    page.click(f".conv[data-id='{conv}'] .conv-delete")
    page.click(f".conv[data-id='{conv}'] .conv-delete")  # the second click confirms
    page.wait_for_selector(".list-empty")
    assert srv.http.get(f"/api/conversations/{conv}", headers=user.headers).status_code == 404


# --- sessions


def test_a_401_is_refreshed_once_then_returns_to_login(live, open_page):
    srv = live()
    page = open_page(srv)
    register(page)
    before = page.evaluate("JSON.parse(localStorage.getItem('chatkiosk.session')).access_token")
    refused = []

    def expire_once(route):  # the access token "expired" on the server's side
        if not refused:
            refused.append(route.request.url)
            route.fulfill(status=401, content_type="application/json",
                          body='{"error": {"type": "authentication_error", "code": "token_expired", "message": "token expired", "param": null}}')
        else:
            route.continue_()

    page.route("**/api/conversations", expire_once)
    start(page, "assistant")  # 401, refresh, retry: the conversation is made
    assert refused and page.locator(".conv").count() == 1
    assert page.evaluate("JSON.parse(localStorage.getItem('chatkiosk.session')).access_token") != before

    # When the refresh token is refused too, the page goes back to the login form.
    page.route("**/api/auth/refresh", lambda route: route.fulfill(status=401, content_type="application/json", body='{"error": {}}'))
    page.unroute("**/api/conversations")
    page.route("**/api/conversations", lambda route: route.fulfill(status=401, content_type="application/json", body='{"error": {}}'))
    page.click("#new-chat")
    page.wait_for_selector("#login-view:not([hidden])")
    assert "session expired" in page.inner_text("#login-error")
    assert page.evaluate("localStorage.getItem('chatkiosk.session')") is None


def test_without_the_websocket_answers_stream_over_sse(live, open_page, chromium):
    srv = live(providers={"scripted": ScriptedProvider([["Streamed ", delay(0.4), "over SSE"], ["x", delay(20), "y"]])})
    context = chromium.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.route_web_socket("**/api/ws", lambda ws: ws.close(code=1011))  # a proxy that drops sockets
        page.goto(srv.url + "/")
        page.click("#login-switch")
        page.fill("#username", f"u{uuid.uuid4().hex[:8]}")
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        start(page, "assistant")
        say(page, "hi")
        page.wait_for_selector(".msg-assistant.pending .markdown:has-text('Streamed')")
        wait_answered(page, 1)
        assert page.inner_text(".msg-assistant .markdown") == "Streamed over SSE"
        say(page, "again")
        page.wait_for_selector(".msg-assistant.pending .markdown:has-text('x')")
        page.click("#stop")  # POST /cancel
        page.wait_for_selector(".msg-assistant .msg-status.status-cancelled", timeout=4000)
        assert page.get_attribute("#conn", "data-status") == "offline"
    finally:
        context.close()


def test_signing_in_elsewhere_returns_to_the_login_form(live, open_page):
    srv = live(single_login=True)
    page = open_page(srv)
    username = register(page)
    srv.login(username)  # another device
    page.wait_for_selector("#login-view:not([hidden])")
    assert "signed in somewhere else" in page.inner_text("#login-error")
    assert page.evaluate("localStorage.getItem('chatkiosk.session')") is None


# --- the kiosk


def test_kiosk_order_by_chat_in_korean(live, open_page):
    srv = live(providers={"scripted": ScriptedProvider([])})
    page = open_page(srv, locale="ko-KR")
    register(page)
    start(page, "kiosk")
    page.wait_for_selector(".order-panel .menu-tile")
    assert order_state(page) == "greet"
    say(page, "불고기버거 2개랑 콜라 주세요")
    page.wait_for_selector(".order-line[data-item=cola]")
    assert page.inner_text(".order-line[data-item=bulgogi_burger] .line-qty") == "2"
    assert page.inner_text(".order-total") == "₩11,400"
    assert order_state(page) == "order"
    say(page, "포장이요")
    page.wait_for_selector("[data-dine=takeout].selected")
    screenshot(page, "kiosk-desktop")
    say(page, "카드로 할게요")
    page.wait_for_selector(".order-number")
    assert order_state(page) == "done"
    assert page.inner_text(".order-number") == "1"
    assert "불고기버거" in page.inner_text(".order-items")
    wait_answered(page, 3)
    screenshot(page, "kiosk-desktop-paid")
    placed = srv.http.get("/api/kiosk/orders", headers=srv.login(page.inner_text("#whoami")).headers).json()["data"]
    assert [(o["order_number"], o["total"], o["payment"], o["dine"]) for o in placed] == [(1, 11400, "card", "takeout")]
    assert not page.errors


def test_kiosk_order_by_buttons_on_a_phone(live, open_page):
    srv = live(providers={"scripted": ScriptedProvider([])})
    page = open_page(srv, viewport=PHONE)
    register(page)
    start(page, "kiosk")
    page.wait_for_selector(".menu-tile[data-menu-item=cola]")
    page.click(".menu-tile[data-menu-item=cola]")
    page.click("[data-option='size=large']")
    page.click("[data-option='ice=less']")
    page.click("[data-add=cola]")
    page.wait_for_selector(".order-line[data-item=cola]")
    page.click(".menu-tile[data-menu-item=bulgogi_burger]")
    page.wait_for_selector(".order-line[data-item=bulgogi_burger]")
    page.click(".order-line[data-item=bulgogi_burger] [data-step='+']")
    page.wait_for_function("() => document.querySelector('.order-line[data-item=bulgogi_burger] .line-qty').textContent === '2'")
    page.click(".order-line[data-item=cola] [data-step='+']")
    page.wait_for_function("() => document.querySelector('.order-line[data-item=cola] .line-qty').textContent === '2'")
    page.click(".order-line[data-item=cola] [data-step='-']")
    page.wait_for_function("() => document.querySelector('.order-line[data-item=cola] .line-qty').textContent === '1'")
    assert page.inner_text(".order-total") == "₩11,900"  # 2 × 4,800 + (1,800 + 500)
    assert "large" in page.inner_text(".order-line[data-item=cola] .line-options")
    page.click("[data-dine=dine_in]")
    page.wait_for_selector("[data-dine=dine_in].selected")
    page.click("[data-command=checkout]")
    page.wait_for_selector("[data-pay=card]")
    assert order_state(page) == "pay"
    screenshot(page, "kiosk-phone")
    # The order panel sits below the chat on a phone.
    chat_box = page.locator(".chat").bounding_box()
    panel_box = page.locator("#order-panel").bounding_box()
    assert panel_box["y"] >= chat_box["y"] + chat_box["height"] - 1
    assert panel_box["width"] <= PHONE["width"]
    page.click("[data-pay=mobile]")
    page.wait_for_selector(".order-number")
    assert order_state(page) == "done"
    screenshot(page, "kiosk-phone-paid")
    assert not page.errors and page.dialogs == []
