"""The kiosk's LLM path on turns the rule parser cannot place, run on the embedded model.

    .venv/bin/python benchmarks/kiosk_llm.py [--model NAME_OR_PATH] [--cases turns|heldout|fresh|fresh2|fresh3|fresh4|FILE] [--limit N]
                                             [--only ID ...] [--path llm|real]

Three sets of cases: `benchmarks/kiosk_llm_turns.jsonl` (the default; written before the path
was first tuned, and iterated on since), `benchmarks/kiosk_llm_heldout.jsonl` (`--cases
heldout`; written before the second round of work; its misses were looked at in that round)
`benchmarks/kiosk_llm_fresh.jsonl` (`--cases fresh`; written before the third round; its misses
were printed after that round's first run) and `benchmarks/kiosk_llm_fresh2.jsonl` (`--cases
fresh2`; 45 turns written at the start of the fourth round, before any change, never tuned on)
and `benchmarks/kiosk_llm_fresh3.jsonl` (`--cases fresh3`; 44 turns written after that round's
changes, every one a turn the rule parser alone gets wrong — checked with `parser_exact` when
the set was made — tuned on after its first run) and `benchmarks/kiosk_llm_fresh4.jsonl`
(`--cases fresh4`; 43 more turns the parser alone gets wrong, written after the changes fresh3
drove, never tuned on). No sentence of any is
a worked example or a prompt example of the kiosk (tests/kiosk/test_reading.py checks the
examples file). `--limit N` runs every k-th case, N of them (spread over the
languages), for quick iterations; report figures from full runs. Each case starts a kiosk
conversation, sets the order up through the touch API, says one sentence and reads the order
back. Everything goes through the real server in-process (HTTP API, chat turn, agent loop,
local provider); `--path llm` (the default) turns the rule parser off so the model answers
every case, `--path real` keeps it first as in production. Printed:

- per case: exact or not, why not (`miss:` wrong item, wrong quantity, wrong option, no change,
  refused, error), the commands, the cart after the turn, the reply, seconds;
- exact: the cart after the turn equals the expected one (items, quantities, options);
- honest: the reply claims a change only when the cart changed (no "Added/담았어요/已加入…"
  on an unchanged cart) and, when it changed, states the true total (an emptied cart: no
  claimed addition);
- the rule parser's exact share on the same cases (the baseline, measured in the same run);
- p50 / p99 turn time, after the server's warm-up of the kiosk prompt (`warmup.warm_prompt`, as
  at start; its time is printed; `--cold` skips it, and the first case pays the system prompt),
  and the load average. The machine
  is shared: times are noisy; repeat and compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from chatkiosk.agents.kiosk.commands import execute_all  # noqa: E402
from chatkiosk.agents.kiosk.menu import load_menu  # noqa: E402
from chatkiosk.agents.kiosk.order import Order  # noqa: E402
from chatkiosk.agents.kiosk.parser import Parser  # noqa: E402
from chatkiosk.agents.kiosk.reply import money  # noqa: E402
from chatkiosk.app import create_app  # noqa: E402
from chatkiosk.config import Settings  # noqa: E402
from chatkiosk.store.db import Database  # noqa: E402
from chatkiosk.store.migrate import upgrade  # noqa: E402
from chatkiosk.warmup import warm_prompt  # noqa: E402

CASES = ROOT / "benchmarks" / "kiosk_llm_turns.jsonl"
SETS = {"turns": CASES, "heldout": ROOT / "benchmarks" / "kiosk_llm_heldout.jsonl",
        "fresh": ROOT / "benchmarks" / "kiosk_llm_fresh.jsonl",
        "fresh2": ROOT / "benchmarks" / "kiosk_llm_fresh2.jsonl",
        "fresh3": ROOT / "benchmarks" / "kiosk_llm_fresh3.jsonl",
        "fresh4": ROOT / "benchmarks" / "kiosk_llm_fresh4.jsonl"}
_CLAIM = re.compile(r"Added|Removed|Changed to|담았어요|뺐어요|바꿨어요|已加入|已去掉|已改为|cancelled|취소했어요|订单已取消")


def normalise(items: list[dict], menu) -> list[dict]:
    """Lines as (item_id, quantity, options that differ from the default)."""
    out = []
    for line in items:
        opts = {k: v for k, v in (line.get("options") or {}).items() if v != menu.options[k].default}
        out.append({"item_id": line["item_id"], "quantity": line["quantity"], "options": opts})
    return sorted(out, key=lambda line: json.dumps(line, sort_keys=True))


def honest(reply: str, before: list[dict], after: list[dict], total: int, lang: str) -> bool:
    """The reply claims a change only when one happened, and then states the real total."""
    if before == after:
        return not _CLAIM.search(reply)
    if not after:  # emptied: it may say so without a total, but must not claim an addition
        return not re.search(r"Added|담았어요|已加入", reply)
    return money(total, lang) in reply


def miss(before: list[dict], after: list[dict], expect: list[dict], body: dict) -> str:
    """Why a case is not exact, in a word: an error's code (a timeout is time_budget_exceeded),
    no_command, no_change, refused, item, quantity, option."""
    error = body.get("error") or (body.get("message") or {}).get("error")
    if error or not body.get("message"):
        return str((error or {}).get("code") or "error") if isinstance(error, dict) else "error"
    calls = (body.get("message") or {}).get("tool_calls") or []
    if not calls:
        return "no_command"
    if after == before:
        return "refused" if any(c.get("status") != "ok" or not (c.get("result") or {}).get("ok", True) for c in calls) else "no_change"
    if sorted(line["item_id"] for line in after) != sorted(line["item_id"] for line in expect):
        if {line["item_id"] for line in after} != {line["item_id"] for line in expect}:
            return "item"
    strip = [{k: v for k, v in line.items() if k != "options"} for line in after]
    want = [{k: v for k, v in line.items() if k != "options"} for line in expect]
    if sorted(map(json.dumps, strip)) != sorted(map(json.dumps, want)):
        return "quantity"
    return "option"


def select(cases: list[dict], limit: int | None) -> list[dict]:
    """`limit` cases spread evenly over the set (every k-th), or all of them."""
    if not limit or limit >= len(cases):
        return cases
    step = len(cases) / limit
    return [cases[int(i * step)] for i in range(limit)]


def parser_exact(case: dict, menu, parser: Parser) -> bool:
    """Whether the rule parser alone gets the case right (the baseline)."""
    order = Order.from_state(None)
    execute_all(order, menu, [tuple(c) for c in case["setup"]], case["lang"])
    parsed = parser.parse(case["say"], order, lang_hint=case["lang"])
    if not parsed.understood:
        return False
    execute_all(order, menu, parsed.as_calls(), case["lang"])
    got = normalise([{"item_id": l.item_id, "quantity": l.quantity, "options": l.options} for l in order.lines], menu)
    return got == normalise(case["expect"], menu)


async def run(args: argparse.Namespace) -> None:
    path = SETS.get(args.cases) or Path(args.cases)
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if args.only:
        cases = [c for c in cases if c["id"] in args.only]
    cases = select(cases, args.limit)
    menu = load_menu(None)
    parser = Parser(menu)
    data = tempfile.mkdtemp(prefix="kiosk-llm-")
    settings = Settings(
        environment="test", data_dir=Path(data), local_model=args.model, turn_timeout=args.timeout,
        messages_per_window=10_000, daily_token_quota=10_000_000, log_level="WARNING",
    )
    db = Database(settings.resolved_database_url)
    await upgrade(db)
    await db.close()
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        if args.path == "llm":
            runtime.agents.get("kiosk").intercept = None  # every case goes to the model
        provider = runtime.providers["local"]
        print(f"cases: {path.name} ({len(cases)}), load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"model: {provider.cfg.model} ({provider.cfg.resolved_model_path()}), path: {args.path}, "
              f"threads {provider.cfg.n_threads} (nproc {os.cpu_count()}), OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=300) as client:
            r = await client.post("/api/auth/register", json={"username": "bench", "password": "bench-password-2026"})
            r = await client.post("/api/auth/login", json={"username": "bench", "password": "bench-password-2026"})
            headers = {"authorization": f"Bearer {r.json()['access_token']}"}
            await provider.check()  # load the model before the clock starts
            if not args.cold:
                # What a server does at start, in the background (warmup.warm_local_prompts), for
                # the kiosk: its fixed prompt is evaluated once into the prefix cache; the first case
                # then costs what a first customer's turn costs once the server has warmed up.
                started = time.perf_counter()
                await warm_prompt(runtime.agents.get("kiosk"), provider)
                print(f"the server's warm-up of the fixed prompts (at start, in the background; not counted): "
                      f"{time.perf_counter() - started:.1f} s")
            exact = honest_n = base = beyond = beyond_exact = 0
            times: list[float] = []
            misses: dict[str, int] = {}
            for case in cases:
                cid = (await client.post("/api/conversations", headers=headers, json={"agent": "kiosk"})).json()["id"]
                for name, body in case["setup"]:
                    await client.post(f"/api/conversations/{cid}/order/commands", headers=headers,
                                      json={"command": name, "args": body, "lang": case["lang"]})
                before = normalise((await client.get(f"/api/conversations/{cid}/order", headers=headers)).json()["items"], menu)
                started = time.perf_counter()
                r = await client.post(f"/api/conversations/{cid}/messages", headers=headers,
                                      json={"content": case["say"], "options": {"temperature": 0}})
                seconds = time.perf_counter() - started
                times.append(seconds)
                body = r.json()
                reply = (body.get("message") or {}).get("content") or json.dumps(body.get("error"), ensure_ascii=False)
                order = (await client.get(f"/api/conversations/{cid}/order", headers=headers)).json()
                after = normalise(order["items"], menu)
                ok = after == normalise(case["expect"], menu)
                true = honest(reply, before, after, order["total"], case["lang"])
                p_ok = parser_exact(case, menu, parser)
                exact += ok
                honest_n += true
                base += p_ok
                beyond += not p_ok
                beyond_exact += ok and not p_ok
                why = "" if ok else miss(before, after, normalise(case["expect"], menu), body)
                if why:
                    misses[why] = misses.get(why, 0) + 1
                calls = [f"{c['name']}{json.dumps(c['arguments'], ensure_ascii=False)}" for c in (body.get("message") or {}).get("tool_calls") or []]
                cart = ", ".join(f"{l['quantity']} {l['item_id']}{'(' + ','.join(f'{k}={v}' for k, v in l['options'].items()) + ')' if l['options'] else ''}" for l in after) or "empty"
                print(f"{'EXACT' if ok else 'wrong'} {'honest' if true else 'DISHONEST'} {why or '-':<10} {seconds:5.1f}s {case['id']:<20} "
                      f"{case['say']!r}\n      calls: {' '.join(calls) or '-'}\n      cart: {cart}\n      reply: {' '.join(reply.split())[:160 if true else 2000]}")
    n = len(cases)
    q = sorted(times)
    p99 = q[min(len(q) - 1, int(round(0.99 * (len(q) - 1))))]
    print(f"\ncases {n}: exact {exact}/{n} = {exact / n:.0%}, honest {honest_n}/{n} = {honest_n / n:.0%}, "
          f"rule parser alone exact {base}/{n} = {base / n:.0%}")
    if beyond:
        print(f"on the {beyond} cases the rule parser alone gets wrong: exact {beyond_exact}/{beyond} = {beyond_exact / beyond:.0%}")
    print("misses: " + (", ".join(f"{k} {v}" for k, v in sorted(misses.items(), key=lambda kv: -kv[1])) or "none"))
    print(f"turn time: p50 {statistics.median(times):.1f} s, p99 {p99:.1f} s, mean {statistics.mean(times):.1f} s; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    """Run the cases and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="true", help="CHATKIOSK_LOCAL_MODEL: true (the default), a name or a path")
    ap.add_argument("--cases", default="turns", help="turns (the default), heldout, fresh, fresh2, fresh3, fresh4, or a path to a .jsonl file")
    ap.add_argument("--limit", type=int, default=None, help="run N cases spread over the set (quick iterations)")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--path", choices=["llm", "real"], default="llm")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--cold", action="store_true", help="no warm-up of the kiosk prompt: the first case pays for it")
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
