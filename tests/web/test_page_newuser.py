"""The page as a new user meets it (issue 14), in a real headless Chromium: tabs sharing one
login, ko/en/zh, the agent's actions in words, the phone's order bar, titles and presets."""

from __future__ import annotations

from typing import Any

import pytest

from chatkiosk.llm.fake import ScriptedProvider, delay
from tests.web.browser import SCREENSHOTS, chromium, screenshot  # noqa: F401  (fixture)
from tests.web.test_page import DESKTOP, PHONE, open_page, register, say, sign_in, start, wait_answered  # noqa: F401

SESSION = "JSON.parse(localStorage.getItem('chatkiosk.session'))"


@pytest.fixture
def backend() -> str:
    """The page does not care about the database: run these on SQLite only."""
    return "sqlite"


def new_tab(context: Any, url: str) -> Any:
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))  # type: ignore[attr-defined]
    page.set_default_timeout(15_000)
    page.goto(url + "/")
    return page


# --- 1. tabs


@pytest.mark.parametrize("locks", ["web-locks", "indexeddb-lease"])
def test_two_tabs_share_the_refresh_and_both_stay_signed_in(live, chromium, locks):
    """A 30 s access token: both tabs come to their refresh at the same moment; one refreshes, the other takes its pair.

    Without Web Locks (plain http on a LAN address is not a secure context) an IndexedDB lease does the same.
    """
    srv = live(access_token_ttl=30)
    context = chromium.new_context(viewport=DESKTOP, locale="en-US")
    if locks == "indexeddb-lease":
        context.add_init_script("Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined })")
    try:
        refreshes: list[int] = []  # the status of every refresh either tab made
        context.on("response", lambda r: refreshes.append(r.status) if r.url.endswith("/api/auth/refresh") else None)
        a = new_tab(context, srv.url)
        assert a.evaluate("Boolean(navigator.locks)") is (locks == "web-locks")
        register(a)
        b = new_tab(context, srv.url)  # opening a tab refreshes once (the stored pair is checked)
        b.wait_for_selector("#app-view:not([hidden])")
        a.wait_for_function(f"() => {SESSION}.refresh_token === {b.evaluate(SESSION)['refresh_token']!r}")
        opened = len(refreshes)
        # Past the point (80% of 30 s) where each tab refreshes on its own timer, and past the
        # access token's expiry: without sharing, the second refresh presents a spent token
        # and the server ends the login in both tabs.
        a.wait_for_timeout(33_000)
        # The timers of both tabs fired; a refresh happened, and no tab ever presented a spent token.
        assert len(refreshes) > opened and set(refreshes) == {200}, refreshes
        for page in (a, b):
            assert page.is_visible("#app-view") and not page.is_visible("#login-view")
        assert a.evaluate(SESSION)["access_token"] == b.evaluate(SESSION)["access_token"]
        start(a, "assistant")  # the server takes the shared token in both tabs
        b.click("#new-chat")
        b.wait_for_selector(".conv.active")
        token = a.evaluate(SESSION)["access_token"]
        assert srv.http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert not a.errors and not b.errors
    finally:
        context.close()


def test_signing_out_in_one_tab_signs_out_the_other(live, chromium):
    srv = live()
    context = chromium.new_context(viewport=DESKTOP, locale="en-US")
    try:
        a = new_tab(context, srv.url)
        register(a)
        b = new_tab(context, srv.url)
        b.wait_for_selector("#app-view:not([hidden])")
        a.click("#logout")
        b.wait_for_selector("#login-view:not([hidden])")
        assert b.inner_text("#login-error") == "You have been signed out."
    finally:
        context.close()


# --- 2. languages


@pytest.mark.parametrize("locale, sign_in_title, new_chat", [("ko-KR", "로그인", "새 대화"), ("zh-CN", "登录", "新对话"), ("en-US", "Sign in", "New chat")])
def test_the_page_speaks_the_browsers_language(live, open_page, locale, sign_in_title, new_chat):
    srv = live()
    page = open_page(srv, locale=locale)
    page.wait_for_selector("#login-view:not([hidden])")
    assert page.inner_text("#login-title") == sign_in_title
    assert page.get_attribute("html", "lang") == locale[:2]
    register(page)
    assert page.inner_text("#new-chat") == new_chat
    assert not page.errors


