"""The context budget: what an agent may send so the prompt and the answer fit the model.

A provider that knows its window (`context_window`, the local model's `n_ctx`) bounds every
agent's context: at most window − max_tokens − margin − what the tool prompt costs, whatever
the settings say. Providers that do not say (remote APIs) keep the policy as configured.
"""

from __future__ import annotations

from dataclasses import replace

from chatkiosk.agents.context import ContextPolicy
from chatkiosk.errors import ContextOverflow
from chatkiosk.llm.base import Provider

# Room for the chat template's tokens the estimate does not see, and tool results of a step.
CONTEXT_MARGIN = 64
MIN_CONTEXT = 64
MIN_ANSWER = 16


def answer_tokens(provider: Provider, max_tokens: int | None) -> int:
    """Tokens the answer may take with this provider (its own cap wins)."""
    cap = getattr(provider, "max_output_tokens", None)
    if max_tokens is None:
        return cap or 0
    return min(max_tokens, cap) if cap else max_tokens


def fit_policy(
    policy: ContextPolicy, provider: Provider, max_tokens: int | None, *, extra_prompt_tokens: int = 0
) -> ContextPolicy:
    """`policy` with `max_context_tokens` cut to fit the provider's window, if it has one."""
    window = getattr(provider, "context_window", None)
    if not window:
        return policy
    room = window - answer_tokens(provider, max_tokens) - CONTEXT_MARGIN - extra_prompt_tokens
    room = max(MIN_CONTEXT, room)
    if room >= policy.max_context_tokens:
        return policy
    return replace(policy, max_context_tokens=room)


def answer_room(provider: Provider, prompt_tokens: int, max_tokens: int | None) -> int | None:
    """The answer's `max_tokens` for one call: the request's, within the provider's cap and
    what the window leaves after the prompt. `ContextOverflow` when the prompt leaves nothing."""
    cap = answer_tokens(provider, max_tokens) or None
    window = getattr(provider, "context_window", None)
    if not window:
        return cap
    left = window - prompt_tokens - CONTEXT_MARGIN // 2
    if left < MIN_ANSWER:
        raise ContextOverflow(
            f"This conversation no longer fits the model's context window of {window} tokens "
            f"(the prompt needs about {prompt_tokens}). Start a new conversation, or send a shorter message.",
            upstream_status=400,
        )
    return min(cap, left) if cap else left
