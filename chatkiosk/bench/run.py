"""Drive a bench plan: start the users over the ramp-up, show progress, gather the figures."""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from typing import Any, TextIO

import httpx

from chatkiosk.bench.plan import BenchPlan
from chatkiosk.bench.report import Tally, rss_kib, server_pids
from chatkiosk.bench.users import VirtualUser
from chatkiosk.errors import UserError


class _Run:
    def __init__(self, plan: BenchPlan, progress: TextIO | None) -> None:
        self.plan = plan
        self.progress = progress
        self.tally = Tally()
        self.issued = 0
        self.started_users = 0
        self.ready_users = 0
        self.phase = "signing up"
        self.t0 = 0.0
        self.last_done = 0.0
        self.stopping = asyncio.Event()

    def _may_send(self) -> bool:
        if self.stopping.is_set():
            return False
        if self.plan.turns is not None and self.issued >= self.plan.turns:
            return False
        if self.plan.duration is not None and time.perf_counter() - self.t0 >= self.plan.duration:
            return False
        self.issued += 1
        return True

    async def _prepare(self, index: int, http: httpx.AsyncClient, run_id: str, gate: asyncio.Semaphore) -> VirtualUser | None:
        """Sign one user up and open its conversation (a few at a time: sign-up is argon2 work)."""
        user = VirtualUser(self.plan, index, http, run_id)
        async with gate:
            try:
                await user.prepare()
            except Exception as exc:  # a user that cannot start is a figure, not a crash
                self.tally.setup_errors[str(exc)[:80] or type(exc).__name__] += 1
                return None
        self.ready_users += 1
        return user

    async def _user(self, index: int, user: VirtualUser) -> None:
        plan = self.plan
        await asyncio.sleep(plan.ramp_up * index / plan.users)
        if self.stopping.is_set():
            return
        self.started_users += 1
        try:
            while self._may_send():
                self.tally.add(await user.turn())
                self.last_done = time.perf_counter()
                if plan.think:
                    await asyncio.sleep(plan.think)
        finally:
            await user.close()

    async def _show(self) -> None:
        tty = self.progress is not None and self.progress.isatty()
        every = 1.0 if tty else 5.0
        while True:
            await asyncio.sleep(every)
            if self.progress is None:
                continue
            elapsed = time.perf_counter() - self.t0
            t = self.tally
            if self.phase != "load":
                line = f"signing up: {self.ready_users}/{self.plan.users} users ready"
                self.progress.write(("\r" + line) if tty else (line + "\n"))
                self.progress.flush()
                continue
            line = (
                f"{elapsed:6.1f} s  users {self.started_users}/{self.plan.users}  turns {len(t.samples)}"
                f"  ok {t.ok}  errors {sum(t.errors.values())}  {t.ok / elapsed if elapsed else 0:.1f} turns/s"
            )
            self.progress.write(("\r" + line) if tty else (line + "\n"))
            self.progress.flush()

    async def go(self) -> dict[str, Any]:
        plan = self.plan
        pids = server_pids(plan.url)
        before = rss_kib(pids)
        run_id = secrets.token_hex(3)
        limits = httpx.Limits(max_connections=plan.users + 16, max_keepalive_connections=plan.users + 16)
        timeout = httpx.Timeout(plan.timeout, connect=10.0)
        async with httpx.AsyncClient(base_url=plan.url, limits=limits, timeout=timeout) as http:
            self.t0 = time.perf_counter()
            shower = asyncio.create_task(self._show())
            gate = asyncio.Semaphore(8)
            try:
                async with asyncio.timeout(plan.setup_timeout):
                    prepared = await asyncio.gather(*(self._prepare(i, http, run_id, gate) for i in range(plan.users)))
            except TimeoutError:
                shower.cancel()
                raise UserError(f"signing up {plan.users} users took more than {plan.setup_timeout:.0f} s") from None
            ready = [u for u in prepared if u is not None]
            setup_seconds = time.perf_counter() - self.t0
            self.phase, self.t0 = "load", time.perf_counter()
            users = [asyncio.create_task(self._user(i, u)) for i, u in enumerate(ready)]
            try:
                async with asyncio.timeout(plan.deadline_seconds):
                    await asyncio.gather(*users)
            except TimeoutError:
                self.stopping.set()
                for task in users:
                    task.cancel()
                await asyncio.gather(*users, return_exceptions=True)
            finally:
                shower.cancel()
                if self.progress is not None and self.progress.isatty():
                    self.progress.write("\n")
        end = self.last_done or time.perf_counter()
        after = rss_kib(pids)
        rss = {"before": before, "after": after, "processes": len(pids)} if before is not None and after is not None else None
        summary = self.tally.summary(end - self.t0, len(ready), rss)
        summary["setup_seconds"] = round(setup_seconds, 2)
        return summary


def run_bench(plan: BenchPlan, progress: TextIO | None = sys.stderr) -> dict[str, Any]:
    """Run the plan against its server and return the figures (see report.render)."""
    plan.validate()
    return asyncio.run(_Run(plan, progress).go())
