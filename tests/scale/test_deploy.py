"""The deployment files, tested as far as this machine can without a Docker engine.

- compose.yaml and the Dockerfile: their structure and every file they name;
- deploy/install.sh (the image's install step): really run into a fresh virtual environment;
- deploy/nginx.conf: really run by nginx in front of a live server, for SSE and the WebSocket.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets.sync.client as ws_client
import yaml

from chatkiosk.llm.fake import ScriptedProvider, delay

from ..conftest import ON_CI, PASSWORD
from ..live import LiveServer, live_servers

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_compose_wires_workers_postgres_redis_nginx_and_vllm() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) >= {"postgres", "redis", "migrate", "chatkiosk", "nginx", "vllm"}
    assert "pgvector" in services["postgres"]["image"]
    app = services["chatkiosk"]
    assert app["build"] == "." and (ROOT / "Dockerfile").is_file()
    assert "--workers" in app["command"]
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"
    env = app["environment"]
    assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["CHATKIOSK_ENVIRONMENT"] == "production" and "CHATKIOSK_SECRET_KEY" in env
    assert services["migrate"]["command"] == ["chatkiosk", "db", "upgrade"]
    assert services["vllm"]["profiles"] == ["vllm"]  # optional: only with --profile vllm
    for volume in services["nginx"]["volumes"]:
        assert (ROOT / volume.split(":")[0]).is_file()
    # every ${…} interpolation is well formed (a typo there fails only at `docker compose up`)
    text = (ROOT / "compose.yaml").read_text()
    for ref in re.findall(r"\$\{([^}]*)\}", text):
        assert re.fullmatch(r"[A-Z_][A-Z0-9_]*((:?-|:\?)[^${}]*)?", ref), ref


def test_the_image_runs_as_a_user_and_uses_the_install_script() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any("deploy/install.sh" in line for line in lines if line.startswith("RUN"))
    for line in lines:
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source


def test_the_install_script_installs_a_working_server(tmp_path: Path) -> None:
    prefix = tmp_path / "venv"
    r = subprocess.run(["sh", str(ROOT / "deploy/install.sh"), str(prefix)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "chatkiosk installed" in r.stdout
    env = {**os.environ, "CHATKIOSK_DATA_DIR": str(tmp_path / "data"), "CHATKIOSK_ENVIRONMENT": "test"}
    env.pop("DATABASE_URL", None)
    up = subprocess.run([str(prefix / "bin/chatkiosk"), "db", "upgrade"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert up.returncode == 0, up.stderr
    add = subprocess.run([str(prefix / "bin/chatkiosk"), "user", "add", "alice", "--password-stdin"], input="a-long-passphrase\n",
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert add.returncode == 0, add.stderr
    # the installed copy, not this checkout, answered
    where = subprocess.run([str(prefix / "bin/python"), "-c", "import chatkiosk; print(chatkiosk.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert where.stdout.strip().startswith(str(prefix))


@pytest.fixture
def nginx_in_front(settings_factory: Callable[..., Any], tmp_path: Path) -> Iterator[tuple[str, LiveServer]]:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        message = "nginx is not installed (make test installs nginx-light as root)"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    llm = ScriptedProvider([["first", delay(1.5), " last"], ["over the socket"]])
    with live_servers(settings_factory) as start:
        server = start(providers={"scripted": llm})
        port = _free_port()
        conf = (ROOT / "deploy/nginx.conf").read_text()
        conf = conf.replace("server chatkiosk:8000;", f"server {server.base.removeprefix('http://')};")
        conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{port};")
        conf = conf.replace("access_log /dev/stdout;", f"access_log {tmp_path}/access.log;")
        conf = conf.replace("worker_processes auto;", "worker_processes 1;")
        # nginx's scratch folders inside the test's folder, not /var/lib/nginx
        temps = {"client_body": "body", "proxy": "proxy", "fastcgi": "fastcgi", "uwsgi": "uwsgi", "scgi": "scgi"}
        for folder in temps.values():
            (tmp_path / folder).mkdir()
        paths = " ".join(f"{kind}_temp_path {tmp_path}/{folder};" for kind, folder in temps.items())
        conf = conf.replace("http {", "http {\n    " + paths, 1)
        (tmp_path / "nginx.conf").write_text(conf)
        directives = f"daemon off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;"
        check = subprocess.run([binary, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", directives],
                               capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        proc = subprocess.Popen([binary, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", directives],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, (tmp_path / "error.log").read_text()
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}", server
        finally:
            proc.terminate()
            proc.wait(10)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_nginx_streams_sse_unbuffered_and_proxies_the_websocket(nginx_in_front: tuple[str, LiveServer]) -> None:
    base, server = nginx_in_front
    with httpx.Client(base_url=base, timeout=20) as http:
        http.post("/api/auth/register", json={"username": "through-nginx", "password": PASSWORD})
        token = http.post("/api/auth/login", json={"username": "through-nginx", "password": PASSWORD}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        conv = http.post("/api/conversations", headers=headers, json={"agent": "assistant"}).json()["id"]
        started = time.monotonic()
        first_delta_at = None
        with http.stream("POST", f"/api/conversations/{conv}/messages", headers=headers, json={"content": "hi", "stream": True}) as r:
            assert r.status_code == 200
            kind = ""
            for line in r.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "delta" and first_delta_at is None:
                    first_delta_at = time.monotonic() - started
                elif line.startswith("data: ") and kind == "done":
                    done = json.loads(line[6:])
        total = time.monotonic() - started
        # the first piece arrived while the answer was still being written (1.5 s pause after it)
        assert first_delta_at is not None and first_delta_at < 1.0 and total >= 1.5
        assert done["message"]["content"] == "first last"
    with ws_client.connect(base.replace("http", "ws") + "/api/ws", open_timeout=10) as ws:
        ws.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        ws.send(json.dumps({"type": "chat", "conversation_id": conv, "content": "again"}))
        while True:
            frame = json.loads(ws.recv(timeout=10))
            if frame["type"] == "done":
                break
    assert frame["message"]["content"] == "over the socket"
