"""Questions and answers about a scene, in English and Chinese, with answers from a fixed vocabulary.

Two modes:
- "world": questions about objects named by color and shape ("the red circle"), in four families
  non-relational, relational, count and exist.
- "sort_of_clevr": the six question types of Sort-of-CLEVR (Santoro et al. 2017, "A simple neural network
  module for relational reasoning"), asked about every object (objects must have distinct colors); with
  two_hop=True also two-step questions ("what color is the object closest to the object furthest from the red
  object?"), family "two-hop".

Geometry: "left" means the centre has x < 0.5, "top" y < 0.5; "closest"/"furthest" use the distance
between centres; "to the left of" compares centres' x, "above" compares y (y grows downwards).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import torch

from .language import RELATION_EN, RELATION_ZH, RELATIONS, check_lang
from .scene import COLOR_ZH, COLORS, SHAPE_ZH, SHAPES, SIZES, Obj, RngLike, Scene, as_rng

FAMILIES = ("non-relational", "relational", "count", "exist", "two-hop")
WORLD_FAMILIES = FAMILIES[:4]          # the families of mode "world"; "two-hop" is Sort-of-CLEVR only
TWO_HOP_KINDS = ("closest_of_furthest", "furthest_of_closest")
MODES = ("world", "sort_of_clevr")

ANSWERS = ("yes", "no", *[str(i) for i in range(10)], *COLORS, *SHAPES, *SIZES, "left", "right", "top", "bottom")
_COUNT_ZH = ("零个", "一个", "两个", "三个", "四个", "五个", "六个", "七个", "八个", "九个")
ANSWER_ZH = {"yes": "是", "no": "否", **{str(i): _COUNT_ZH[i] for i in range(10)}, **COLOR_ZH, **SHAPE_ZH,
             "small": "小", "large": "大", "left": "左边", "right": "右边", "top": "上方", "bottom": "下方"}
_INDEX = {a: i for i, a in enumerate(ANSWERS)} | {ANSWER_ZH[a]: i for i, a in enumerate(ANSWERS)}

# Sort-of-CLEVR question vector: 6 color one-hot + 2 question type + 3 subtype (the paper's 11 numbers).
SORT_OF_CLEVR_KINDS = {"shape": (0, 0), "horizontal": (0, 1), "vertical": (0, 2),
                       "closest": (1, 0), "furthest": (1, 1), "count": (1, 2)}
QUESTION_VECTOR_SIZE = len(COLORS) + 2 + 3


@dataclass
class QA:
    """A question, its answer (English token from ANSWERS, or its Chinese form), its family and kind.

    subject: (color, shape) of the object asked about; entries are None where they do not apply."""

    question: str
    answer: str
    family: str
    kind: str = ""
    subject: tuple = (None, None)

    @property
    def answer_id(self) -> int:
        return answer_index(self.answer)


def answer_index(answer: str) -> int:
    """Index in ANSWERS of an English or Chinese answer ('red' and '红色' share an index)."""
    try:
        return _INDEX[answer]
    except (KeyError, TypeError):
        raise ValueError(f"answer {answer!r} is not in the answer vocabulary ANSWERS (or its Chinese forms)") from None


def answer_text(index_or_answer: Union[int, str], lang: str = "en") -> str:
    """The answer for an index (or an answer in either language) in the given language."""
    check_lang(lang)
    i = index_or_answer if isinstance(index_or_answer, (int, np.integer)) else answer_index(index_or_answer)
    if not 0 <= i < len(ANSWERS):
        raise ValueError(f"answer index {i} is outside 0..{len(ANSWERS) - 1}")
    a = ANSWERS[int(i)]
    return a if lang == "en" else ANSWER_ZH[a]


def _dist(a: Obj, b: Obj) -> float:
    return float(np.hypot(a.x - b.x, a.y - b.y))


def _nearest_and_farthest(o: Obj, others: list[Obj]):
    """(closest, furthest) object, or None where two distances tie."""
    d = sorted(((_dist(o, p), i) for i, p in enumerate(others)))
    closest = others[d[0][1]] if len(d) == 1 or d[1][0] - d[0][0] > 1e-9 else None
    furthest = others[d[-1][1]] if len(d) == 1 or d[-1][0] - d[-2][0] > 1e-9 else None
    return closest, furthest


def _a(text: str) -> str:
    return ("an " if text[0] in "aeiou" else "a ") + text


class _Writer:
    """Builds QA objects in one language; answers are stored in that language."""

    def __init__(self, lang: str, rng: Optional[np.random.Generator]):
        self.lang, self.rng, self.out = lang, rng, []

    def pick(self, n: int) -> int:
        return 0 if self.rng is None else int(self.rng.integers(n))

    def add(self, en, zh, answer, family, kind, subject=(None, None)):
        if isinstance(en, tuple):                  # paraphrases: same index for both languages
            k = self.pick(len(en))
            en, zh = en[k], zh[k]
        q, a = (en, answer) if self.lang == "en" else (zh, ANSWER_ZH[answer])
        self.out.append(QA(q, a, family, kind, subject))


def _world(scene: Scene, w: _Writer):
    objs = scene.objects
    pairs = [o.pair for o in objs]
    named = [o for o in objs if pairs.count(o.pair) == 1]          # "the red circle" names exactly one object
    NR, R, C, E = WORLD_FAMILIES
    for o in named:
        c, s = o.color, o.shape
        en, zh, zc = f"the {c} {s}", f"{COLOR_ZH[c]}的{SHAPE_ZH[s]}", f"{COLOR_ZH[c]}{SHAPE_ZH[s]}"
        subj = (c, s)
        w.add((f"what size is {en}?", f"is {en} small or large?"), (f"{zh}是大还是小？", f"{zh}是小的还是大的？"),
              o.size, NR, "size", subj)
        w.add(f"is {en} on the left or on the right?", f"{zh}在左边还是右边？",
              "left" if o.x < 0.5 else "right", NR, "horizontal", subj)
        w.add(f"is {en} at the top or at the bottom?", f"{zh}在上方还是下方？",
              "top" if o.y < 0.5 else "bottom", NR, "vertical", subj)
        others = [p for p in objs if p is not o]
        if others:
            closest, furthest = _nearest_and_farthest(o, others)
            if closest is not None:
                w.add(f"what shape is the object closest to {en}?", f"离{zc}最近的物体是什么形状？",
                      closest.shape, R, "closest", subj)
            if furthest is not None:
                w.add(f"what color is the object furthest from {en}?", f"离{zc}最远的物体是什么颜色？",
                      furthest.color, R, "furthest", subj)
            w.add(f"how many other objects have the same shape as {en}?", f"还有几个物体和{zc}的形状相同？",
                  str(sum(p.shape == s for p in others)), R, "same_shape", subj)
    colors, shapes = [o.color for o in objs], [o.shape for o in objs]
    for c in COLORS:
        if colors.count(c) == 1:
            w.add((f"what shape is the {c} object?", f"what is the shape of the {c} object?"),
                  (f"{COLOR_ZH[c]}的物体是什么形状？", f"{COLOR_ZH[c]}物体的形状是什么？"),
                  shapes[colors.index(c)], NR, "shape_of_color", (c, None))
    for s in SHAPES:
        if shapes.count(s) == 1:
            w.add(f"what color is the {s}?", f"{SHAPE_ZH[s]}是什么颜色的？",
                  colors[shapes.index(s)], NR, "color_of_shape", (None, s))
    for i, a in enumerate(named):
        for j in range(i + 1, len(named)):
            b = named[j]
            rel = RELATIONS[(i + j) % 4] if w.rng is None else RELATIONS[w.pick(4)]
            truth = {"left": a.x < b.x, "right": a.x > b.x, "above": a.y < b.y, "below": a.y > b.y}[rel]
            w.add(f"is the {a.color} {a.shape} {RELATION_EN[rel]} the {b.color} {b.shape}?",
                  f"{COLOR_ZH[a.color]}的{SHAPE_ZH[a.shape]}是否在{COLOR_ZH[b.color]}{SHAPE_ZH[b.shape]}的{RELATION_ZH[rel]}？",
                  "yes" if truth else "no", R, "relative_position", (a.color, a.shape))
    w.add(("how many objects are there?", "how many objects are in the image?"),
          ("图中有几个物体？", "图片里一共有几个物体？"), str(len(objs)), C, "count_all")
    plural = {"circle": "circles", "square": "squares", "triangle": "triangles"}
    for s in SHAPES:
        w.add(f"how many {plural[s]} are there?", f"图中有几个{SHAPE_ZH[s]}？", str(shapes.count(s)), C, "count_shape",
              (None, s))
    absent_colors = [c for c in COLORS if c not in colors]
    asked = [c for c in COLORS if c in colors]
    if absent_colors:
        asked.append(absent_colors[w.pick(len(absent_colors))])
    for c in asked:
        w.add(f"how many {c} objects are there?", f"图中有几个{COLOR_ZH[c]}的物体？", str(colors.count(c)), C,
              "count_color", (c, None))
    sizes = [o.size for o in objs]
    for z in SIZES:
        w.add(f"how many {z} objects are there?", f"图中有几个{'小' if z == 'small' else '大'}物体？",
              str(sizes.count(z)), C, "count_size")
    absent = [(c, s) for c in COLORS for s in SHAPES if (c, s) not in pairs]
    order = list(range(len(absent))) if w.rng is None else list(w.rng.permutation(len(absent)))
    present = list(dict.fromkeys(pairs))
    for k, (c, s) in enumerate(present + [absent[i] for i in order[:len(present)]]):
        w.add(f"is there {_a(f'{c} {s}')}?", f"图中是否有{COLOR_ZH[c]}的{SHAPE_ZH[s]}？",
              "yes" if (c, s) in pairs else "no", E, "exist_pair", (c, s))
    for c in ([colors[0]] + absent_colors[:1]):
        w.add(f"are there any {c} objects?", f"图中是否有{COLOR_ZH[c]}的物体？",
              "yes" if c in colors else "no", E, "exist_color", (c, None))


def _two_hop(o: Obj, objs: list[Obj], first: str) -> Optional[Obj]:
    """The object reached in two steps from o: first the closest (or furthest) object to o, then the furthest (or
    closest) object to that one, among all objects but the one stepped from. None where a step ties."""
    step = {"closest": 0, "furthest": 1}
    a = _nearest_and_farthest(o, [p for p in objs if p is not o])[step[first]]
    if a is None:
        return None
    return _nearest_and_farthest(a, [p for p in objs if p is not a])[1 - step[first]]


def _sort_of_clevr_two_hop(objs: list[Obj], w: _Writer):
    for c in COLORS:
        o = objs[[p.color for p in objs].index(c)]
        zh = f"{COLOR_ZH[c]}物体"
        far_near = _two_hop(o, objs, "furthest")
        if far_near is not None:
            w.add(f"what color is the object closest to the object furthest from the {c} object?",
                  f"离离{zh}最远的物体最近的物体是什么颜色？", far_near.color, "two-hop", "closest_of_furthest",
                  (c, None))
        near_far = _two_hop(o, objs, "closest")
        if near_far is not None:
            w.add(f"what color is the object furthest from the object closest to the {c} object?",
                  f"离离{zh}最近的物体最远的物体是什么颜色？", near_far.color, "two-hop", "furthest_of_closest",
                  (c, None))


def _sort_of_clevr(scene: Scene, w: _Writer, two_hop: bool = False):
    objs = scene.objects
    colors = [o.color for o in objs]
    if len(set(colors)) != len(colors):
        raise ValueError(f"sort_of_clevr questions need objects of distinct colors, got colors {colors}")
    NR, R = FAMILIES[:2]
    for c in COLORS:
        if c not in colors:
            continue
        o = objs[colors.index(c)]
        zh = f"{COLOR_ZH[c]}物体"
        subj = (c, None)
        w.add(f"what is the shape of the {c} object?", f"{zh}是什么形状？", o.shape, NR, "shape", subj)
        w.add(f"is the {c} object on the left or right of the image?", f"{zh}在图片的左边还是右边？",
              "left" if o.x < 0.5 else "right", NR, "horizontal", subj)
        w.add(f"is the {c} object on the top or bottom of the image?", f"{zh}在图片的上方还是下方？",
              "top" if o.y < 0.5 else "bottom", NR, "vertical", subj)
        others = [p for p in objs if p is not o]
        if others:
            closest, furthest = _nearest_and_farthest(o, others)
            if closest is not None:
                w.add(f"what is the shape of the object that is closest to the {c} object?",
                      f"离{zh}最近的物体是什么形状？", closest.shape, R, "closest", subj)
            if furthest is not None:
                w.add(f"what is the shape of the object that is furthest from the {c} object?",
                      f"离{zh}最远的物体是什么形状？", furthest.shape, R, "furthest", subj)
        w.add(f"how many objects have the shape of the {c} object?", f"有几个物体的形状和{zh}相同？",
              str(sum(p.shape == o.shape for p in objs)), R, "count", subj)
    if two_hop:
        _sort_of_clevr_two_hop(objs, w)


def questions(scene: Scene, lang: str = "en", rng: RngLike = None, *, mode: str = "world",
              two_hop: bool = False) -> list[QA]:
    """All questions this scene supports, with answers. rng picks paraphrases and the absent objects
    asked about; rng=None gives a fixed list. Sort-of-CLEVR counts include the object itself.
    two_hop=True adds the two-step questions (mode "sort_of_clevr" only)."""
    check_lang(lang)
    if mode not in MODES:
        raise ValueError(f"unknown question mode {mode!r}; allowed: {', '.join(MODES)}")
    if not scene.objects:
        raise ValueError("cannot ask questions about an empty scene (0 objects)")
    if two_hop and mode != "sort_of_clevr":
        raise ValueError(f"two_hop questions exist in mode 'sort_of_clevr' only, not in mode {mode!r}")
    w = _Writer(lang, None if rng is None else as_rng(rng))
    if mode == "world":
        _world(scene, w)
    else:
        _sort_of_clevr(scene, w, two_hop)
    return w.out


def sort_of_clevr_vector(qa: QA) -> torch.Tensor:
    """The paper's fixed-length question encoding (11,): one-hot color (6), relational? (2), subtype (3)."""
    if qa.kind not in SORT_OF_CLEVR_KINDS or qa.subject[0] not in COLORS:
        raise ValueError(f"question kind {qa.kind!r} about {qa.subject!r} is not a Sort-of-CLEVR question; "
                         f"kinds: {', '.join(SORT_OF_CLEVR_KINDS)}")
    rel, sub = SORT_OF_CLEVR_KINDS[qa.kind]
    v = torch.zeros(QUESTION_VECTOR_SIZE)
    v[COLORS.index(qa.subject[0])] = 1
    v[len(COLORS) + rel] = 1
    v[len(COLORS) + 2 + sub] = 1
    return v


def describe(qa: QA) -> str:
    """'question -> answer [family]' for printing."""
    return f"{qa.question} -> {qa.answer} [{qa.family}]"

