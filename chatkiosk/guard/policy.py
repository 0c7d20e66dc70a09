"""What each agent's guardrails do: per check (pii, profanity, injection) and per stage.

Stages: `input` (the user's message, before the model), `tool` (tool output and retrieved text,
before the model reads it), `output` (the model's answer, before the user and the store sees
it). Actions: `block` (refuse: the turn, the tool result, or the answer), `mask` (replace what
was found: placeholders for PII, asterisks for profanity, a notice for injected sentences),
`flag` (let it through and record it for admins), `off`.

In settings (`CHATKIOSK_GUARDRAILS`, JSON): agent name → policy, `"*"` for every agent; a check
is one action for all stages or an object of stages, e.g.
`{"*": {"profanity": "flag"}, "kiosk": {"profanity": {"input": "block", "output": "mask"}}}`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Action = Literal["block", "mask", "flag", "off"]
Stage = Literal["input", "tool", "output"]
CHECKS = ("pii", "profanity", "injection")
_SEVERITY = {"off": 0, "flag": 1, "mask": 2, "block": 3}


def severity(action: str) -> int:
    """How strong an action is: block > mask > flag > off."""
    return _SEVERITY[action]


class StageActions(BaseModel):
    """One check's action at each stage; a plain string sets all three."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: Action = "flag"
    tool: Action = "flag"
    output: Action = "flag"

    @model_validator(mode="before")
    @classmethod
    def _one_for_all(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"input": value, "tool": value, "output": value}
        return value


class GuardPolicy(BaseModel):
    """The guardrails of one agent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pii: StageActions = StageActions(input="mask", tool="mask", output="mask")
    profanity: StageActions = StageActions(input="block", tool="flag", output="mask")
    injection: StageActions = StageActions(input="block", tool="mask", output="flag")
    injection_threshold: float = Field(1.0, gt=0, le=10)

    def action(self, check: str, stage: str) -> Action:
        """The action of `check` at `stage`."""
        return self.actions()[(check, stage)]

    def actions(self) -> dict[tuple[str, str], Action]:
        """Every `(check, stage)` → action, computed once (this is on every streamed delta)."""
        table = self.__dict__.get("_table")
        if table is None:
            table = {(c, s): getattr(getattr(self, c), s) for c in CHECKS for s in ("input", "tool", "output")}
            object.__setattr__(self, "_table", table)
        return table


def policy_for(policies: dict[str, GuardPolicy], agent: str) -> GuardPolicy:
    """The agent's policy: its own fields over the `"*"` entry over the defaults."""
    base = policies.get("*", GuardPolicy())
    own = policies.get(agent)
    if own is None:
        return base
    return base.model_copy(update={name: getattr(own, name) for name in own.model_fields_set})
