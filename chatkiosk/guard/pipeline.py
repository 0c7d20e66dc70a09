"""The guard pipeline of one turn: the user's input, tool output and the model's answer.

`Guards` holds the agents' policies; `Guards.turn(agent)` gives a `TurnGuard` that lives for one
turn and keeps its `PiiVault`, so that

- `screen_input` masks the customer's personal data (`<PHONE_1>`), and decides whether the
  turn is refused (`blocked`, with `refusal()` in the customer's language);
- `screen_tool` masks, neutralises or withholds what a tool (knowledge search, a ticket…)
  returned before the model reads it, and `tool_arguments` puts the customer's values back
  into the arguments the model wrote with placeholders;
- `answer()` filters the streamed answer: placeholders become the customer's values again
  (also when one is split across deltas: a delta is held back to the end of its last word),
  personal data the model produced itself and profanity are masked, a block stops the answer;
- `hits` are what to record (`GuardrailEvent`s) and count; `guardrail()` is the message's
  `{check, action}`.

Nothing here logs text; excerpts for admins have personal data replaced by its kind.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from chatkiosk.guard.injection import neutralise, score_injection
from chatkiosk.guard.pii import PiiVault, find_pii, redact_pii
from chatkiosk.guard.policy import GuardPolicy, policy_for, severity
from chatkiosk.guard.profanity import find_profanity, mask_profanity
from chatkiosk.guard.refusals import detect_language, refusal

EXCERPT_CHARS = 200
WITHHELD = {"error": {"code": "guardrail_blocked", "message": "the tool's output was withheld by a guardrail"}}


@dataclass(frozen=True, slots=True)
class Hit:
    """One check that fired at one stage: what it found (kinds, never values) and what was done."""

    check: str
    action: str
    source: str  # input | tool | output
    kinds: tuple[str, ...] = ()
    score: float | None = None
    excerpt: str = ""
    tool: str | None = None


class Guards:
    """The guardrail policies of every agent, from settings."""

    def __init__(self, policies: dict[str, GuardPolicy] | None = None) -> None:
        self.policies = dict(policies or {})
        self._cache: dict[str, GuardPolicy] = {}

    def policy(self, agent: str) -> GuardPolicy:
        """The policy of `agent`."""
        found = self._cache.get(agent)
        if found is None:
            found = self._cache[agent] = policy_for(self.policies, agent)
        return found

    def turn(self, agent: str) -> TurnGuard:
        """A guard for one turn of `agent`."""
        return TurnGuard(self.policy(agent))


def _excerpt(text: str) -> str:
    text = redact_pii(text)
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS - 1] + "…"


@dataclass(slots=True)
class TurnGuard:
    policy: GuardPolicy
    vault: PiiVault = field(default_factory=PiiVault)
    hits: list[Hit] = field(default_factory=list)
    blocked: Hit | None = None
    language: str = "en"

    # --- the stages

    def screen_input(self, text: str) -> str:
        """The user's message as the model (and the store) may see it; sets `blocked` to refuse."""
        self.language = detect_language(text)
        screened, block = self._screen(text, "input")
        if block is not None:
            self.blocked = block
        return screened

    def screen_history(self, messages: list[dict], *, stored: bool) -> list[dict]:
        """Earlier messages of the context, their personal data masked with this turn's vault.

        Stored history was screened when it was written: its placeholders are only counted, so
        this turn's new ones do not reuse their numbers. A client's history is masked here.
        """
        out = []
        for m in messages:
            content = m.get("content")
            if isinstance(content, str) and content:
                if "<" in content:
                    self.vault.reserve(content)
                if not stored and self.policy.pii.input == "mask":
                    masked = self.vault.mask(content)
                    if masked is not content:
                        m = {**m, "content": masked}
            out.append(m)
        return out

    def screen_tool(self, name: str, result: Any) -> str:
        """A tool's result as the model may read it (the text of its `tool` message): every
        string in it screened; withheld whole when a check blocks."""
        blocks: list[Hit] = []

        def walk(value: Any) -> Any:
            if isinstance(value, str):
                screened, block = self._screen(value, "tool", tool=name) if len(value) > 2 else (value, None)
                if block is not None:
                    blocks.append(block)
                return screened
            if isinstance(value, dict):
                return {k: walk(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [walk(v) for v in value]
            return value

        screened = walk(result)
        return json.dumps(WITHHELD if blocks else screened, ensure_ascii=False)

    def tool_arguments(self, arguments: str) -> str:
        """The model's tool arguments (JSON text) with this turn's placeholders back to their values."""
        return self.vault.unmask(arguments) if isinstance(arguments, str) else arguments

    def answer(self) -> AnswerFilter:
        """A filter for the model's answer, delta by delta."""
        return AnswerFilter(self)

    def refusal(self, hit: Hit | None = None) -> str:
        """The polite refusal of a blocked turn (or answer), in the customer's language."""
        hit = hit or self.blocked
        return refusal(hit.check if hit is not None else "injection", self.language)

    def guardrail(self, *sources: str) -> dict | None:
        """The message's `{check, action, source}`: the block, else the strongest hit at `sources`."""
        hits = self.hits_of(*sources) if sources else self.hits
        if self.blocked is not None and (not sources or self.blocked.source in sources or "blocked" in sources):
            hit = self.blocked
        else:
            hit = max(hits, key=lambda h: severity(h.action), default=None)
        if hit is None:
            return None
        return {"check": hit.check, "action": hit.action, "source": hit.source}

    def hits_of(self, *sources: str) -> list[Hit]:
        """The hits recorded at these stages."""
        return [h for h in self.hits if h.source in sources]

    # --- the checks

    def _screen(self, text: str, stage: str, *, tool: str | None = None, whole: bool = True) -> tuple[str, Hit | None]:
        """Run the three checks of `stage` on `text`: the text to pass on, and the block if any."""
        actions, original, block = self.policy.actions(), text, None
        action = actions[("pii", stage)]
        if action != "off" and (stage != "output" or _MAYBE_PII.search(text)):
            matches = find_pii(text)
            if matches:
                if action == "mask":
                    # The model's own personal data is not the customer's: no placeholder to undo.
                    text = self.vault.mask(text, matches) if stage != "output" else _redact(text, matches)
                block = self._hit("pii", action, stage, tuple(sorted({m.kind for m in matches})), original, tool=tool) or block
        action = actions[("profanity", stage)]
        if action != "off":
            matches = find_profanity(text)
            if matches:
                if action == "mask":
                    text = mask_profanity(text, matches)
                block = self._hit("profanity", action, stage, tuple(sorted({m.lang for m in matches})), original, tool=tool) or block
        action = actions[("injection", stage)]
        if action != "off" and whole:
            found = score_injection(text, "tool" if stage == "tool" else "input")
            if found.over(self.policy.injection_threshold):
                if action == "mask":
                    text = neutralise(text, found)
                block = self._hit("injection", action, stage, found.patterns, original, score=found.score, tool=tool) or block
        return text, block

    def _hit(self, check: str, action: str, stage: str, kinds: tuple[str, ...], text: str, *,
             score: float | None = None, tool: str | None = None) -> Hit | None:
        for i, seen in enumerate(self.hits):  # one hit per check, stage and tool: a streamed answer has many pieces
            if (seen.check, seen.action, seen.source, seen.tool) == (check, action, stage, tool):
                self.hits[i] = Hit(check, action, stage, tuple(sorted({*seen.kinds, *kinds})), seen.score, seen.excerpt, tool)
                return self.hits[i] if action == "block" else None
        hit = Hit(check, action, stage, kinds, score, _excerpt(text), tool)
        self.hits.append(hit)
        return hit if action == "block" else None


def _redact(text: str, matches: list) -> str:
    parts, last = [], 0
    for m in matches:
        parts.append(text[last:m.start])
        parts.append(f"[{m.kind.upper()}]")
        last = m.end
    parts.append(text[last:])
    return "".join(parts)


_MAYBE_PII = re.compile(r"\d{3}|@")
_DIGITISH = re.compile(r"[\d+().-]")
# A piece of text that may still grow into personal data or a placeholder.
_RISKY = re.compile(r"[\d<@+]")
_STOP = "，。！？、；：…"
_HOLD_MAX = 240


def _safe_cut(text: str) -> int:
    """How much of `text` may be shown now: all of it, unless its last word may still grow into
    personal data or a placeholder (it has a digit, `<`, `@` or `+`, and is not closed by a space
    after a non-digit): then up to that word, and before the digit groups that lead to it."""
    n = e = len(text)
    if not _RISKY.search(text):  # the common delta: nothing in it can grow into personal data
        return n
    while e > 0 and text[e - 1].isspace():
        e -= 1
    j = e
    while j > 0 and not (text[j - 1].isspace() or text[j - 1] in _STOP):
        j -= 1
    if j == e or not _RISKY.search(text, j, e):
        return n
    if e < n and not _DIGITISH.match(text[e - 1]):
        return n  # a finished word: `<PHONE_1> `, `12,000원 `
    while j > 1 and text[j - 1].isspace() and _DIGITISH.match(text[j - 2]) and _DIGITISH.match(text[j]):
        k = j - 1
        while k > 0 and text[k - 1].isspace():
            k -= 1
        while k > 0 and not (text[k - 1].isspace() or text[k - 1] in _STOP):
            k -= 1
        j = k
    if n - j > _HOLD_MAX:
        return n - _HOLD_MAX // 2
    return j


@dataclass(slots=True)
class AnswerFilter:
    """The model's answer through the output checks, as it streams.

    `feed(delta)` returns what may be shown now; `finish()` the rest. `shown` is what the customer
    saw (their values back in place of placeholders), `stored` what the store keeps (placeholders,
    masked data), `blocked` a block of the answer.
    """

    guard: TurnGuard
    pending: str = ""
    shown: list[str] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)
    blocked: Hit | None = None
    fed: list[str] = field(default_factory=list)  # the deltas as the model wrote them
    finished: bool = False  # `finish()` ran on all that was fed

    def feed(self, delta: str) -> str:
        """Take one delta; return the text that may be shown now (maybe empty)."""
        if self.blocked is not None:
            return ""
        self.fed.append(delta)
        self.finished = False
        self.pending += delta
        cut = _safe_cut(self.pending)
        if cut <= 0:
            return ""
        segment, self.pending = self.pending[:cut], self.pending[cut:]
        return self._emit(segment)

    def finish(self) -> str:
        """The rest of the answer, and the checks that need the whole text."""
        tail = self._emit(self.pending) if self.pending and self.blocked is None else ""
        self.pending = ""
        if self.blocked is None:
            guard, whole = self.guard, "".join(self.stored)
            # What was split across pieces shown apart is still kept out of the store and the
            # final message: the whole text once more.
            actions = guard.policy.actions()
            split = (actions[("pii", "output")] != "off" and _MAYBE_PII.search(whole) and find_pii(whole)) or (
                actions[("profanity", "output")] != "off" and find_profanity(whole))
            if split:
                screened, block = guard._screen(whole, "output", whole=False)
                if block is not None:
                    self._block(block)
                    return ""
                self.stored, self.shown = [screened], [guard.vault.unmask(screened)]
                whole = screened
            action = guard.policy.action("injection", "output")
            if action != "off" and whole:
                found = score_injection(whole, "output")
                if found.over(guard.policy.injection_threshold):
                    block = guard._hit("injection", action, "output", found.patterns, whole, score=found.score)
                    if block is not None:
                        self._block(block)
        self.finished = True
        return tail

    def replace(self, text: str) -> str:
        """The whole answer at once (a step whose result replaced the streamed text): filtered.

        The text that streamed in whole, already finished, is not screened a second time."""
        if self.finished and self.blocked is None and text == "".join(self.fed):
            return self.text
        self.shown, self.stored, self.pending, self.fed = [], [], "", []
        self.feed(text)
        self.finish()
        return self.text

    @property
    def text(self) -> str:
        return self.guard.refusal(self.blocked) if self.blocked is not None else "".join(self.shown)

    @property
    def stored_text(self) -> str:
        return self.guard.refusal(self.blocked) if self.blocked is not None else "".join(self.stored)

    def _emit(self, segment: str) -> str:
        screened, block = self.guard._screen(segment, "output", whole=False)
        if block is not None:
            self._block(block)
            return ""
        self.stored.append(screened)
        visible = self.guard.vault.unmask(screened)
        self.shown.append(visible)
        return visible

    def _block(self, hit: Hit) -> None:
        self.blocked = hit
        self.guard.blocked = hit
