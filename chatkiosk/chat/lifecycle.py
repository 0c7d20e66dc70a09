"""One lifecycle for every turn (agent or passthrough): admission, accounting, metrics, release.

    ledger = Ledger(label="kiosk", provider="fake", count_tokens=provider.count_tokens)
    async with lifecycle.admitted(user_id, reserved, ledger):
        lifecycle.on(ledger)            # stored and streaming: it counts as an active stream
        lifecycle.first_token(ledger)   # once, for the TTFT histogram
        ledger.report(usage)            # what the upstream said it used (if it says)
        ledger.status = "complete" | "incomplete" | "cancelled" | "error"

Entering admits (message rate, a stream slot, the quota reservation; 429 here); leaving —
however the turn ended, cancelled too — counts tokens and the turn, frees the slot and settles
the quota with the real usage, or with an estimate when the upstream reported none.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from chatkiosk.config import Settings
from chatkiosk.errors import UpstreamError, ValidationFailed
from chatkiosk.events import TurnUsage
from chatkiosk.guard.limits import ChatLimits
from chatkiosk.llm.base import Usage
from chatkiosk.metrics import Metrics


@dataclass(slots=True)
class Ledger:
    """The account of one turn, kept while it runs and settled when it ends."""

    label: str  # the `agent` label of the metrics: an agent's name, or "passthrough"
    provider: str
    count_tokens: Callable[[str], int]
    status: str = "complete"
    path: str = "llm"  # "rules" when no LLM ran (the kiosk's parser answered)
    prompt_estimate: int = 0  # tokens of the context sent, for when the upstream reports none
    truncated: bool = False
    reported: Usage = field(default_factory=Usage)
    text: str = ""  # what was said (for the estimate)
    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    begun: bool = False
    _usage: TurnUsage | None = None

    def report(self, usage: Usage) -> None:
        """The usage the upstream reported."""
        self.reported = usage

    def usage(self) -> TurnUsage:
        """The turn's usage: the upstream's, or an estimate when it reported none (once fixed, kept)."""
        if self._usage is None:
            reported, estimated = self.reported, False
            if self.path == "llm" and reported.total_tokens == 0 and (self.text or self.status != "complete"):
                reported = Usage(self.prompt_estimate, self.count_tokens(self.text) if self.text else 0)
                estimated = True
            self._usage = TurnUsage(
                reported.prompt_tokens, reported.completion_tokens, self.truncated, self.path == "llm", estimated,
            )
        return self._usage


class Lifecycle:
    """Admits turns and settles them: the one place limits and turn metrics are applied."""

    def __init__(self, settings: Settings, limits: ChatLimits, metrics: Metrics) -> None:
        self.settings = settings
        self.limits = limits
        self.metrics = metrics

    def reservation(self, max_tokens: int | None, param: str = "options.max_tokens") -> int:
        """The tokens to reserve for a call asking for `max_tokens` (422 above the limit)."""
        reserved = max_tokens or self.settings.default_max_tokens
        if reserved > self.settings.max_tokens_limit:
            raise ValidationFailed(f"max_tokens is at most {self.settings.max_tokens_limit}", param=param)
        return reserved

    def first_token(self, ledger: Ledger) -> None:
        """The first token of the answer arrived (observed once)."""
        if ledger.first_token_at is None:
            ledger.first_token_at = time.perf_counter()
            self.metrics.ttft.labels(ledger.label).observe(ledger.first_token_at - ledger.started)

    @asynccontextmanager
    async def admitted(self, user_id: str, reserved: int, ledger: Ledger) -> AsyncIterator[Ledger]:
        """Admit the turn (429 here), and settle it on the way out, whatever happened."""
        await self.limits.admit(user_id, reserved)
        try:
            yield ledger
        finally:
            await asyncio.shield(self._settle(user_id, reserved, ledger))

    def on(self, ledger: Ledger) -> None:
        """The turn is on (its messages stored): from here it is counted, as an active stream."""
        ledger.begun = True
        self.metrics.active_streams.inc()

    def upstream_failed(self, ledger: Ledger, exc: UpstreamError) -> None:
        """Count an upstream failure against the turn's provider."""
        self.metrics.upstream_errors.labels(ledger.provider, exc.code).inc()

    async def _settle(self, user_id: str, reserved: int, ledger: Ledger) -> None:
        usage = ledger.usage() if ledger.begun else TurnUsage(0, 0)
        if ledger.begun:
            self.metrics.tokens.labels("in", ledger.provider).inc(usage.prompt_tokens)
            self.metrics.tokens.labels("out", ledger.provider).inc(usage.completion_tokens)
            self.metrics.turns.labels(ledger.label, ledger.path, ledger.status).inc()
            self.metrics.active_streams.dec()
        await self.limits.release(user_id, reserved, usage.total_tokens)
