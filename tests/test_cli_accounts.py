"""`chatkiosk user …`, `key …`, `db upgrade` and `serve`, run through the installed entry point."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from chatkiosk.auth.principals import CACHE_SECONDS

ENTRY = Path(sys.executable).with_name("chatkiosk")
PASSWORD = "very-secret-pass"
MIGRATIONS = len(list((Path(__file__).resolve().parents[1] / "chatkiosk" / "store" / "migrations" / "versions").glob("0*.py")))


def run(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "CHATKIOSK_DATA_DIR": str(tmp_path), "CHATKIOSK_ENVIRONMENT": "test", **env}
    if "DATABASE_URL" not in env:
        full.pop("DATABASE_URL", None)
    return subprocess.run([str(ENTRY), *args], input=stdin, capture_output=True, text=True, env=full, timeout=60)


def one_line_error(r: subprocess.CompletedProcess) -> str:
    assert r.returncode != 0, r.stdout
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    assert run(tmp_path, "db", "upgrade").returncode == 0
    return tmp_path


def test_db_upgrade_says_what_it_applied(tmp_path):
    first = run(tmp_path, "db", "upgrade")
    assert first.returncode == 0
    assert first.stdout.startswith(f"applied {MIGRATIONS} migrations (sqlite): 0001 initial schema, 0002 kiosk orders")
    versions = Path(__file__).resolve().parents[1] / "chatkiosk" / "store" / "migrations" / "versions"
    assert "0007 presets" in first.stdout
    assert all(f"{p.name[:4]} " in first.stdout for p in versions.glob("0*.py"))  # every one it applied, by name
    again = run(tmp_path, "db", "upgrade")
    assert again.stdout.strip() == "the database is up to date (sqlite); nothing to apply"


def test_user_list_passwd_disable(data):
    assert run(data, "user", "list").stdout.startswith("no users yet")
    assert run(data, "user", "add", "alice", stdin=PASSWORD + "\n").returncode == 0
    assert run(data, "user", "add", "bob", "--admin", stdin=PASSWORD + "\n").returncode == 0
    listing = run(data, "user", "list").stdout.splitlines()
    assert listing[0].split()[:3] == ["USERNAME", "ROLE", "STATE"]
    assert [line.split()[:3] for line in listing[1:]] == [["alice", "user", "active"], ["bob", "admin", "active"]]

    r = run(data, "user", "passwd", "alice", stdin="another-long-pass\n")
    assert r.returncode == 0 and "new password set for alice" in r.stdout
    assert "at least 8 characters" in one_line_error(run(data, "user", "passwd", "alice", stdin="short\n"))
    assert "no user named 'carol'" in one_line_error(run(data, "user", "passwd", "carol", stdin="another-long-pass\n"))

    r = run(data, "user", "disable", "alice")
    assert r.returncode == 0 and "disabled alice" in r.stdout
    assert [line.split()[2] for line in run(data, "user", "list").stdout.splitlines()[1:]] == ["disabled", "active"]
    assert run(data, "user", "disable", "alice", "--enable").returncode == 0
    assert run(data, "user", "list").stdout.splitlines()[1].split()[2] == "active"


def test_the_new_password_works_and_disable_stops_the_key(data, tmp_path):
    """Against a running server: passwd changes what signs in, disable refuses the user's API key."""
    assert run(data, "user", "add", "alice", stdin=PASSWORD + "\n").returncode == 0
    key = run(data, "key", "create", "alice").stdout.strip()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CHATKIOSK_DATA_DIR": str(data), "CHATKIOSK_ENVIRONMENT": "test", "CHATKIOSK_LOCAL_MODEL": "false"}
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen([str(ENTRY), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(base + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        me = lambda: httpx.get(base + "/api/auth/me", headers={"Authorization": f"Bearer {key}"}).status_code  # noqa: E731
        assert me() == 200
        assert run(data, "user", "passwd", "alice", stdin="another-long-pass\n").returncode == 0
        login = lambda pw: httpx.post(base + "/api/auth/login", json={"username": "alice", "password": pw}).status_code  # noqa: E731
        assert login(PASSWORD) == 401 and login("another-long-pass") == 200
        assert run(data, "user", "disable", "alice").returncode == 0
        # The CLI is another process and this server has no Redis to tell it: the server learns
        # of the disable when its short principal cache (auth/principals.py) expires.
        deadline = time.monotonic() + CACHE_SECONDS + 3
        while me() != 401 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert me() == 401
    finally:
        server.terminate()
        server.wait(10)


def test_key_list_and_revoke(data):
    assert run(data, "user", "add", "alice", stdin=PASSWORD + "\n").returncode == 0
    assert run(data, "key", "list", "alice").stdout.startswith("alice has no API keys")
    secret = run(data, "key", "create", "alice", "--name", "laptop").stdout.strip()
    rows = run(data, "key", "list", "alice").stdout.splitlines()
    assert rows[0].split() == ["ID", "NAME", "KEY", "CREATED", "LAST", "USED"]
    key_id, name, shown = rows[1].split()[:3]
    assert name == "laptop" and secret.startswith(shown.rstrip("…")) and secret not in rows[1]
    r = run(data, "key", "revoke", key_id)
    assert r.returncode == 0 and r.stdout.strip() == f"revoked {key_id}"
    assert run(data, "key", "list", "alice").stdout.startswith("alice has no API keys")
    assert "no live API key" in one_line_error(run(data, "key", "revoke", key_id))
    assert "no user named 'nobody'" in one_line_error(run(data, "key", "list", "nobody"))


@pytest.mark.parametrize("name, why", [
    ("ab", "3–32 letters"), ("has space", "3–32 letters"), ("x" * 33, "3–32 letters"), ("semi;colon", "3–32 letters"),
    ("Admin", "reserved"), ("root_1", "reserved"),
])
def test_user_add_follows_the_api_username_rules(data, name, why):
    line = one_line_error(run(data, "user", "add", name, stdin=PASSWORD + "\n"))
    assert line.startswith(f"chatkiosk: bad username {name!r}: ") and why in line
    assert run(data, "user", "list").stdout.startswith("no users yet")


def test_a_bad_email_is_refused_before_the_password(data):
    line = one_line_error(run(data, "user", "add", "carol", "--email", "not-an-address", stdin=PASSWORD + "\n"))
    assert line.startswith("chatkiosk: bad e-mail 'not-an-address'")


def test_setting_errors_name_the_setting(tmp_path):
    line = one_line_error(run(tmp_path, "db", "upgrade", CHATKIOSK_ENVIRONMENT="production"))
    assert line.startswith("chatkiosk: bad setting: CHATKIOSK_SECRET_KEY must be") and "Value error" not in line
    line = one_line_error(run(tmp_path, "db", "upgrade", CHATKIOSK_PORT="not-a-port"))
    assert line.startswith("chatkiosk: bad setting port (CHATKIOSK_PORT): ")


def test_an_unreachable_database_is_named(tmp_path):
    for args in (("db", "upgrade"), ("user", "list"), ("serve", "--port", "1")):
        line = one_line_error(run(tmp_path, *args, DATABASE_URL="postgresql://someone:hunter2@127.0.0.1:1/chatkiosk"))
        assert "the database could not be reached at postgresql+asyncpg://someone:***@127.0.0.1:1/chatkiosk" in line
        assert "hunter2" not in line


def test_a_taken_port_is_one_line(data):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line_error(run(data, "serve", "--port", str(port), CHATKIOSK_LOCAL_MODEL="false"))
    assert line == f"chatkiosk: port {port} on 127.0.0.1 is already in use (is another server running?); choose another with --port (make run PORT=...)"


def test_serve_migrate_prints_a_few_lines_a_person_reads(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CHATKIOSK_DATA_DIR": str(tmp_path), "CHATKIOSK_ENVIRONMENT": "test", "CHATKIOSK_LOCAL_MODEL": "false"}
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen([str(ENTRY), "serve", "--port", str(port), "--migrate", "--demo"], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
    finally:
        server.terminate()
        out, err = server.communicate(timeout=10)
    assert "alembic" not in out + err and "plugin" not in out + err and "Context impl" not in err
    assert [line for line in out.splitlines() if line.strip()] == [
        f"  applied {MIGRATIONS} database migrations",
        f"  chatkiosk is starting at http://127.0.0.1:{port}/",
        "  demo login: demo / kiosk-demo-2026",
    ]


def test_make_run_takes_port_and_host():
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run(["make", "-s", "-n", "run", "PORT=8123", "HOST=0.0.0.0"], cwd=root, capture_output=True, text=True, timeout=30,
                       env={k: v for k, v in os.environ.items() if k not in ("HOST", "PORT")})
    assert r.stdout.strip().splitlines()[-1].endswith("chatkiosk serve --demo --host 0.0.0.0 --port 8123")
    # A HOST exported by the shell (zsh sets it to the machine's name) is not taken for an address.
    r = subprocess.run(["make", "-s", "-n", "run"], cwd=root, capture_output=True, text=True, timeout=30, env={**os.environ, "HOST": "mybox"})
    assert "--host" not in r.stdout.strip().splitlines()[-1]
