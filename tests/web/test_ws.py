"""The WebSocket `/api/ws` (SPEC section 5; SECURITY 10 and 12), against a real server."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from chatkiosk.auth.tokens import TokenService
from chatkiosk.llm.fake import ScriptedProvider, delay
from tests.web.conftest import Live, User, frames_until


def is_done(frame: dict[str, Any]) -> bool:
    return frame["type"] in ("done", "error")


def open_socket(srv: Live, user: User | None = None, **kwargs: Any) -> Any:
    """Connect and, with a user, authenticate and read `ready` (deadlines for a busy shared
    machine: a 27-minute suite once took more than 10 s for one handshake)."""
    ws = connect(srv.ws_url, open_timeout=30, **kwargs)
    if user is not None:
        ws.send(json.dumps({"type": "auth", "token": user.access_token}))
        ready = json.loads(ws.recv(timeout=30))
        assert ready["type"] == "ready", ready
        assert ready["user"]["username"] == user.username
    return ws


def closed_with(ws: Any, timeout: float = 10) -> tuple[int | None, list[dict[str, Any]]]:
    """Read until the server closes; returns the close code and the frames read before it."""
    frames = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            frames.append(json.loads(ws.recv(timeout=deadline - time.monotonic())))
    except ConnectionClosed as exc:
        return (exc.rcvd.code if exc.rcvd else None), frames
    raise AssertionError(f"the socket stayed open; frames: {frames}")


# --- authentication


def test_first_frame_must_authenticate(live):
    srv = live()
    user = srv.signup()
    with open_socket(srv) as ws:
        ws.send(json.dumps({"type": "ping"}))
        code, frames = closed_with(ws)
    assert code == 4001
    assert frames[0]["type"] == "error" and frames[0]["error"]["type"] == "authentication_error"

    for bad in ("not-a-token", user.access_token + "x", user.refresh_token, "ck-nope"):
        with open_socket(srv) as ws:
            ws.send(json.dumps({"type": "auth", "token": bad}))
            code, frames = closed_with(ws)
        assert code == 4001 and frames[0]["error"]["type"] == "authentication_error", bad

    with open_socket(srv) as ws:
        ws.send("{not json")
        assert closed_with(ws)[0] == 4001


def test_expired_token_is_refused(live):
    srv = live()
    user = srv.signup()
    claims = jwt.decode(user.access_token, options={"verify_signature": False})
    expired_service = TokenService(srv.settings.jwt_secret(), access_ttl=-60, refresh_ttl=60)
    expired, _ = expired_service.issue(claims["sub"], claims["sid"], "access")
    with open_socket(srv) as ws:
        ws.send(json.dumps({"type": "auth", "token": expired}))
        code, frames = closed_with(ws)
    assert code == 4001 and frames[0]["error"]["code"] == "token_expired"


def test_auth_timeout_closes(live):
    srv = live(ws_auth_timeout=0.3)
    with open_socket(srv) as ws:
        code, frames = closed_with(ws, timeout=5)
    assert code == 4001 and frames[0]["error"]["code"] == "auth_timeout"


def test_token_in_url_is_refused(live):
    srv = live()
    user = srv.signup()
    for name in ("token", "access_token", "Token"):
        with pytest.raises(InvalidStatus) as info:
            connect(f"{srv.ws_url}?{name}={user.access_token}", open_timeout=10)
        assert info.value.response.status_code == 401
        assert b"token_in_url" in info.value.response.body


def test_api_key_authenticates(live):
    srv = live()
    user = srv.signup()
    key = srv.http.post("/api/keys", json={"name": "ws"}, headers=user.headers).json()["key"]
    with open_socket(srv) as ws:
        ws.send(json.dumps({"type": "auth", "token": key}))
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"


# --- Origin, size, idleness, socket count


def test_origin_is_checked(live):
    srv = live(cors_origins=["https://chat.example.com"])
    user = srv.signup()
    with pytest.raises(InvalidStatus) as info:
        connect(srv.ws_url, origin="https://evil.example.com", open_timeout=10)
    assert info.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        connect(srv.ws_url, origin="null", open_timeout=10)
    with open_socket(srv, user, origin=srv.url):  # the page itself
        pass
    with open_socket(srv, user, origin="https://chat.example.com"):  # configured
        pass


def test_oversized_frame_closes_with_1009(live):
    srv = live(max_body_bytes=2048)
    user = srv.signup()
    conv = srv.conversation(user)
    with open_socket(srv, user) as ws:
        ws.send(json.dumps({"type": "chat", "conversation_id": conv, "content": "x" * 5000}))
        code, _ = closed_with(ws)
    assert code == 1009


def test_idle_socket_is_closed_and_pings_keep_it_open(live):
    srv = live(ws_idle_timeout=0.6)
    user = srv.signup()
    with open_socket(srv, user) as ws:
        for _ in range(5):  # 1.5 s in all, more than twice the idle timeout
            time.sleep(0.3)
            ws.send(json.dumps({"type": "ping", "id": 7}))
            assert json.loads(ws.recv(timeout=5)) == {"type": "pong", "id": 7}
        code, frames = closed_with(ws, timeout=5)
    assert code == 1001 and frames[-1]["error"]["code"] == "idle_timeout"


def test_open_sockets_count_against_max_streams(live):
    srv = live(max_streams_per_user=2)
    user = srv.signup()
    with open_socket(srv, user), open_socket(srv, user):
        with open_socket(srv) as third:
            third.send(json.dumps({"type": "auth", "token": user.access_token}))
            code, frames = closed_with(third)
        assert code == 4029 and frames[0]["error"]["code"] == "too_many_sockets"
        assert frames[0]["retry_after"] >= 1
    with open_socket(srv, user):  # closing the others freed their places
        pass


# --- chat, cancel, ping, errors


def test_chat_streams_numbered_events(live):
    llm = ScriptedProvider([["Hel", delay(0.05), "lo ", "there"]])
    srv = live(providers={"scripted": llm})
    user = srv.signup()
    conv = srv.conversation(user)
    with open_socket(srv, user) as ws:
        ws.send(json.dumps({"type": "chat", "conversation_id": conv, "content": "hi", "options": {"temperature": 0.2}}))
        frames = frames_until(ws, is_done)
    assert [f["type"] for f in frames] == ["message", "delta", "delta", "delta", "done"]
    assert [f["seq"] for f in frames] == [1, 2, 3, 4, 5]
    assert all(f["conversation_id"] == conv for f in frames)
    assert frames[0]["message"]["role"] == "user" and frames[0]["message"]["content"] == "hi"
    assert "".join(f["text"] for f in frames if f["type"] == "delta") == "Hello there"
    assert frames[-1]["message"]["status"] == "complete" and frames[-1]["message"]["content"] == "Hello there"
    assert "total_tokens" in frames[-1]["usage"]
    history = srv.http.get(f"/api/conversations/{conv}/messages", headers=user.headers).json()["data"]
    assert [m["content"] for m in history] == ["Hello there", "hi"]


def test_cancel_stops_the_generation(live):
    llm = ScriptedProvider([["first ", delay(10), "never"]])
    srv = live(providers={"scripted": llm})
    user = srv.signup()
    conv = srv.conversation(user)
    with open_socket(srv, user) as ws:
        ws.send(json.dumps({"type": "chat", "conversation_id": conv, "content": "go"}))
        frames_until(ws, lambda f: f["type"] == "delta")
        started = time.monotonic()
        ws.send(json.dumps({"type": "cancel", "conversation_id": conv}))
        frames = frames_until(ws, is_done)
    assert time.monotonic() - started < 3
    assert {"type": "cancelled", "conversation_id": conv, "cancelled": True} in frames
    assert frames[-1]["type"] == "done" and frames[-1]["message"]["status"] == "cancelled"
    assert frames[-1]["message"]["content"] == "first "


def test_bad_frames_get_error_frames_and_the_socket_stays(live):
    srv = live(providers={"scripted": ScriptedProvider([])}, messages_per_window=1)
    user = srv.signup()
    conv = srv.conversation(user)
    with open_socket(srv, user) as ws:
        cases = [
            ("[1, 2]", "invalid_json"),
            ("{oops", "invalid_json"),
            (json.dumps({"type": "dance"}), "unknown_frame"),
            (json.dumps({"type": "chat", "conversation_id": conv}), "validation_error"),
            (json.dumps({"type": "chat", "conversation_id": conv, "content": "x", "options": {"temperature": 9}}), "validation_error"),
            (json.dumps({"type": "chat", "conversation_id": "nope", "content": "hi"}), "not_found"),
            (json.dumps({"type": "cancel", "conversation_id": "nope"}), "not_found"),
            (json.dumps({"type": "auth", "token": user.access_token}), "already_authenticated"),
        ]
        for raw, code in cases:
            ws.send(raw)
            frame = json.loads(ws.recv(timeout=10))
            assert frame["type"] == "error" and frame["error"]["code"] == code, (raw, frame)
            assert set(frame["error"]) == {"type", "code", "message", "param"}
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}


def test_rate_limit_error_carries_retry_after(live):
    llm = ScriptedProvider(["one"])
    srv = live(providers={"scripted": llm}, messages_per_window=1, message_window=60)
    user = srv.signup()
    conv = srv.conversation(user)
    with open_socket(srv, user) as ws:
        ws.send(json.dumps({"type": "chat", "conversation_id": conv, "content": "a"}))
        frames_until(ws, is_done)
        ws.send(json.dumps({"type": "chat", "conversation_id": conv, "content": "b"}))
        frame = json.loads(ws.recv(timeout=10))
    assert frame["type"] == "error" and frame["status"] == 429 and frame["retry_after"] >= 1
    assert frame["conversation_id"] == conv and "seq" not in frame


# --- revocation (SECURITY 10) and ownership (SECURITY 12)


def test_single_login_kicks_the_older_socket(live):
    srv = live(single_login=True)
    first = srv.signup()
    with open_socket(srv, first) as ws:
        second = srv.login(first.username)
        code, frames = closed_with(ws)
    assert code == 4001
    assert frames == [{"type": "revoked", "reason": "replaced"}]
    assert srv.http.get("/api/auth/me", headers=first.headers).status_code == 401
    with open_socket(srv, second):
        pass


def test_logout_kicks_the_socket_and_cancels_its_answer(live):
    llm = ScriptedProvider([["partial", delay(10), "never"]])
    srv = live(providers={"scripted": llm})
    user = srv.signup()
    conv = srv.conversation(user)
    with open_socket(srv, user) as ws:
        ws.send(json.dumps({"type": "chat", "conversation_id": conv, "content": "go"}))
        frames_until(ws, lambda f: f["type"] == "delta")
        assert srv.http.post("/api/auth/logout", headers=user.headers).status_code == 204
        code, frames = closed_with(ws)
    assert code == 4001 and frames[-1] == {"type": "revoked", "reason": "logout"}
    other = srv.signup()
    assert srv.http.get(f"/api/conversations/{conv}", headers=other.headers).status_code == 404
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        again = srv.login(user.username)
        statuses = [m["status"] for m in srv.http.get(f"/api/conversations/{conv}/messages", headers=again.headers).json()["data"]]
        if statuses[0] == "cancelled":
            break
        time.sleep(0.1)
    assert statuses[0] == "cancelled"


def test_other_user_cannot_cancel_via_websocket(live):
    llm = ScriptedProvider([["a", delay(0.8), "b"]])
    srv = live(providers={"scripted": llm})
    alice, bob = srv.signup(), srv.signup()
    conv = srv.conversation(alice)
    with open_socket(srv, alice) as wa, open_socket(srv, bob) as wb:
        wa.send(json.dumps({"type": "chat", "conversation_id": conv, "content": "go"}))
        frames_until(wa, lambda f: f["type"] == "delta")
        wb.send(json.dumps({"type": "cancel", "conversation_id": conv}))
        refused = json.loads(wb.recv(timeout=10))
        wb.send(json.dumps({"type": "chat", "conversation_id": conv, "content": "mine now"}))
        refused_chat = json.loads(wb.recv(timeout=10))
        frames = frames_until(wa, is_done)
    assert refused["type"] == "error" and refused["error"]["code"] == "not_found" and refused["status"] == 404
    assert refused_chat["error"]["code"] == "not_found"
    assert frames[-1]["message"]["status"] == "complete" and frames[-1]["message"]["content"] == "ab"
    history = srv.http.get(f"/api/conversations/{conv}/messages", headers=alice.headers).json()["data"]
    assert [m["content"] for m in history] == ["ab", "go"]


def test_revocation_on_another_worker_kicks_the_socket(live, backend):
    if backend != "postgres":
        pytest.skip("workers share revocations through Redis")
    one = live(single_login=True)
    two = live(single_login=True)  # a second worker: same database, same Redis
    user = one.signup()
    with open_socket(one, user) as ws:
        two.login(user.username)
        code, frames = closed_with(ws)
    assert code == 4001 and frames == [{"type": "revoked", "reason": "replaced"}]


def test_deep_or_invalid_text_frames_get_error_frames_and_the_socket_stays(live):
    """Issue 13 items 2 and 3: 1,000 nested arrays or a lone surrogate in a frame."""
    srv = live(providers={"scripted": ScriptedProvider([])})
    user = srv.signup()
    conv = srv.conversation(user)
    with open_socket(srv, user) as ws:
        deep_chat = '{"type": "chat", "conversation_id": "%s", "content": "hi", "options": %s}' % (conv, "[" * 1000 + "]" * 1000)
        for raw, code in [
            ("[" * 1000 + "]" * 1000, "invalid_json"),
            (deep_chat, "invalid_json"),
            ('{"type": "chat", "conversation_id": "%s", "content": "hi \\ud800"}' % conv, "invalid_unicode"),
        ]:
            ws.send(raw)
            frame = json.loads(ws.recv(timeout=10))
            assert frame["type"] == "error" and frame["error"]["code"] == code, frame
            assert frame["status"] in (400, 422)
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}
    r = srv.http.get(f"/api/conversations/{conv}/messages", headers=user.headers)
    assert r.json()["data"] == []  # nothing was stored
    with open_socket(srv) as ws:
        ws.send("[" * 5000)  # the auth frame: a clean refusal with a close frame, not a dead socket
        assert closed_with(ws)[0] == 4001
