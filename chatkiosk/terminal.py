"""`chatkiosk chat`: a terminal client that streams answers from a running server.

It speaks the public HTTP API only (server-sent events), so it works against any chatkiosk
server it can reach. Ctrl-C while an answer is being written stops that answer (and the
server stops generating it); Ctrl-C or Ctrl-D at the prompt quits.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import httpx

from chatkiosk.errors import ChatkioskError

PROMPT = "you> "
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class Thinking:
    """A "⠋ thinking…" line while the model works, wiped by the first token (terminals only)."""

    def __init__(self, out: TextIO, every: float = 0.1) -> None:
        self.out = out
        self.every = every
        self._shown = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Show the line and keep it turning (nothing when the output is not a terminal)."""
        if not (hasattr(self.out, "isatty") and self.out.isatty()):
            return
        self._shown = True
        self._draw(0)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _draw(self, frame: int) -> None:
        with self._lock:
            if self._shown:
                self.out.write(f"\r\x1b[2m{SPINNER[frame % len(SPINNER)]} thinking…\x1b[0m")
                self.out.flush()

    def _spin(self) -> None:
        frame = 1
        while not self._stop.wait(self.every):
            self._draw(frame)
            frame += 1

    def stop(self) -> None:
        """Wipe the line; what comes next is written where it stood."""
        self._stop.set()
        with self._lock:
            if self._shown:
                self._shown = False
                self.out.write("\r\x1b[K")
                self.out.flush()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(1)


class ClientError(ChatkioskError):
    """A problem the person at the terminal can act on; printed as one line."""


@dataclass
class Session:
    """An authenticated connection to a server: an API key, or a login with a refresh token."""

    client: httpx.Client
    token: str
    refresh_token: str | None = None

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; a 401 with a login is retried once after refreshing the tokens."""
        response = self._send(method, path, **kwargs)
        if response.status_code == 401 and self.refresh_token:
            self._refresh()
            response = self._send(method, path, **kwargs)
        return response

    def stream(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.stream(method, path, headers=self._headers(), **kwargs)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, path, headers=self._headers(), **kwargs)

    def _refresh(self) -> None:
        response = self.client.post("/api/auth/refresh", json={"refresh_token": self.refresh_token})
        body = _checked(response)
        self.token, self.refresh_token = body["access_token"], body["refresh_token"]


def _error_line(response: httpx.Response) -> str:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = f"the server answered {response.status_code}"
    if response.status_code == 429 and response.headers.get("Retry-After"):
        message += f" (retry in {response.headers['Retry-After']} s)"
    if response.status_code == 401:
        message = f"not signed in: {message}"
    return message


def _checked(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise ClientError(_error_line(response))
    return response.json() if response.content else None


def sign_in(client: httpx.Client, api_key: str | None, user: str | None, stdin: TextIO) -> Session:
    """An API key is used as it is; a user name signs in with a password (prompted, or a line of stdin)."""
    if api_key:
        session = Session(client, api_key)
        _checked(session.request("GET", "/api/auth/me"))
        return session
    if not user:
        raise ClientError("give --api-key (or set CHATKIOSK_API_KEY) or --user NAME")
    password = getpass.getpass(f"password for {user}: ") if stdin.isatty() else stdin.readline().rstrip("\n")
    if not password:
        raise ClientError(f"no password for {user}: type it at the prompt, or give it as the first line of input")
    body = _checked(client.post("/api/auth/login", json={"username": user, "password": password}))
    return Session(client, body["access_token"], body["refresh_token"])


def open_conversation(session: Session, conversation_id: str | None, agent: str | None) -> dict[str, Any]:
    """The conversation to continue, or a new one with `agent`."""
    if conversation_id:
        return _checked(session.request("GET", f"/api/conversations/{conversation_id}"))
    return _checked(session.request("POST", "/api/conversations", json={"agent": agent or "assistant"}))


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Server-sent events as (type, data); heartbeat comments skipped."""
    kind, data = None, ""
    for line in lines:
        if not line:
            if kind:
                yield kind, json.loads(data or "{}")
            kind, data = None, ""
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()


