"""`chatkiosk chat` in a real pseudo-terminal: the "thinking…" line, titles, and one-line errors."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from chatkiosk.llm.fake import ScriptedProvider, delay

ROOT = Path(__file__).resolve().parents[2]
ENTRY = Path(sys.executable).with_name("chatkiosk")


@pytest.fixture
def backend() -> str:
    """The client only sees HTTP: SQLite is enough."""
    return "sqlite"


class Pty:
    """The terminal client on the slave side of a pty; everything it draws is kept, with times."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        full = {k: v for k, v in os.environ.items() if k != "CHATKIOSK_API_KEY"}
        full.update({"TERM": "xterm", **env})
        self.proc = subprocess.Popen([str(ENTRY), "chat", *args], stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=full,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.raw = b""
        self.chunks: list[tuple[float, bytes]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                if self.proc.poll() is not None:
                    return
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            self.chunks.append((time.monotonic(), data))
            self.raw += data

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", "replace")

    def wait_for(self, needle: str, timeout: float = 15) -> float:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} never came; screen: {self.text!r}")
            time.sleep(0.02)
        return time.monotonic()

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\r").encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            os.write(self.master, b"\x04")
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        os.close(self.master)


def test_thinking_shows_until_the_first_token_replaces_it(live):
    llm = ScriptedProvider([[delay(1.5), "Bulgogi ", "is beef."]])
    srv = live(providers={"scripted": llm})
    user = srv.signup()
    key = srv.http.post("/api/keys", json={"name": "pty"}, headers=user.headers).json()["key"]
    term = Pty("--url", srv.url, "--agent", "assistant", env={"CHATKIOSK_API_KEY": key})
    try:
        term.wait_for("you> ")
        term.type("What is bulgogi?")
        shown = term.wait_for("thinking…")
        answered = term.wait_for("Bulgogi is beef.")
        assert answered - shown > 0.8  # the line stood while the model worked
        after_question = term.text.split("What is bulgogi?", 1)[1]
        # The spinner turns (several frames), then is wiped (\r + erase line) right before the first token.
        frames = set(re.findall(r"\r\x1b\[2m(.) thinking…", after_question))
        assert len(frames) >= 3, after_question
        assert "\r\x1b[KBulgogi " in after_question
        assert "thinking…" not in after_question.split("\r\x1b[K", 1)[1]
        term.wait_for("you> ", timeout=5)
    finally:
        term.close()


def test_list_shows_conversation_titles(live):
    srv = live(providers={"scripted": ScriptedProvider(["Two burgers coming up."])})
    user = srv.signup()
    key = srv.http.post("/api/keys", json={"name": "pty"}, headers=user.headers).json()["key"]
    term = Pty("--url", srv.url, "--agent", "assistant", env={"CHATKIOSK_API_KEY": key})
    try:
        term.wait_for("you> ")
        term.type("두 개의 버거를 주문하고 싶어요")
        term.wait_for("Two burgers coming up.")
        term.type("/list")
        term.wait_for("assistant  두 개의 버거를 주문하고 싶어요")
    finally:
        term.close()
    conv = srv.http.get("/api/conversations", headers=user.headers).json()["data"][0]
    # Continuing it shows the title in the first line.
    term = Pty("--url", srv.url, "--conversation", conv["id"], env={"CHATKIOSK_API_KEY": key})
    try:
        term.wait_for(f'conversation {conv["id"]} "두 개의 버거를 주문하고 싶어요" with assistant')
    finally:
        term.close()


def test_no_password_on_stdin_says_so(live):
    srv = live()
    r = subprocess.run([str(ENTRY), "chat", "--url", srv.url, "--user", "nobody"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert r.returncode == 1
    assert r.stderr.strip() == "chatkiosk: no password for nobody: type it at the prompt, or give it as the first line of input"
