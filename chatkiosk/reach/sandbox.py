"""Run a Python snippet inside a bubblewrap sandbox, within hard limits.

The snippet runs as an unprivileged user in new namespaces (no network, its own PIDs), sees a
read-only /usr and a private, size-limited /tmp — not the server's files, its data directory or
its environment — and is held to CPU time, wall time, memory, process and output limits. When
the sandbox cannot start, `Sandbox.problem()` says why and the tool is not offered: nothing
ever runs unsandboxed.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass

MAX_CODE_CHARS = 20_000
_CPU_KILLED = {-9, -24, 128 + 9, 128 + 24}  # SIGKILL / SIGXCPU, direct or as bwrap's exit status
_UID_BASE = 200_000  # per-run user ids (no passwd entry needed) so process limits are per run
_uids = itertools.cycle(range(_UID_BASE, _UID_BASE + 50_000))


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """The bounds of one run."""

    cpu_seconds: int = 5
    wall_seconds: float = 10.0
    memory_mb: int = 256
    processes: int = 16
    output_bytes: int = 64_000
    tmp_mb: int = 16


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a run produced and how it ended."""

    stdout: str
    stderr: str
    exit_status: int  # the process's exit code; negative: killed by that signal
    duration_ms: int
    limit: str | None = None  # "wall_time", "cpu_time", "memory", "output" when a limit ended it

    def as_dict(self) -> dict[str, object]:
        return {"stdout": self.stdout, "stderr": self.stderr, "exit_status": self.exit_status,
                "duration_ms": self.duration_ms, "limit": self.limit}


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "sbin"):
        path = f"/{name}"
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


class Sandbox:
    """`await sandbox.run(code)` → RunResult. One instance per server; runs may overlap."""

    def __init__(self, limits: SandboxLimits | None = None, *, python: str = "/usr/bin/python3", bwrap: str | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self.python = python
        self.bwrap = bwrap or shutil.which("bwrap") or "/usr/bin/bwrap"
        self._problem: str | None = None
        self._probed = False

    def _command(self) -> list[str]:
        lim = self.limits
        return [
            self.bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--hostname", "sandbox", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp",
            "--setenv", "LANG", "C.UTF-8", "--setenv", "PYTHONIOENCODING", "utf-8", "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
            *_system_binds(), "--proc", "/proc", "--dev", "/dev",
            "--size", str(lim.tmp_mb * 1024 * 1024), "--tmpfs", "/tmp", "--chdir", "/tmp",
            self.python, "-I", "-",
        ]

    def _limit_child(self, uid: int) -> None:
        """Runs in the child between fork and exec: rlimits, then drop to the run's own user."""
        lim = self.limits
        resource.setrlimit(resource.RLIMIT_CPU, (lim.cpu_seconds, lim.cpu_seconds + 1))
        memory = lim.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (lim.tmp_mb * 1024 * 1024, lim.tmp_mb * 1024 * 1024))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if os.getuid() == 0:
            resource.setrlimit(resource.RLIMIT_NPROC, (lim.processes, lim.processes))
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        else:  # the server's own user: count its processes too
            resource.setrlimit(resource.RLIMIT_NPROC, (lim.processes + _own_processes(), lim.processes + _own_processes()))

    def problem(self) -> str | None:
        """Why the sandbox cannot run here (None when it can): probed once, by really starting it."""
        if not self._probed:
            self._probed = True
            if not os.path.exists(self.bwrap):
                self._problem = "bubblewrap (bwrap) is not installed"
            elif not os.path.exists(self.python):
                self._problem = f"the sandbox's Python ({self.python}) is not installed"
            else:
                uid = next(_uids)
                try:
                    probe = subprocess.run(self._command(), input=b"print(6 * 7)", capture_output=True, timeout=20, env={},
                                           preexec_fn=lambda: self._limit_child(uid), start_new_session=True)
                    if probe.stdout.strip() != b"42":
                        detail = (probe.stderr or probe.stdout).decode("utf-8", "replace").strip()[:200]
                        self._problem = f"the sandbox does not start here: {detail or 'no output'}"
                except (OSError, subprocess.SubprocessError) as exc:
                    self._problem = f"the sandbox does not start here: {exc}"
        return self._problem

    async def run(self, code: str) -> RunResult:
        """Run the snippet; refuses (RuntimeError) when the sandbox cannot run here."""
        reason = self.problem()
        if reason is not None:
            raise RuntimeError(reason)
        return await self._run(code)

    async def _run(self, code: str) -> RunResult:
        lim = self.limits
        uid = next(_uids)
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *self._command(), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, preexec_fn=lambda: self._limit_child(uid), env={}, start_new_session=True,
        )
        assert proc.stdin and proc.stdout and proc.stderr
        proc.stdin.write(code.encode("utf-8", "replace"))
        proc.stdin.close()
        out, err = bytearray(), bytearray()
        limit: str | None = None

        async def pump(stream: asyncio.StreamReader, into: bytearray) -> None:
            nonlocal limit
            while chunk := await stream.read(65536):
                if len(into) >= lim.output_bytes:
                    continue  # over the limit: the process is being killed; drain the pipe to its end
                into += chunk
                if len(into) > lim.output_bytes:
                    del into[lim.output_bytes:]
                    limit = limit or "output"
                    proc.kill()

        try:
            async with asyncio.timeout(lim.wall_seconds):
                await asyncio.gather(pump(proc.stdout, out), pump(proc.stderr, err))
                status = await proc.wait()
        except TimeoutError:
            limit = "wall_time"
            proc.kill()
            await proc.communicate()  # drain and close the pipes, then reap
            status = proc.returncode if proc.returncode is not None else -9
        except BaseException:
            proc.kill()
            await proc.communicate()
            raise
        if limit is None and status in _CPU_KILLED:
            limit = "cpu_time"  # SIGXCPU at RLIMIT_CPU (or SIGKILL at its hard limit), as bwrap reports it
        elif limit is None and b"MemoryError" in err:
            limit = "memory"
        duration = int((time.perf_counter() - started) * 1000)
        return RunResult(out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), status, duration, limit)


def _own_processes() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                continue
    return count
