"""Evaluate the shop agent on its turn set (tests/shop/turns.jsonl, written before the rules were tuned).

Run: .venv/bin/python benchmarks/shop_turns.py [--rules-only] [--verbose]

Each line is one customer turn: `{"lang", "text", "intent", "tool", "arguments"}`; `intent`
"chat" (tool null) marks a turn that is not a plain request and should go to the LLM.

By default every turn runs through the real server (an app on a temporary SQLite database, a
customer with the orders the set names, a fresh shop conversation per turn, a scripted LLM that
counts its calls); the tool call recorded for the turn is what is scored. `--rules-only` scores
the rule recogniser alone (no server), which is how the first score was taken.

Printed figures:
- intent accuracy: the turn went where it should — to the expected tool by rules, or (intent
  "chat") to the LLM;
- no-LLM share: turns answered with no LLM call;
- tool and arguments: of the turns with an expected tool, those whose tool and every expected
  argument match (the order number exactly as the customer wrote it, the issue type, the filter).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatkiosk.agents.shop.rules import recognise  # noqa: E402

TURNS = ROOT / "tests" / "shop" / "turns.jsonl"
NUMBERS = ("A-1001", "B2002", "10234567", "S20261201K3M9QX")


def load_turns(path: Path = TURNS) -> list[dict[str, Any]]:
    """The evaluation turns."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _args_match(expected: dict[str, Any], got: dict[str, Any]) -> bool:
    return all(got.get(k) == v for k, v in expected.items()) and (bool(expected) or not got.get("status"))


def rules_outcome(turn: dict[str, Any]) -> tuple[str, str | None, dict[str, Any], bool]:
    """(intent, tool, arguments, used the LLM) by the rules alone."""
    found = recognise(turn["text"])
    if found is None:
        return "chat", None, {}, True
    return found.name, found.tool, found.arguments, False


async def server_outcomes(turns: list[dict[str, Any]]) -> list[tuple[str, str | None, dict[str, Any], bool]]:
    """Run every turn through a real app; the recorded tool call and the LLM use are the outcome."""
    import httpx

    from chatkiosk.agents.shop.models import OrderIn
    from chatkiosk.app import create_app
    from chatkiosk.config import Settings
    from chatkiosk.knowledge.demo import seed_demo_documents
    from chatkiosk.llm.fake import ScriptedProvider
    from chatkiosk.store.db import Database
    from chatkiosk.store.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(environment="test", data_dir=Path(tmp), messages_per_window=10_000)
        db = Database(settings.resolved_database_url)
        await upgrade(db)
        await db.close()
        llm = ScriptedProvider()
        app = create_app(settings, providers={"scripted": llm})
        outcomes = []
        async with app.router.lifespan_context(app):
            runtime = app.state.runtime
            await seed_demo_documents(runtime.knowledge)  # the shop's policies, as `make run` seeds them
            user = await runtime.accounts.register("evaluser", "eval-password-2026", None)
            for number, status in zip(NUMBERS, ("paid", "preparing", "shipped", "delivered"), strict=True):
                await runtime.shop.create_order(OrderIn(user_id=user.id, status=status, number=number,
                                                        items=[{"name": "Ceramic mug", "quantity": 1, "unit_price": 12000}]))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://eval") as client:
                r = await client.post("/api/auth/login", json={"username": "evaluser", "password": "eval-password-2026"})
                headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
                for turn in turns:
                    cid = (await client.post("/api/conversations", headers=headers, json={"agent": "shop"})).json()["id"]
                    calls_before = len(llm.calls)
                    llm.add("(the LLM answered)")
                    r = await client.post(f"/api/conversations/{cid}/messages", headers=headers, json={"content": turn["text"]})
                    body = r.json()
                    used_llm = len(llm.calls) > calls_before
                    if not used_llm:
                        llm.turns.clear()
                    records = (body.get("message") or {}).get("tool_calls") or []
                    if used_llm or not records:
                        outcomes.append(("chat", None, {}, used_llm))
                    else:
                        first = records[0]
                        outcomes.append((first["name"], first["name"], first["arguments"], used_llm))
        return outcomes


def report(turns: list[dict[str, Any]], outcomes: list[tuple[str, str | None, dict[str, Any], bool]], verbose: bool) -> None:
    """Print the figures, per language and overall."""
    by_lang: dict[str, Counter[str]] = {}
    for turn, (intent, tool, arguments, used_llm) in zip(turns, outcomes, strict=True):
        c = by_lang.setdefault(turn["lang"], Counter())
        right_intent = intent == turn["intent"]
        c["turns"] += 1
        c["intent_ok"] += right_intent
        c["no_llm"] += not used_llm
        if turn["tool"] is not None:
            c["tool_turns"] += 1
            ok = tool == turn["tool"] and _args_match(turn["arguments"], arguments)
            c["tool_ok"] += ok
        else:
            ok = right_intent
        if verbose and not (right_intent and ok):
            print(f"  MISS [{turn['lang']}] {turn['text']!r}: expected {turn['intent']} {turn['arguments']}, got {intent} {arguments}")
    total: Counter[str] = Counter()
    for c in by_lang.values():
        total.update(c)
    print(f"{'set':<6}{'turns':>6}{'intent acc':>12}{'no-LLM':>9}{'tool+args':>11}")
    for name, c in [*sorted(by_lang.items()), ("all", total)]:
        print(f"{name:<6}{c['turns']:>6}{c['intent_ok'] / c['turns']:>12.1%}{c['no_llm'] / c['turns']:>9.1%}"
              f"{c['tool_ok'] / max(1, c['tool_turns']):>11.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules-only", action="store_true", help="score the rule recogniser alone")
    parser.add_argument("--verbose", action="store_true", help="print every miss")
    parser.add_argument("--set", type=Path, default=TURNS, help="the turn set (also: tests/shop/turns_heldout.jsonl)")
    args = parser.parse_args()
    turns = load_turns(args.set)
    outcomes = [rules_outcome(t) for t in turns] if args.rules_only else asyncio.run(server_outcomes(turns))
    print(f"shop turns: {len(turns)} from {args.set.name} ({'rules only' if args.rules_only else 'through the server'})")
    report(turns, outcomes, args.verbose)


if __name__ == "__main__":
    main()
