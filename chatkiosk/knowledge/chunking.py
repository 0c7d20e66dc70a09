"""Paragraphs into chunks: along headings, packed up to a size, with a little overlap.

A chunk never spans two heading sections, so its heading path (e.g. "Refunds > Card payments")
tells the reader where it came from. Inside a section paragraphs are packed up to
`max_chars`; the next chunk repeats the last sentence of the previous one (up to
`overlap_chars`) so an answer that straddles the cut is still found whole. A paragraph longer
than `max_chars` is cut at sentence ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import groupby

from chatkiosk.knowledge.formats import Paragraph

MAX_CHARS = 800
OVERLAP_CHARS = 160
HEADING_SEPARATOR = " > "
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One piece of a document as it is indexed and cited."""

    index: int
    heading: str
    text: str


def _sentences(text: str) -> list[str]:
    return [s for s in (part.strip() for part in _SENTENCE_END.split(text)) if s]


def _split_long(text: str, max_chars: int) -> list[str]:
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in _sentences(text):
        while len(sentence) > max_chars:  # one endless "sentence": cut it hard
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:max_chars])
            sentence = sentence[max_chars:]
        if current and len(current) + 1 + len(sentence) > max_chars:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        pieces.append(current)
    return pieces


def _tail(text: str, overlap_chars: int) -> str:
    sentences = _sentences(text)
    last = sentences[-1] if sentences else text
    return last if len(last) <= overlap_chars else ""


def chunk_paragraphs(paragraphs: list[Paragraph], *, max_chars: int = MAX_CHARS, overlap_chars: int = OVERLAP_CHARS) -> list[Chunk]:
    """The chunks of a document, numbered from 0 in reading order."""
    chunks: list[Chunk] = []
    for headings, group in groupby(paragraphs, key=lambda p: p.headings):
        heading = HEADING_SEPARATOR.join(headings)
        pieces = [piece for p in group for piece in _split_long(p.text, max_chars)]
        current: list[str] = []
        size = 0
        carried = False  # `current` starts with the previous chunk's overlap only
        for piece in pieces:
            if current and size + len(piece) + 1 > max_chars and not (carried and len(current) == 1):
                chunks.append(Chunk(len(chunks), heading, "\n".join(current)))
                overlap = _tail(current[-1], overlap_chars)
                current, size, carried = ([overlap], len(overlap), True) if overlap else ([], 0, False)
            current.append(piece)
            size += len(piece) + 1
            if len(current) > 1 or not carried:
                carried = False
        if current and not (carried and len(current) == 1):
            chunks.append(Chunk(len(chunks), heading, "\n".join(current)))
    return chunks
