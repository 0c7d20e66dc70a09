"""`chatkiosk chat`, the terminal client, run as a subprocess against a real server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from chatkiosk.llm.fake import ScriptedProvider, delay
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def backend() -> str:
    """The client only sees HTTP: SQLite is enough."""
    return "sqlite"


class Terminal:
    """The client process, with its output collected as it arrives."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        full_env = {k: v for k, v in os.environ.items() if k != "CHATKIOSK_API_KEY"}
        full_env.update({"PYTHONUNBUFFERED": "1", **(env or {})})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chatkiosk", "chat", *args], cwd=ROOT, env=full_env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8",
        )
        self.output = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            char = self.proc.stdout.read(1)
            if not char:
                return
            self.output += char

    def wait_for(self, text: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                stderr = self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr else ""
                raise AssertionError(f"{text!r} never came; output: {self.output!r} stderr: {stderr!r}")
            time.sleep(0.02)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def close(self, timeout: float = 15) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout)


def test_streams_answers_and_ctrl_c_stops_only_the_answer(live):
    llm = ScriptedProvider([["Once upon", delay(20), " a time"], ["Second", " answer"]])
    srv = live(providers={"scripted": llm})
    user = srv.signup()
    key = srv.http.post("/api/keys", json={"name": "term"}, headers=user.headers).json()["key"]
    term = Terminal("--url", srv.url, "--agent", "assistant", env={"CHATKIOSK_API_KEY": key})
    try:
        term.wait_for("you> ")
        assert "with assistant" in term.output
        term.send("tell me a story")
        term.wait_for("Once upon")  # streamed: the rest is 20 s away
        started = time.monotonic()
        term.proc.send_signal(signal.SIGINT)
        term.wait_for("[stopped]")
        term.wait_for("you> ", timeout=5)
        assert time.monotonic() - started < 3
        assert term.proc.poll() is None  # still running
        term.send("and another")
        term.wait_for("Second answer")
        assert term.close() == 0
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
    convs = srv.http.get("/api/conversations", headers=user.headers).json()["data"]
    history = srv.http.get(f"/api/conversations/{convs[0]['id']}/messages", headers=user.headers).json()["data"]
    assert [(m["content"], m["status"]) for m in history] == [
        ("Second answer", "complete"), ("and another", "complete"), ("Once upon", "cancelled"), ("tell me a story", "complete"),
    ]


def test_password_login_and_continuing_a_conversation(live):
    srv = live(providers={"scripted": ScriptedProvider([])})
    user = srv.signup()
    conv = srv.conversation(user, agent="kiosk")
    term = Terminal("--url", srv.url, "--user", user.username, "--conversation", conv)
    term.send(PASSWORD)  # not a terminal: the password is the first line of input
    term.wait_for("with kiosk")
    term.send("불고기버거 2개 주세요")
    term.wait_for("9,600")
    assert term.close() == 0
    order = srv.http.get(f"/api/conversations/{conv}/order", headers=user.headers).json()
    assert order["items"][0]["quantity"] == 2


@pytest.mark.parametrize("args, needle", [
    (["--api-key", "ck-wrong"], "not signed in"),
    (["--conversation", "nope"], "no such conversation"),
    (["--agent", "nobody"], "unknown agent"),
])
def test_errors_are_one_line(live, args, needle):
    srv = live()
    user = srv.signup()
    key = srv.http.post("/api/keys", json={"name": "term"}, headers=user.headers).json()["key"]
    env = {**os.environ, "CHATKIOSK_API_KEY": key}
    r = subprocess.run([sys.executable, "-m", "chatkiosk", "chat", "--url", srv.url, *args], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=30, input="")
    assert r.returncode != 0
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_unreachable_server_is_one_line():
    r = subprocess.run([sys.executable, "-m", "chatkiosk", "chat", "--url", "http://127.0.0.1:9", "--api-key", "ck-x"],
                       cwd=ROOT, capture_output=True, text=True, timeout=30, input="")
    assert r.returncode == 1
    assert r.stderr.strip().startswith("chatkiosk: cannot reach the server") and len(r.stderr.strip().splitlines()) == 1
