"""The utterance set (utterances.jsonl) replayed through parser and commands; the aims as assertions.

The figures and latency are printed by `benchmarks/kiosk_parser.py`; no timing is asserted here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("kiosk_parser_bench", ROOT / "benchmarks" / "kiosk_parser.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report(bench, menu):
    return bench.evaluate(menu)


def test_set_is_large_and_well_formed(bench, menu):
    conversations = bench.load_set()
    turns = [t for c in conversations for t in c["turns"]]
    assert len(turns) >= 150
    assert len({c["id"] for c in conversations}) == len(conversations)
    for t in turns:
        assert t["say"] and set(t["expect"]) == {"state", "items", "dine"}
        bench.expected_key(menu, t["expect"])  # valid ids and options
    langs = {c["id"].split("-")[0] for c in conversations}
    assert {"ko", "en", "zh", "mix"} <= langs


def test_accuracy_aim(report):
    assert report.accuracy >= 0.95, "\n".join(report.misses)


def test_no_llm_share_aim(report):
    assert report.no_llm_share >= 0.90, "\n".join(report.misses)


def test_llm_turns_are_mostly_deferred(report):
    assert report.deferred >= 0.8 * report.llm_turns, "\n".join(report.misses)
