"""The agent loop's own overhead per step, against a bare HTTP client making the same calls.

Run: .venv/bin/python benchmarks/agent_loop.py [--runs 200] [--rounds 5]

Each run is two steps of `run_agent` with an OpenAI-compatible provider against
`tests/fake_upstream.FakeUpstream` on loopback: the model calls a tool (its arguments streamed
in pieces), the tool runs, then the model answers in streamed text. The baseline is a bare
httpx script that replays the very same request bodies to the same fake upstream and reads
(and JSON-parses) every streamed chunk, with nothing else. Rounds alternate loop and
baseline; the printed figures are medians over rounds:
- loop ms/step and bare ms/step (one step is one model call);
- the difference in ms per step (the loop's overhead: provider, SSE parsing, token counting,
  argument validation, the tool call, events; target ≤ 2 ms) and the ratio loop / bare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from chatkiosk.agents.loop import AgentResult, run_agent  # noqa: E402
from chatkiosk.agents.tools import ToolContext, ToolRegistry, tool  # noqa: E402
from chatkiosk.llm.config import ProviderConfig  # noqa: E402
from chatkiosk.llm.openai_compat import OpenAICompatProvider  # noqa: E402
from tests.fake_upstream import FakeToolCall, FakeUpstream, Reply  # noqa: E402

STEPS_PER_RUN = 2
CALL = Reply(text="", tool_calls=(FakeToolCall("lookup", {"key": "bulgogi_burger", "quantity": 2}, pieces=4),), usage=(120, 18))
ANSWER = Reply(text="Two bulgogi burgers are in your order. Anything to drink with that?", chunks=12, usage=(160, 16))


@tool
async def lookup(ctx: ToolContext, key: str, quantity: int = 1) -> dict:
    """Look an item up.

    Args:
        key: The item's id.
        quantity: How many.
    """
    return {"key": key, "quantity": quantity, "price": 4800 * quantity}


MESSAGES = [
    {"role": "system", "content": "You are the order counter of a burger shop. Use the tools to change the order."},
    {"role": "user", "content": "불고기버거 2개 주세요"},
]


async def loop_round(provider: OpenAICompatProvider, up: FakeUpstream, runs: int) -> float:
    """Seconds for `runs` agent runs (each STEPS_PER_RUN model calls)."""
    tools = ToolRegistry([lookup])
    up.queue(*[CALL, ANSWER] * runs)
    started = time.perf_counter()
    for n in range(runs):
        ctx = ToolContext(user_id="u-bench", conversation_id=f"c-{n}", agent="bench")
        async for item in run_agent(provider, MESSAGES, ctx, tools, step_limit=4):
            if isinstance(item, AgentResult):
                assert item.steps == STEPS_PER_RUN and item.text, item
    return time.perf_counter() - started


async def bare_round(client: httpx.AsyncClient, url: str, headers: dict[str, str], bodies: list[bytes], up: FakeUpstream) -> float:
    """Seconds for the same calls made with httpx alone."""
    up.queue(*[CALL, ANSWER] * (len(bodies) // STEPS_PER_RUN))
    started = time.perf_counter()
    for body in bodies:
        async with client.stream("POST", url, content=body, headers=headers) as response:
            async for line in response.aiter_lines():
                if line.startswith("data:") and line != "data: [DONE]":
                    json.loads(line[5:])
    return time.perf_counter() - started


async def main(runs: int, rounds: int) -> None:
    with FakeUpstream() as up:
        cfg = ProviderConfig(name="bench", kind="openai", base_url=up.base_url, model="fake-model", api_key="sk-bench", max_retries=0)
        provider = OpenAICompatProvider(cfg)
        headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json", "Accept": "application/json"}
        url = f"{up.base_url}/chat/completions"
        async with httpx.AsyncClient(timeout=30) as client:
            # Warm up both, and capture the loop's exact request bodies for the baseline.
            await loop_round(provider, up, 20)
            bodies = [r.body for r in up.chat_requests()[: STEPS_PER_RUN * runs]]
            while len(bodies) < STEPS_PER_RUN * runs:
                bodies += bodies[: STEPS_PER_RUN * runs - len(bodies)]
            up.keep_requests = False
            up.reset()
            await bare_round(client, url, headers, bodies[:40], up)
            loop_times, bare_times = [], []
            for _ in range(rounds):
                loop_times.append(await loop_round(provider, up, runs))
                bare_times.append(await bare_round(client, url, headers, bodies, up))
        await provider.aclose()
    steps = runs * STEPS_PER_RUN
    per_loop = [t / steps * 1000 for t in loop_times]
    per_bare = [t / steps * 1000 for t in bare_times]
    diffs = [a - b for a, b in zip(per_loop, per_bare, strict=True)]
    loop_ms, bare_ms, diff_ms = statistics.median(per_loop), statistics.median(per_bare), statistics.median(diffs)
    print(f"agent loop vs bare httpx: {rounds} rounds x {runs} runs x {STEPS_PER_RUN} steps (tool call, then text)")
    print(f"  loop   {loop_ms:7.3f} ms/step   rounds: {', '.join(f'{x:.3f}' for x in per_loop)}")
    print(f"  bare   {bare_ms:7.3f} ms/step   rounds: {', '.join(f'{x:.3f}' for x in per_bare)}")
    print(f"  overhead {diff_ms:+.3f} ms/step (target <= 2 ms)   ratio loop/bare {loop_ms / bare_ms:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="agent runs per round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating measurement rounds")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.rounds))