def turn(session: Session, conversation_id: str, content: str, out: TextIO) -> str:
    """Send one message and print the answer as it streams; returns the final status."""
    path = f"/api/conversations/{conversation_id}/messages"
    status = "error"
    waiting = Thinking(out)
    try:
        with session.stream("POST", path, json={"content": content, "stream": True}) as response:
            if response.status_code == 401 and session.refresh_token:
                response.read()
                session._refresh()
                return turn(session, conversation_id, content, out)
            if response.status_code >= 400:
                response.read()
                raise ClientError(_error_line(response))
            waiting.start()
            for kind, data in _events(response.iter_lines()):
                if kind == "delta":
                    waiting.stop()
                    out.write(data.get("text", ""))
                    out.flush()
                elif kind == "tool_call":
                    waiting.stop()
                    out.write(f"[{data.get('name')}] ")
                    out.flush()
                elif kind == "error":
                    waiting.stop()
                    out.write(f"\nerror: {data.get('error', {}).get('message', 'the answer failed')}")
                elif kind == "done":
                    waiting.stop()
                    status = data.get("message", {}).get("status", "complete")
    except KeyboardInterrupt:
        waiting.stop()
        session.request("POST", f"/api/conversations/{conversation_id}/cancel")
        out.write("\n[stopped]\n")
        out.flush()
        return "cancelled"
    finally:
        waiting.stop()
    if status == "cancelled":
        out.write("\n[stopped]")
    elif status == "incomplete":
        out.write("\n[the answer was cut off]")
    out.write("\n")
    out.flush()
    return status


def list_conversations(session: Session, out: TextIO, limit: int = 20) -> None:
    """`/list`: your latest conversations with their titles, newest first."""
    page = _checked(session.request("GET", f"/api/conversations?limit={limit}"))
    for conv in page["data"]:
        out.write(f"  {conv['id']}  {conv['agent']:<10} {conv['title'] or '(untitled)'}\n")
    if not page["data"]:
        out.write("  no conversations yet\n")
    out.flush()


def _prompt(stdin: TextIO, out: TextIO) -> str:
    """One line from the person ('' at end of input); line editing when it is a terminal."""
    if stdin is sys.stdin and stdin.isatty():
        try:
            return input(PROMPT) + "\n"
        except EOFError:
            return ""
    out.write(PROMPT)
    out.flush()
    return stdin.readline()


def run(url: str, api_key: str | None, user: str | None, conversation_id: str | None, agent: str | None,
        stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """The interactive loop; returns the exit status."""
    api_key = api_key or os.environ.get("CHATKIOSK_API_KEY") or None
    timeout = httpx.Timeout(30.0, read=None)  # an answer may take its time; heartbeats keep it alive
    try:
        with httpx.Client(base_url=url.rstrip("/"), timeout=timeout) as client:
            session = sign_in(client, api_key, user, stdin)
            conv = open_conversation(session, conversation_id, agent)
            title = f" \"{conv['title']}\"" if conv.get("title") else ""
            out.write(f"conversation {conv['id']}{title} with {conv['agent']} — Ctrl-C stops an answer, Ctrl-D quits\n")
            out.flush()
            while True:
                try:
                    line = _prompt(stdin, out)
                except KeyboardInterrupt:
                    out.write("\n")
                    return 0
                if not line:  # Ctrl-D / end of input
                    out.write("\n")
                    return 0
                text = line.strip()
                if text in ("/quit", "/exit"):
                    return 0
                if text == "/list":
                    list_conversations(session, out)
                    continue
                if not text:
                    continue
                try:
                    turn(session, conv["id"], text, out)
                except ClientError as exc:
                    out.write(f"error: {exc.message}\n")
                    out.flush()
    except httpx.TransportError as exc:
        raise ClientError(f"cannot reach the server at {url} ({type(exc).__name__})") from None
