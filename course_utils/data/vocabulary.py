"""The closed vocabulary of the world: the Chinese word list (lexicon) and every token the generators write.

Token ids depend on this set (the tokenizer sorts it), so trained checkpoints stay valid only while the
templates do not change.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .language import CAPTION_TEMPLATES, NUMBER_EN, NUMBER_ZH, REGION_EN, REGION_ZH, RELATION_EN, RELATION_ZH, caption
from .qa import ANSWER_ZH, ANSWERS, questions
from .scene import COLOR_ZH, COLORS, SHAPE_ZH, SHAPES, SIZE_ZH, SIZES, sample_scene, sort_of_clevr_scene
from .segment import split_words

# Chinese words for the greedy longest-match segmenter (anything else falls back to single characters).
ZH_WORDS = (
    *COLOR_ZH.values(), *SHAPE_ZH.values(), *SIZE_ZH.values(), *REGION_ZH, *RELATION_ZH.values(),
    *ANSWER_ZH.values(), *[n + "个" for n in NUMBER_ZH],
    "图中", "图片", "一共", "共有", "物体", "还是", "是否", "什么", "形状", "颜色", "最近", "最远", "几个",
    "还有", "相同",
)


def _corpus():
    """Captions and questions of a fixed set of scenes, covering every template and 1-9 objects."""
    rng = np.random.default_rng(1234)
    scenes = [sample_scene(rng, n, sizes=("small",) if n > 6 else SIZES) for n in range(1, 10) for _ in range(12)]
    scenes += [sort_of_clevr_scene(rng) for _ in range(12)]
    for k, s in enumerate(scenes):
        for lang in ("en", "zh"):
            for t in CAPTION_TEMPLATES:
                yield caption(s, lang, template=t)
            for q in questions(s, lang, rng) + questions(s, lang):
                yield q.question
                yield q.answer
            if len(s.objects) == 6 and len({o.color for o in s.objects}) == 6:
                for q in questions(s, lang, mode="sort_of_clevr"):
                    yield q.question
                    yield q.answer


@lru_cache(maxsize=1)
def world_tokens() -> tuple[str, ...]:
    """Every token of the world's captions, questions and answers in both languages."""
    lexicon, max_word = set(ZH_WORDS), max(len(w) for w in ZH_WORDS)
    words = set(ZH_WORDS) | set(ANSWERS) | set(COLORS) | set(SHAPES) | set(SIZES) | set(NUMBER_EN)
    words |= {"circles", "squares", "triangles", "a", "an", "the"}
    for phrase in (*REGION_EN, *RELATION_EN.values()):
        words |= set(phrase.split())
    for text in set(_corpus()):
        words |= set(split_words(text, lexicon, max_word))
    return tuple(sorted(words))