def test_the_language_can_be_switched_and_is_kept(live, open_page):
    srv = live()
    page = open_page(srv, locale="en-US")
    page.select_option("#login-lang select", "zh")
    assert page.inner_text("#login-title") == "登录"
    register(page)
    assert page.inner_text("#welcome h2") == "您想做什么？"
    page.select_option("#page-lang select", "ko")
    assert page.inner_text("#welcome h2") == "무엇을 할까요?"
    assert page.inner_text("#logout") == "로그아웃"
    page.reload()
    page.wait_for_selector("#app-view:not([hidden])")
    assert page.inner_text("#welcome h2") == "무엇을 할까요?"
    page.select_option("#page-lang select", "en")
    assert page.inner_text("#welcome h2") == "What would you like to do?"


def test_the_kiosk_panel_follows_the_customers_language(live, open_page):
    srv = live(providers={"scripted": ScriptedProvider([])})
    page = open_page(srv, locale="en-US")  # an English browser
    register(page)
    start(page, "kiosk")
    page.wait_for_selector(".order-panel .menu-tile")
    assert page.inner_text(".order-head h2") == "Your order"
    say(page, "불고기버거 2개랑 콜라 주세요")  # the customer orders in Korean
    page.wait_for_selector(".order-line[data-item=cola]")
    page.wait_for_function("() => document.querySelector('.order-head h2').textContent === '주문 내역'")
    page.wait_for_selector(".order-line[data-item=bulgogi_burger] .line-name:text('불고기버거')")
    assert "Bulgogi" not in page.inner_text(".order-items")
    assert page.inner_text("#welcome h2") == "What would you like to do?"  # the page itself stays English
    say(page, "我要两个芝士汉堡")
    page.wait_for_function("() => document.querySelector('.order-head h2').textContent === '您的订单'")
    page.reload()  # reopening the order: the panel takes the language of the last thing the customer said
    page.wait_for_selector(".order-line[data-item=cola]")
    page.wait_for_function("() => document.querySelector('.order-head h2').textContent === '您的订单'")


# --- 3. what the agent did, in words


def test_actions_are_told_in_the_customers_words_with_details_one_click_away(live, open_page):
    srv = live(providers={"scripted": ScriptedProvider([])})
    page = open_page(srv, locale="ko-KR")
    register(page)
    start(page, "kiosk")
    say(page, "불고기버거 2개랑 콜라 주세요")
    wait_answered(page, 1)
    summary = page.locator(".msg-assistant .actions-summary").last
    assert summary.inner_text() == "✓ 주문에 담았어요 ×2"
    bubble = page.locator(".msg-assistant .bubble").last
    assert "add_item" not in bubble.inner_text() and "⚙" not in bubble.inner_text()
    summary.click()
    details = page.locator(".msg-assistant .actions-list").last
    assert details.is_visible() and details.inner_text().count("add_item") == 2 and "bulgogi_burger" in details.inner_text()
    say(page, "포장이요")
    wait_answered(page, 2)
    say(page, "카드로 할게요")
    wait_answered(page, 3)
    assert "결제했어요" in page.locator(".msg-assistant .actions-summary").last.inner_text()
    page.reload()  # the stored history says the same
    page.wait_for_selector(".msg-assistant .actions-summary")
    assert page.locator(".msg-assistant .actions-summary").first.inner_text() == "✓ 주문에 담았어요 ×2"


def test_assistant_tools_in_english_words(live, open_page):
    from chatkiosk.llm.fake import tool_call

    srv = live(providers={"scripted": ScriptedProvider([[tool_call("calculator", {"expression": "2+2"})], "It is 4."])})
    page = open_page(srv)
    register(page)
    start(page, "assistant")
    say(page, "what is 2+2")
    wait_answered(page, 1)
    assert page.locator(".msg-assistant .actions-summary").last.inner_text() == "✓ Did the math"
    assert "calculator" not in page.locator(".msg-assistant .bubble").last.inner_text()


# --- 4. the phone


def test_the_phone_keeps_the_total_and_checkout_on_screen(live, open_page):
    srv = live(providers={"scripted": ScriptedProvider([])})
    page = open_page(srv, viewport=PHONE, locale="ko-KR")
    register(page)
    start(page, "kiosk")
    say(page, "불고기버거 2개랑 콜라 주세요")
    page.wait_for_selector(".order-line[data-item=cola]")
    bar = page.locator("#order-bar")
    page.wait_for_function("() => document.querySelector('#order-bar .bar-total').textContent === '₩11,400'")

    def on_screen(locator: Any) -> bool:
        box = locator.bounding_box()
        return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"] + 1

    page.focus("#input")  # typing: the composer and the bar are both on screen, no scrolling
    assert on_screen(bar) and on_screen(page.locator("#input"))
    assert bar.locator(".bar-count").inner_text() == "주문 내역 · 3"
    screenshot(page, "phone-ko-order-bar")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "phone-ko-order-bar-viewport.png"))  # what the phone shows, unscrolled
    page.evaluate("window.scrollTo(0, document.body.scrollHeight / 2)")  # halfway down the menu
    assert on_screen(bar)
    page.click("#order-bar [data-bar=checkout]")
    # Checkout asks dine-in or takeout first: the bar says so, the panel is scrolled into view for it.
    page.wait_for_selector("#order-bar [data-bar=dine]")
    assert page.get_attribute(".state-pill", "data-state") == "option"
    page.click("[data-dine=takeout]")
    page.wait_for_selector("#order-bar [data-bar=pay]")
    page.wait_for_selector("[data-pay=card]")
    page.click("[data-pay=card]")
    page.wait_for_selector(".order-number")
    page.wait_for_function("() => document.querySelector('#order-bar .bar-count').textContent.startsWith('✓')")
    assert not page.errors


