"""Drive a real Open WebUI in headless Chromium against chatkiosk, once (see README.md here).

    python drive.py --webui http://127.0.0.1:8080 --chatkiosk http://127.0.0.1:8000 \
                    --api-key ck-… --shots docs/images

It creates Open WebUI's admin account (or signs in), orders at the `kiosk` in two messages,
checks through chatkiosk's own API that the conversation Open WebUI's chat id is bound to holds
exactly that cart and only the customer's turns (no title/tag/follow-up prompts), presses
Regenerate → Try Again on the last answer and checks the cart did not change, then asks
`assistant` a question in a new chat and prints its answer. Screenshots go to
`<shots>/openwebui-*.png`. Exit status 0 when every check held, 1 otherwise.

Needs `playwright` (the Python package; no browser download: it runs Debian's Chromium) in the
same virtual environment as Open WebUI or any other — never in chatkiosk's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

ORDER = ("치즈버거 2개 주세요", "콜라 하나 추가요")
EXPECTED_CART = {"cheeseburger": 2, "cola": 1}
QUESTION = "What is 17 times 23?"


class Chatkiosk:
    """The few chatkiosk API reads the checks need, as the API key's user."""

    def __init__(self, url: str, api_key: str) -> None:
        self.url, self.api_key = url.rstrip("/"), api_key

    def get(self, path: str) -> Any:
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {self.api_key}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)

    def bound(self, chat_id: str) -> dict[str, Any] | None:
        """The conversation Open WebUI's chat `chat_id` is bound to (by X-OpenWebUI-Chat-Id)."""
        for conv in self.get("/api/conversations?limit=100")["data"]:
            if (conv.get("metadata") or {}).get("external_id") == chat_id:
                return conv
        return None

    def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        """The conversation's messages, oldest first."""
        return list(reversed(self.get(f"/api/conversations/{conversation_id}/messages?limit=100")["data"]))

    def cart(self, conversation_id: str) -> dict[str, int]:
        order = self.get(f"/api/conversations/{conversation_id}/order")
        return {line["item_id"]: line["quantity"] for line in order["items"]}


def shot(page: Page, shots: Path, name: str) -> Path:
    path = shots / f"openwebui-{name}.png"
    page.screenshot(path=str(path))
    print(f"  screenshot {path} ({path.stat().st_size // 1024} KB)")
    return path


def sign_in(page: Page, webui: str, email: str, password: str, shots: Path) -> None:
    """Create the admin account on a fresh Open WebUI, or sign in to an existing one."""
    page.goto(webui + "/auth", wait_until="load")
    start = page.get_by_text("Get started")
    start.or_(page.locator("input#email")).first.wait_for(timeout=60_000)
    if start.count():
        start.click()
    page.wait_for_selector("input#email")
    if page.locator("input#name").count():  # the first visit: the admin account form
        page.fill("#name", "Kiosk Admin")
        page.fill("#email", email)
        page.fill("#password", password)
        shot(page, shots, "1-admin")
        page.get_by_role("button", name="Create Admin Account").click()
    else:
        page.fill("#email", email)
        page.fill("#password", password)
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#chat-input", timeout=60_000)
    dismiss_notes(page)


def dismiss_notes(page: Page) -> None:
    """Close the "What's New" dialog a new account sees once."""
    page.wait_for_timeout(1500)
    ok = page.get_by_text("Okay, Let's Go!")
    if ok.count():
        ok.click()


def new_chat(page: Page, webui: str, model: str) -> None:
    page.goto(webui + "/", wait_until="load")
    page.wait_for_selector("#chat-input")
    dismiss_notes(page)
    page.click("#model-selector-model-button")
    page.click(f"button[aria-label='Select {model} model']")
    page.wait_for_selector(f"button[aria-label='Selected model: {model}']")


def send(page: Page, text: str) -> None:
    page.click("#chat-input")
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def chat_id(page: Page, timeout: float = 30) -> str:
    """Open WebUI's id of the open chat (its URL is /c/<id> once the first message is sent)."""
    deadline = time.monotonic() + timeout
    while "/c/" not in page.url:
        if time.monotonic() > deadline:
            raise TimeoutError("Open WebUI did not open a chat")
        page.wait_for_timeout(200)
    return page.url.rsplit("/c/", 1)[1].split("?")[0]


def settled(page: Page, timeout: float) -> None:
    """Wait until Open WebUI's own work after an answer (title, tags, follow-ups: more calls to
    the same model) is over; its Stop button shows until then."""
    try:
        page.locator("button[aria-label='Stop']").first.wait_for(state="hidden", timeout=timeout * 1000)
    except Exception:
        print("  (Open WebUI's Stop button still shows)")
    page.wait_for_timeout(500)


