"""Evaluate the guardrail checks on the labelled set in benchmarks/guard_eval/cases.jsonl.

    .venv/bin/python benchmarks/guard_eval.py [--set cases|holdout] [--misses] [--glin]

Prints, per check (pii, profanity, injection): precision, recall and the counts; for PII also
how many cases had every value masked; and the share of clean cases any check harmed.
`--glin` adds glin-profanity's own filter (English + Chinese) on the same profanity cases,
with its time per case, as a comparison. `cases` (174) was written before the checks were
tuned on it; `holdout` (48) was written after, and never used to tune them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatkiosk.guard.injection import score_injection  # noqa: E402
from chatkiosk.guard.pii import PiiVault, find_pii  # noqa: E402
from chatkiosk.guard.profanity import find_profanity  # noqa: E402

SETS = Path(__file__).with_name("guard_eval")
CHECKS = ("pii", "profanity", "injection")


def fired(case: dict) -> set[str]:
    """The checks that fire on one case."""
    text, source = case["text"], case["source"]
    out = set()
    if find_pii(text):
        out.add("pii")
    if find_profanity(text):
        out.add("profanity")
    if score_injection(text, "tool" if source == "tool" else "input").over():
        out.add("injection")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="cases", choices=["cases", "holdout"], help="which labelled set")
    parser.add_argument("--misses", action="store_true", help="list every wrong case")
    parser.add_argument("--glin", action="store_true", help="also run glin-profanity's filter on the profanity cases")
    args = parser.parse_args()
    path = SETS / f"{args.set}.jsonl"
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    counts = {c: {"tp": 0, "fp": 0, "fn": 0} for c in CHECKS}
    masked_all = pii_cases = clean = clean_harmed = 0
    misses: list[str] = []
    for case in cases:
        got, want = fired(case), set(case["labels"])
        for check in CHECKS:
            if check in got and check in want:
                counts[check]["tp"] += 1
            elif check in got:
                counts[check]["fp"] += 1
                misses.append(f"FP {check:9} {case['text']}")
            elif check in want:
                counts[check]["fn"] += 1
                misses.append(f"FN {check:9} {case['text']}")
        if case["pii"]:
            pii_cases += 1
            masked = PiiVault().mask(case["text"])
            if not any(value in masked for value in case["pii"]):
                masked_all += 1
            else:
                misses.append(f"UNMASKED  {case['text']} -> {masked}")
        if not want:
            clean += 1
            clean_harmed += bool(got)
    langs = sorted({c["lang"] for c in cases})
    print(f"{path.name}: {len(cases)} cases ({', '.join(langs)}), {clean} clean look-alikes")
    print(f"{'check':10} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}")
    for check, c in counts.items():
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
        print(f"{check:10} {precision:9.3f} {recall:7.3f} {c['tp']:4} {c['fp']:4} {c['fn']:4}")
    print(f"PII cases with every value masked: {masked_all}/{pii_cases}")
    print(f"clean cases harmed: {clean_harmed}/{clean} ({clean_harmed / max(clean, 1):.1%})")
    if args.glin:
        _glin(cases)
    if args.misses:
        print("\n".join(misses) or "no misses")


def _glin(cases: list[dict]) -> None:
    from glin_profanity import Filter

    glin = Filter({"languages": ["english", "chinese"], "detect_leetspeak": True, "normalize_unicode": True})
    tp = fp = fn = 0
    spent = []
    for case in cases:
        if case["lang"] == "ko":
            continue
        started = time.perf_counter()
        hit = glin.check_profanity(case["text"])["contains_profanity"]
        spent.append(time.perf_counter() - started)
        want = "profanity" in case["labels"]
        tp += hit and want
        fp += hit and not want
        fn += want and not hit
    spent.sort()
    print(f"glin-profanity filter on the en/zh cases: precision {tp / max(tp + fp, 1):.3f} recall {tp / max(tp + fn, 1):.3f} "
          f"(tp {tp} fp {fp} fn {fn}), p50 {spent[len(spent) // 2] * 1e6:.0f} µs per case")


if __name__ == "__main__":
    main()
