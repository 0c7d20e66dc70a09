"""Chunks follow headings, pack paragraphs up to a size and overlap by a sentence."""

from __future__ import annotations

from chatkiosk.knowledge.chunking import chunk_paragraphs
from chatkiosk.knowledge.formats import Paragraph
from chatkiosk.knowledge.tokenize import tokenize


def test_a_chunk_never_spans_two_sections():
    paragraphs = [Paragraph(("A",), "one."), Paragraph(("A",), "two."), Paragraph(("A", "B"), "three.")]
    chunks = chunk_paragraphs(paragraphs)
    assert [(c.index, c.heading, c.text) for c in chunks] == [(0, "A", "one.\ntwo."), (1, "A > B", "three.")]


def test_long_sections_split_with_a_sentence_of_overlap():
    sentences = [f"Sentence number {i} is here." for i in range(60)]
    paragraphs = [Paragraph(("Long",), " ".join(sentences[i : i + 5])) for i in range(0, 60, 5)]
    chunks = chunk_paragraphs(paragraphs, max_chars=300, overlap_chars=100)
    assert len(chunks) > 3 and all(len(c.text) <= 300 + 100 for c in chunks)
    for previous, current in zip(chunks, chunks[1:]):
        last_sentence = previous.text.split("\n")[-1].split(". ")[-1]
        assert current.text.startswith(last_sentence.rstrip())  # the overlap
    joined = " ".join(chunks[i].text for i in range(len(chunks)))
    assert all(s in joined for s in sentences)  # nothing lost


def test_one_endless_paragraph_is_cut_hard():
    chunks = chunk_paragraphs([Paragraph((), "가" * 2000)], max_chars=800)
    assert [len(c.text) for c in chunks] == [800, 800, 400]


def test_tokens_for_korean_chinese_and_latin():
    assert tokenize("환불은 7일") == ["환", "불", "은", "환불", "불은", "7", "7일", "일"]
    assert tokenize("退货时间") == ["退", "货", "时", "间", "退货", "货时", "时间"]
    assert tokenize("How do Refunds work? ＡＢＣ") == ["refund", "work", "abc"]