def test_the_bar_is_not_on_the_desktop(live, open_page):
    srv = live(providers={"scripted": ScriptedProvider([])})
    page = open_page(srv)
    register(page)
    start(page, "kiosk")
    page.wait_for_selector(".order-panel .menu-tile")
    assert not page.is_visible("#order-bar")


# --- 5. titles


def test_titles_come_from_the_first_message(live, open_page):
    srv = live(providers={"scripted": ScriptedProvider([])})
    page = open_page(srv, locale="ko-KR")
    register(page)
    start(page, "kiosk")
    assert page.inner_text("#chat-title") == "새 주문"
    say(page, "불고기버거 2개랑 콜라 주세요")
    page.wait_for_selector(".conv.active .conv-title:text('불고기버거 2개랑 콜라 주세요')")
    assert page.inner_text("#chat-title") == "불고기버거 2개랑 콜라 주세요"
    page.reload()
    page.wait_for_selector(".conv.active .conv-title:text('불고기버거 2개랑 콜라 주세요')")


# --- 10. presets


def test_new_chat_offers_presets_that_name_the_conversation_and_send_their_prompt(live, open_page):
    srv = live(providers={"scripted": ScriptedProvider([["Hola", delay(0.2), " means hello."]])})
    page = open_page(srv)
    register(page)
    page.click("#preset-toggle")
    page.click(".preset-new")
    page.fill("#preset-name", "Spanish tutor")
    page.fill("#preset-prompt", "Teach me one Spanish word")
    page.click("#preset-save")
    page.wait_for_selector(".preset-item[data-preset^=pre_]")
    screenshot(page, "desktop-en-presets")
    page.click("#preset-toggle")  # close
    page.click("#new-chat")  # with a preset saved, New chat offers it
    page.wait_for_selector("#preset-menu:not([hidden]) .preset-blank")
    page.click(".preset-item[data-preset^=pre_]")
    wait_answered(page, 1)
    assert page.inner_text("#chat-title") == "Spanish tutor"
    assert page.locator(".msg-user .plain").first.inner_text() == "Teach me one Spanish word"
    assert page.inner_text(".msg-assistant .markdown") == "Hola means hello."
    assert page.inner_text(".conv.active .conv-title") == "Spanish tutor"
    page.click("#new-chat")
    page.click(".preset-blank")
    page.wait_for_selector(".empty-chat")
    assert page.locator(".conv").count() == 2 and page.inner_text("#chat-title") == "New conversation"
    assert not page.errors


# --- screenshots in the three languages


@pytest.mark.parametrize("locale, lang", [("ko-KR", "ko"), ("en-US", "en"), ("zh-CN", "zh")])
def test_screenshots_in_three_languages(live, open_page, locale, lang):
    orders = {"ko": ["불고기버거 2개랑 콜라 주세요", "포장이요"], "en": ["two cheeseburgers and a large fries", "takeout please"],
              "zh": ["我要两个芝士汉堡和一杯可乐", "外带"]}
    srv = live(providers={"scripted": ScriptedProvider([])})
    for viewport, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = open_page(srv, viewport=viewport, locale=locale)
        register(page)
        if viewport is DESKTOP:
            page.wait_for_selector(".agent-card")
            screenshot(page, f"{name}-{lang}-welcome")
        start(page, "kiosk")
        for i, text in enumerate(orders[lang], 1):
            say(page, text)
            wait_answered(page, i)
        page.wait_for_selector(".order-line")
        page.wait_for_function("n => document.querySelectorAll('.order-line').length > 0", arg=1)
        if viewport is PHONE:
            page.evaluate("window.scrollTo(0, 0)")
        else:
            page.locator(".msg-assistant .actions-summary").first.click()  # one set of details open
        screenshot(page, f"{name}-{lang}-kiosk")
        assert page.get_attribute("html", "lang") == lang
        assert not page.errors
