"""The `chatkiosk` command, run as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys


def run(tmp_path, *args, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "CHATKIOSK_DATA_DIR": str(tmp_path), "CHATKIOSK_ENVIRONMENT": "test"}
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "chatkiosk", *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)


def test_upgrade_add_user_and_key(tmp_path):
    assert run(tmp_path, "db", "upgrade").returncode == 0
    r = run(tmp_path, "user", "add", "ops-lead", "--admin", stdin="very-secret-pass\n")
    assert r.returncode == 0 and "created admin ops-lead" in r.stdout
    r = run(tmp_path, "key", "create", "ops-lead")
    assert r.returncode == 0 and r.stdout.strip().startswith("ck-")


def test_errors_are_one_line_without_traceback(tmp_path):
    run(tmp_path, "db", "upgrade")
    for args, stdin in ((("user", "add", "x1x", "--password-stdin"), "short\n"), (("key", "create", "nobody"), "")):
        r = run(tmp_path, *args, stdin=stdin)
        assert r.returncode != 0
        assert "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_user_add_refuses_reserved_names(tmp_path):
    """Issue 13 item 16: the CLI shares registration's username rule."""
    run(tmp_path, "db", "upgrade")
    r = run(tmp_path, "user", "add", "root", "--admin", stdin="very-secret-pass\n")
    assert r.returncode != 0 and "reserved" in r.stderr and "Traceback" not in r.stderr


def test_bad_setting_is_one_line(tmp_path):
    env = {**os.environ, "CHATKIOSK_DATA_DIR": str(tmp_path), "CHATKIOSK_PORT": "not-a-port"}
    r = subprocess.run([sys.executable, "-m", "chatkiosk", "db", "upgrade"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "port" in r.stderr
