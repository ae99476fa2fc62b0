"""The world's text without its images: the corpus the tiny language model of 24.3 and 24.12 is pre-trained on.

Each line is one caption (a random template) or one question followed by its answer, in English or Chinese, about
a fresh scene of the training split (1–4 objects), or about a Sort-of-CLEVR scene (six objects of distinct colors,
one- and two-hop questions). A language model trained on it knows the world's grammar and what answers a question
can have, but not which one is right: that needs the image.
"""
from __future__ import annotations

import numpy as np

from .language import CAPTION_TEMPLATES, caption
from .qa import questions
from .scene import RngLike, as_rng, sort_of_clevr_scene
from .splits import sample_split_scene

LANGS = ("en", "zh")
KINDS = ("caption", "world question", "sort-of-clevr question")
MIX = (0.4, 0.4, 0.2)  # how often a line is of each kind


def qa_line(question: str, answer: str) -> str:
    """One question and its answer as a line of text ("what color is …? red" / "…是什么颜色？红色")."""
    return f"{question} {answer}"


def text_line(rng: RngLike) -> str:
    """One line of the world's text: a caption or a question and its answer, English or Chinese."""
    rng = as_rng(rng)
    lang = LANGS[int(rng.integers(len(LANGS)))]
    kind = KINDS[int(rng.choice(len(KINDS), p=MIX))]
    if kind == "caption":
        template = CAPTION_TEMPLATES[int(rng.integers(len(CAPTION_TEMPLATES)))]
        return caption(sample_split_scene(rng, "train"), lang, template=template)
    if kind == "world question":
        qas = questions(sample_split_scene(rng, "train"), lang, rng)
    else:
        qas = questions(sort_of_clevr_scene(rng), lang, rng, mode="sort_of_clevr", two_hop=True)
    qa = qas[int(rng.integers(len(qas)))]
    return qa_line(qa.question, qa.answer)


def text_lines(rng: RngLike, n: int) -> list[str]:
    """n lines of world text (see ``text_line``)."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n {n!r} must be an int >= 1")
    rng = as_rng(rng)
    return [text_line(rng) for _ in range(int(n))]
