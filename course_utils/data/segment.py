"""Splitting text into words: English by words and punctuation, Chinese by greedy longest match over a lexicon.

Used by the tokenizer and by the vocabulary builder (which has no tokenizer yet when it collects the world's words).
"""
from __future__ import annotations

import re
from typing import Collection

_EN = re.compile(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]")
_RUNS = re.compile("[\u2e80-\U0010ffff]+|[^\u2e80-\U0010ffff]+")  # alternating CJK / other runs


def is_cjk(ch: str) -> bool:
    """CJK characters and full-width punctuation."""
    return ord(ch) >= 0x2E80


def segment_zh(text: str, lexicon: Collection[str], max_word: int) -> list[str]:
    """Greedy longest match: at each position take the longest lexicon word (or else one character)."""
    out, i = [], 0
    while i < len(text):
        for n in range(min(max_word, len(text) - i), 0, -1):
            if text[i:i + n] in lexicon or n == 1:
                out.append(text[i:i + n])
                i += n
                break
    return out


def split_words(text: str, lexicon: Collection[str], max_word: int | None = None) -> list[str]:
    """ASCII words, punctuation and Chinese words (greedy longest match over ``lexicon``), in order."""
    if not isinstance(text, str):
        raise ValueError(f"text {text!r} is not a string")
    max_word = max((len(w) for w in lexicon), default=1) if max_word is None else max_word
    out: list[str] = []
    for run in _RUNS.findall(text):
        out += segment_zh(run, lexicon, max_word) if is_cjk(run[0]) else _EN.findall(run)
    return out
