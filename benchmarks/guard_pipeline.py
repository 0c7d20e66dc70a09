"""The time the guard pipeline adds to one chat turn.

    .venv/bin/python benchmarks/guard_pipeline.py [--turns 3000] [--delta-chars 4]

One turn here is what the pipeline does in a real one: the user's message screened (every
message of the labelled set in benchmarks/guard_eval/cases.jsonl, in turn), the stored history
counted for placeholders (20 messages), the answer (about 300 characters of Korean, English or
Chinese, with a placeholder in it) fed through the answer filter in deltas of `--delta-chars`,
and the message's guardrail field built. Printed: the added time per turn (p50, p90, p99, max)
and per delta, and, as the baseline measured in the same run, what encoding the same turn's SSE
frames costs (one `json.dumps` per delta), with the ratio of the two.

Both wall time and this thread's CPU time are measured: on a shared machine the wall-time tail
is mostly the scheduler (the baseline's tail shows how much), the CPU time is the pipeline's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatkiosk.guard.pipeline import Guards  # noqa: E402

CASES = Path(__file__).with_name("guard_eval") / "cases.jsonl"
ANSWERS = [
    "네, 불고기버거 두 개와 콜라 큰 사이즈 하나 주문하셨습니다. 합계는 12,000원입니다. 연락처 <PHONE_1> 로 주문 번호를 보내드릴게요. "
    "드시고 가시나요, 포장하시나요? 세트로 바꾸시면 감자튀김과 음료가 함께 나와요. 더 필요하신 게 있으면 말씀해 주세요. 감사합니다!",
    "Sure! Your order is two cheeseburgers and a large cola, 12,000 won in total. We will text the order number to <PHONE_1>. "
    "Would you like to eat here or take it away? A set adds fries and a drink for 2,000 won more. Anything else I can get you today?",
    "好的，您点了两个芝士汉堡和一杯大杯可乐，一共一万两千韩元。我们会把订单号发送到<PHONE_1>。请问您是在这里吃还是带走？"
    "换成套餐会加薯条和饮料，只需再加两千韩元。还需要别的吗？祝您用餐愉快！",
]
HISTORY = [
    {"role": "user" if i % 2 == 0 else "assistant", "content": text}
    for i, text in enumerate(["불고기버거 2개랑 콜라 주세요", "네, 불고기버거 2개와 콜라 1개 담았어요.", "two cheeseburgers please",
                              "Added two cheeseburgers.", "我要两个芝士汉堡", "好的，已加入两个芝士汉堡。"] * 4)
][:20]


def _pieces(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def _percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--delta-chars", type=int, default=4)
    args = parser.parse_args()
    inputs = [json.loads(line)["text"] for line in CASES.read_text(encoding="utf-8").splitlines() if line.strip()]
    inputs = [f"제 번호는 010-1234-5678 이에요. {t}" if i % 4 == 0 else t for i, t in enumerate(inputs)]
    answers = [_pieces(a, args.delta_chars) for a in ANSWERS]
    guards = Guards()
    added: list[float] = []
    cpu: list[float] = []
    baseline: list[float] = []
    deltas = 0
    for n in range(args.turns + 200):
        text, pieces = inputs[n % len(inputs)], answers[n % len(answers)]
        started, started_cpu = time.perf_counter(), time.thread_time()
        guard = guards.turn("kiosk")
        guard.screen_input(text)
        guard.screen_history(HISTORY, stored=True)
        answer = guard.answer()
        for piece in pieces:
            answer.feed(piece)
        answer.finish()
        guard.guardrail("tool", "output", "blocked")
        spent, spent_cpu = time.perf_counter() - started, time.thread_time() - started_cpu
        started = time.perf_counter()
        for seq, piece in enumerate(pieces):
            json.dumps({"seq": seq, "text": piece}, ensure_ascii=False)
        base = time.perf_counter() - started
        if n >= 200:  # warm-up turns are not counted
            added.append(spent)
            cpu.append(spent_cpu)
            baseline.append(base)
            deltas += len(pieces)
    added.sort()
    cpu.sort()
    baseline.sort()
    ms = 1000
    print(f"{args.turns} turns, {deltas / args.turns:.0f} deltas of {args.delta_chars} chars per answer, inputs from the labelled set")
    print(f"guard pipeline, added per turn: p50 {_percentile(added, .5) * ms:.3f} ms  p90 {_percentile(added, .9) * ms:.3f} ms  "
          f"p99 {_percentile(added, .99) * ms:.3f} ms  max {added[-1] * ms:.3f} ms")
    print(f"guard pipeline, CPU per turn:   p50 {_percentile(cpu, .5) * ms:.3f} ms  p90 {_percentile(cpu, .9) * ms:.3f} ms  "
          f"p99 {_percentile(cpu, .99) * ms:.3f} ms  max {cpu[-1] * ms:.3f} ms")
    print(f"  per delta (wall, mean): {sum(added) / deltas * 1e6:.1f} µs")
    b50 = _percentile(baseline, .5)
    print(f"baseline (json.dumps of the turn's SSE frames): p50 {b50 * ms:.3f} ms  p99 {_percentile(baseline, .99) * ms:.3f} ms")
    print(f"ratio guard / baseline at p50: {_percentile(added, .5) / b50:.1f}x")


if __name__ == "__main__":
    main()
