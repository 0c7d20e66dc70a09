"""Search tokens for Korean, Chinese (and Japanese kana) without a dictionary, and words for Latin script.

Runs of Hangul or Han characters become character unigrams plus bigrams: paraphrased questions
share short character n-grams with the passage far more often than they share whole words
(Korean particles and verb endings change, Chinese has no spaces). Latin words are lower-cased,
folded by NFKC, and lose a plural `s` or an `-ing`/`-ed`; a number written against a CJK run ("7일", "7天")
also yields the joined bigram.
"""

from __future__ import annotations

import functools
import operator
import re
import unicodedata

_CJK = "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff"
_TOKEN = re.compile(rf"(?P<number>[0-9]+)|(?P<word>[a-z]+(?:'[a-z]+)?)|(?P<cjk>[{_CJK}]+)")

# Words so common in English questions that they only add noise to BM25.
STOPWORDS = frozenset(
    "a an the is are was were be been am do does did of to in on at for by with from and or "
    "it its this that these those i you we my your our me can could would should will shall "
    "how what when where which who whom why if as so than then there their them they he she "
    "his her about into out up down any some".split()
)


@functools.lru_cache(maxsize=65536)
def _fold(word: str) -> str:
    # A light stemmer: plurals and the common verb endings ("returning", "returned" → "return").
    # Cached: the same words come back in nearly every chunk.
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
        return word[:-1] if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz" else word
    if len(word) > 4 and word.endswith("ed") and not word.endswith("eed"):
        word = word[:-2]
        return word[:-1] if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz" else word
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """The BM25 tokens of `text`: CJK character uni+bigrams, folded Latin words, numbers."""
    text = unicodedata.normalize("NFKC", text).lower()
    tokens: list[str] = []
    append, extend = tokens.append, tokens.extend
    previous_end = -1
    previous_number = ""
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        piece = match.group()
        if kind == "cjk":
            if previous_number and match.start() == previous_end:
                append(previous_number + piece[0])
            extend(piece)
            extend(map(operator.add, piece, piece[1:]))
            previous_number = ""
        elif kind == "number":
            append(piece)
            previous_number = piece
        else:
            if piece not in STOPWORDS:
                append(_fold(piece))
            previous_number = ""
        previous_end = match.end()
    return tokens