def answered(ck: Chatkiosk, page: Page, cid: str, turns: int, timeout: float) -> list[dict[str, Any]]:
    """Wait until chatkiosk has stored `turns` finished answers in the chat's conversation and
    the last one shows in the page; the stored messages."""
    deadline = time.monotonic() + timeout
    while True:
        conv = ck.bound(cid)
        msgs = ck.messages(conv["id"]) if conv else []
        done = [m for m in msgs if m["role"] == "assistant" and m["status"] != "streaming"]
        if len(done) >= turns:
            words = done[-1]["content"].split()[:3]
            try:
                page.wait_for_function(
                    "words => words.every(w => document.querySelector('#messages-container')?.innerText.includes(w))",
                    arg=words, timeout=15_000)
            except Exception:
                print(f"  (the answer's first words {words!r} did not show in the page)")
            settled(page, timeout)
            return msgs
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer {turns} in chat {cid} after {timeout:.0f}s (stored: {msgs})")
        page.wait_for_timeout(500)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--webui", default="http://127.0.0.1:8080")
    ap.add_argument("--chatkiosk", default="http://127.0.0.1:8000")
    ap.add_argument("--api-key", required=True, help="the chatkiosk key Open WebUI uses (OPENAI_API_KEY)")
    ap.add_argument("--email", default="admin@example.com")
    ap.add_argument("--password", default="owui-admin-pass-1")
    ap.add_argument("--shots", type=Path, default=Path("docs/images"))
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--timeout", type=float, default=300, help="seconds to wait for one answer")
    args = ap.parse_args(argv)
    args.shots.mkdir(parents=True, exist_ok=True)
    ck = Chatkiosk(args.chatkiosk, args.api_key)
    webui = args.webui.rstrip("/")
    failures: list[str] = []

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, headless=True)
        page = browser.new_page(viewport={"width": 1100, "height": 720}, locale="en-US")
        print("sign in")
        sign_in(page, webui, args.email, args.password, args.shots)

        print("kiosk: a two-message order")
        new_chat(page, webui, "kiosk")
        page.click("#model-selector-model-button")
        page.wait_for_timeout(500)
        shot(page, args.shots, "2-models")
        page.keyboard.press("Escape")
        send(page, ORDER[0])
        cid = chat_id(page)
        answered(ck, page, cid, 1, args.timeout)
        shot(page, args.shots, "3-kiosk-first")
        send(page, ORDER[1])
        answered(ck, page, cid, 2, args.timeout)
        shot(page, args.shots, "4-kiosk-cart")
        conv = ck.bound(cid)
        assert conv is not None
        msgs = ck.messages(conv["id"])
        cart = ck.cart(conv["id"])
        print(f"  Open WebUI chat {cid} -> chatkiosk {conv['id']} (title {conv['title']!r})")
        for m in msgs:
            print(f"    {m['role']:9} {m['status']:9} {m['content'][:100]!r}")
        print(f"  cart: {cart}")
        if cart != EXPECTED_CART:
            failures.append(f"cart {cart} != {EXPECTED_CART}")
        users = [m["content"] for m in msgs if m["role"] == "user"]
        if users != list(ORDER):
            failures.append(f"the stored customer messages are {users!r}, not the two of the order")
        if any(m["status"] != "complete" for m in msgs):
            failures.append("a stored message is not complete")

        print("kiosk: Regenerate -> Try Again on the last answer")
        page.locator("button[aria-label='Regenerate']").last.click()
        page.get_by_text("Try Again").click()
        page.wait_for_timeout(3000)
        settled(page, args.timeout)
        again = ck.cart(conv["id"])
        print(f"  cart: {again}, {len(ck.messages(conv['id']))} stored messages")
        shot(page, args.shots, "5-kiosk-regenerated")
        if again != EXPECTED_CART:
            failures.append(f"after Try Again the cart is {again}, not {EXPECTED_CART}")
        if len(ck.messages(conv["id"])) != len(msgs):
            failures.append("Try Again stored a new turn")

        print("assistant: a question in a new chat")
        new_chat(page, webui, "assistant")
        send(page, QUESTION)
        acid = chat_id(page)
        amsgs = answered(ck, page, acid, 1, args.timeout)
        shot(page, args.shots, "6-assistant")
        answer = next(m for m in reversed(amsgs) if m["role"] == "assistant")
        print(f"  answer ({answer['status']}): {answer['content']!r}")
        if answer["status"] != "complete" or not answer["content"].strip():
            failures.append(f"the assistant's answer is {answer['status']}: {answer['content']!r}")
        browser.close()

    for failure in failures:
        print("FAILED:", failure)
    print("ok" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
