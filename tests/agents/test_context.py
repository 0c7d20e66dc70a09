"""Context building: system prompt first, newest history that fits, tool pairs kept whole."""

from __future__ import annotations

from collections.abc import Sequence

from chatkiosk.agents.context import ContextPolicy, build_context, message_tokens, wire_message
from chatkiosk.llm.base import estimate_tokens

NEW = [{"role": "user", "content": "newest question"}]


def chat(n: int) -> list[dict]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i}", "id": i} for i in range(n)]


def tool_turn(call_ids: list[str]) -> list[dict]:
    return [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": c, "type": "function", "function": {"name": "lookup", "arguments": "{}"}} for c in call_ids]},
        *({"role": "tool", "tool_call_id": c, "content": "result"} for c in call_ids),
    ]


def test_system_first_new_last_and_nothing_cut() -> None:
    messages, truncated = build_context(ContextPolicy(), "Be brief.", chat(4), NEW, estimate_tokens)
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert messages[-1] == NEW[0]
    assert [m["content"] for m in messages[1:-1]] == [f"message {i}" for i in range(4)]
    assert truncated is False
    assert all("id" not in m for m in messages)  # stored fields are not sent


def test_the_message_count_cuts_the_oldest() -> None:
    messages, truncated = build_context(ContextPolicy(max_messages=5), "S", chat(20), NEW, estimate_tokens)
    assert truncated is True
    assert messages[0]["role"] == "system"
    assert [m["content"] for m in messages[1:]] == [f"message {i}" for i in range(16, 20)] + ["newest question"]


def test_the_token_budget_cuts_the_oldest() -> None:
    history = [{"role": "user", "content": "x" * 400} for _ in range(10)]  # ~104 tokens each
    messages, truncated = build_context(ContextPolicy(max_context_tokens=400), "S", history, NEW, estimate_tokens)
    assert truncated is True
    assert len(messages) == 1 + 3 + 1
    assert sum(message_tokens(m, estimate_tokens) for m in messages) <= 400


def test_the_new_messages_are_kept_even_when_over_budget() -> None:
    big = [{"role": "user", "content": "y" * 8000}]
    messages, truncated = build_context(ContextPolicy(max_context_tokens=100), "S", chat(3), big, estimate_tokens)
    assert messages == [{"role": "system", "content": "S"}, big[0]]
    assert truncated is True


def test_a_tool_call_is_never_split_from_its_results() -> None:
    history = chat(2) + tool_turn(["a", "b", "c"]) + [{"role": "assistant", "content": "done"}]
    # Room for 4 history messages: the tool turn needs 4 plus "done", so it is left out whole.
    messages, truncated = build_context(ContextPolicy(max_messages=5), "S", history, NEW, estimate_tokens)
    assert truncated is True
    assert [m["role"] for m in messages] == ["system", "assistant", "user"]
    # With room for it, it comes whole and in order.
    messages, _ = build_context(ContextPolicy(max_messages=6), "S", history, NEW, estimate_tokens)
    assert [m["role"] for m in messages] == ["system", "assistant", "tool", "tool", "tool", "assistant", "user"]
    assert [m.get("tool_call_id") for m in messages[2:5]] == ["a", "b", "c"]


def test_no_orphan_tool_results_at_the_start() -> None:
    history = tool_turn(["a"])[1:] + chat(2)  # a tool result whose call is gone
    messages, truncated = build_context(ContextPolicy(), "S", history, NEW, estimate_tokens)
    assert all(m["role"] != "tool" for m in messages)
    assert truncated is True


def test_a_call_without_all_its_results_is_sent_as_text_or_not_at_all() -> None:
    interrupted = tool_turn(["a", "b"])[:2]  # result b never came
    interrupted[0]["content"] = "Let me look."
    messages, _ = build_context(ContextPolicy(), "S", chat(2) + interrupted, NEW, estimate_tokens)
    assert all("tool_calls" not in m and m["role"] != "tool" for m in messages)
    assert {"role": "assistant", "content": "Let me look."} in messages


def test_the_summary_of_what_was_cut() -> None:
    policy = ContextPolicy(max_messages=3, summary=True)
    messages, truncated = build_context(policy, "S", chat(10), NEW, estimate_tokens, summary="They ordered a burger.")
    assert truncated
    assert messages[0] == {"role": "system", "content": "S"}
    assert messages[1]["role"] == "system" and "They ordered a burger." in messages[1]["content"]
    # Nothing cut: no summary.
    messages, truncated = build_context(policy, "S", chat(1), NEW, estimate_tokens, summary="old")
    assert not truncated and len(messages) == 3
    # A policy without summaries ignores one.
    messages, _ = build_context(ContextPolicy(max_messages=3), "S", chat(10), NEW, estimate_tokens, summary="x")
    assert all("x" != m["content"] for m in messages) and len(messages) == 4


def test_no_system_prompt() -> None:
    messages, _ = build_context(ContextPolicy(), None, chat(2), NEW, estimate_tokens)
    assert messages[0]["role"] == "user"


class CountingHistory(Sequence):
    """A history that counts how many of its messages were read."""

    def __init__(self, messages: list[dict]) -> None:
        self.messages = messages
        self.reads = 0

    def __len__(self) -> int:
        return len(self.messages)

    def __getitem__(self, index):  # type: ignore[override]
        self.reads += 1
        return self.messages[index]


def _work(n: int) -> tuple[int, int]:
    history = CountingHistory(chat(n))
    counted = 0

    def count(text: str) -> int:
        nonlocal counted
        counted += 1
        return estimate_tokens(text)

    build_context(ContextPolicy(max_messages=40), "S", history, NEW, count)
    return history.reads, counted


def test_10000_messages_cost_what_10_do_once_the_window_is_full() -> None:
    reads_50, counts_50 = _work(50)
    reads_10k, counts_10k = _work(10_000)
    assert reads_10k == reads_50 <= 41
    assert counts_10k == counts_50 <= 45
    reads_10, _ = _work(10)
    assert reads_10 == 10


def test_wire_message_keeps_only_what_providers_take() -> None:
    stored = {"id": 7, "role": "assistant", "content": "hi", "status": "complete", "usage": {}, "tool_calls": None}
    assert wire_message(stored) == {"role": "assistant", "content": "hi"}
