"""Candidate embedded models: generation speed and three Korean and three Chinese general answers.

    .venv/bin/python benchmarks/local_models.py [--model NAME_OR_PATH ...] [--repeat 3]

Loads each model the way the local provider does (OMP_WAIT_POLICY=PASSIVE, one thread a core,
repeat penalty), asks the same six questions, and prints tokens/s per answer and the median
over repeats. The machine is shared: figures are noisy, so repeat and read the median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatkiosk.llm import local  # noqa: E402  (sets OMP_WAIT_POLICY before llama.cpp loads)
from chatkiosk.llm.models import resolve_model_path  # noqa: E402

QUESTIONS = [
    ("ko", "대한민국의 수도는 어디인가요? 한 문장으로 답해 주세요."),
    ("ko", "비 오는 날에 하기 좋은 일 두 가지를 추천해 주세요."),
    ("ko", "물은 몇 도에서 끓나요?"),
    ("zh", "中国的首都是哪里？请用一句话回答。"),
    ("zh", "请推荐两种适合雨天做的事情。"),
    ("zh", "水在多少度沸腾？"),
]


def main() -> None:
    """Measure every model named on the command line."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", default=None)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=96)
    args = ap.parse_args()
    threads = os.cpu_count() or 2
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')} threads={threads} (nproc)")
    for name in args.model or ["smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]:
        path = resolve_model_path(name)
        if path is None:
            print(f"\n## {name}: not installed (chatkiosk model install {name})")
            continue
        llama = local.open_llama(path, 2048, threads)
        print(f"\n## {name} ({Path(path).name}, {Path(path).stat().st_size / 1e6:.0f} MB)")
        rates: list[float] = []
        for rep in range(args.repeat):
            for lang, q in QUESTIONS:
                llama.reset()
                t = time.perf_counter()
                out = llama.create_chat_completion(
                    messages=[{"role": "user", "content": q}], max_tokens=args.max_tokens,
                    temperature=0, repeat_penalty=local.REPEAT_PENALTY,
                )
                dt = time.perf_counter() - t
                n = out["usage"]["completion_tokens"]
                rates.append(n / dt)
                if rep == 0:
                    text = " ".join(out["choices"][0]["message"]["content"].split())
                    print(f"[{lang}] {q}\n    → {text[:220]}  ({n} tok, {n / dt:.1f} tok/s incl. prompt)")
        print(f"tokens/s: median {statistics.median(rates):.1f}, min {min(rates):.1f}, max {max(rates):.1f} over {len(rates)} answers")
        llama.close()


if __name__ == "__main__":
    main()
