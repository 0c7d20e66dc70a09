"""run_code's sandbox, attacked: each limit and each wall is tried for real."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest

from chatkiosk.config import Settings
from chatkiosk.reach.sandbox import Sandbox, SandboxLimits
from chatkiosk.reach.setup import build_reach

from .conftest import require_bwrap


@pytest.fixture
def sandbox() -> Sandbox:
    require_bwrap()
    box = Sandbox(SandboxLimits(cpu_seconds=2, wall_seconds=4, memory_mb=256, processes=16, output_bytes=10_000))
    assert box.problem() is None, box.problem()
    return box


async def test_a_snippet_runs_and_reports_its_output(sandbox: Sandbox) -> None:
    result = await sandbox.run("import sys\nprint(sum(range(101)))\nprint('warn', file=sys.stderr)\nsys.exit(3)")
    assert (result.stdout, result.stderr.strip(), result.exit_status, result.limit) == ("5050\n", "warn", 3, None)
    assert 0 <= result.duration_ms < 4000


async def test_there_is_no_network(sandbox: Sandbox) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    code = f"""
import socket
for host in ("127.0.0.1", "1.1.1.1"):
    try:
        socket.create_connection((host, {port}), timeout=2)
        print("connected", host)
    except OSError as exc:
        print("refused", host, exc.errno)
"""
    result = await sandbox.run(code)
    assert "connected" not in result.stdout and result.stdout.count("refused") == 2
    with pytest.raises(TimeoutError):
        listener.accept()  # nothing reached the host's loopback
    listener.close()


async def test_the_servers_files_and_environment_are_out_of_sight(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "data" / "secret_key"
    secret.parent.mkdir()
    secret.write_text("top-secret")
    monkeypatch.setenv("CHATKIOSK_SECRET_KEY", "env-secret-value")
    code = f"""
import os
for path in ({str(secret)!r}, {str(Path.cwd())!r}, "/etc/passwd", "/root", "/work", "/home"):
    print(path, os.path.exists(path))
print("env", sorted(os.environ))
print("root", sorted(os.listdir("/")))
try:
    open("/usr/evil", "w")
except OSError as exc:
    print("readonly", exc.errno)
"""
    result = await sandbox.run(code)
    assert result.exit_status == 0, result.stderr
    for line in result.stdout.splitlines()[:6]:
        assert line.endswith(" False"), line
    assert "CHATKIOSK_SECRET_KEY" not in result.stdout and "env-secret-value" not in result.stdout
    assert "root ['bin', 'dev', 'lib', 'lib64', 'proc', 'sbin', 'tmp', 'usr']" in result.stdout
    assert "readonly 30" in result.stdout  # EROFS


async def test_tmp_is_private_to_each_run(sandbox: Sandbox) -> None:
    await sandbox.run("open('/tmp/left-behind', 'w').write('x')")
    result = await sandbox.run("import os; print(os.listdir('/tmp'))")
    assert result.stdout.strip() == "[]"


async def test_cpu_time_is_limited(sandbox: Sandbox) -> None:
    # a generous wall limit: on a busy machine one CPU second can take several wall seconds
    box = Sandbox(SandboxLimits(cpu_seconds=1, wall_seconds=30))
    result = await box.run("while True:\n    pass")
    assert result.limit == "cpu_time" and result.exit_status != 0  # the CPU limit, not the wall limit, ended it


async def test_wall_time_is_limited(sandbox: Sandbox) -> None:
    result = await sandbox.run("import time\ntime.sleep(60)")
    assert result.limit == "wall_time"
    assert 3900 <= result.duration_ms < 6000


async def test_memory_is_limited(sandbox: Sandbox) -> None:
    result = await sandbox.run("blob = bytearray(1024 * 1024 * 1024)\nprint('allocated')")
    assert "allocated" not in result.stdout and result.limit == "memory" and "MemoryError" in result.stderr


async def test_a_fork_bomb_is_contained(sandbox: Sandbox) -> None:
    code = """
import os
children = 0
try:
    while True:
        if os.fork() == 0:
            import time; time.sleep(60); os._exit(0)
        children += 1
except OSError:
    print("stopped at", children)
"""
    result = await sandbox.run(code)
    assert "stopped at" in result.stdout
    assert int(result.stdout.split("stopped at")[1].split()[0]) < 16
    # the children sleep for a minute, yet none is left on the host soon after the run is over
    # (the sandbox's PID namespace dies with its first process)
    deadline = time.monotonic() + 3
    while (leftovers := _sandbox_processes()) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert leftovers == []


def _sandbox_processes() -> list[str]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid >= 200_000 and "Z" not in Path(entry.path, "stat").read_text().split()[2]:
                    found.append(entry.name)
            except OSError:
                pass
    return found


async def test_output_is_limited(sandbox: Sandbox) -> None:
    result = await sandbox.run("print('x' * 1_000_000)")
    assert result.limit == "output" and len(result.stdout) <= 10_000


def test_without_a_sandbox_the_tool_is_not_offered(tmp_path: Path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path, run_code_agents=["assistant"], run_code_python="/nonexistent/python3")
    reach = build_reach(settings)
    assert "run_code" not in [t.name for t in reach.tools.get("assistant", [])]
    assert reach.problems and "not offered" in reach.problems[0]


async def test_an_unavailable_sandbox_refuses_to_run(tmp_path: Path) -> None:
    box = Sandbox(bwrap=str(tmp_path / "no-bwrap"))
    assert box.problem() == "bubblewrap (bwrap) is not installed"
    with pytest.raises(RuntimeError, match="bubblewrap"):
        await box.run("print('never unsandboxed')")
