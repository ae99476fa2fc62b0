"""Captions of scenes in English and Chinese, from several templates (paraphrases).

English captions are lower case with a final period; Chinese captions use full-width punctuation.
Every caption names the color and the shape of every object. Spatial words compare object centres:
"left of" means a smaller x, "above" a smaller y (y grows downwards).
"""
from __future__ import annotations

from typing import Optional

from .scene import COLOR_ZH, SHAPE_ZH, SIZE_ZH, Obj, RngLike, Scene, as_rng

LANGS = ("en", "zh")
CAPTION_TEMPLATES = ("list", "count", "relation", "position")

NUMBER_EN = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
NUMBER_ZH = ("零", "一", "两", "三", "四", "五", "六", "七", "八", "九")
PLURAL_EN = {"circle": "circles", "square": "squares", "triangle": "triangles"}

RELATIONS = ("left", "right", "above", "below")
RELATION_EN = {"left": "to the left of", "right": "to the right of", "above": "above", "below": "below"}
RELATION_ZH = {"left": "左边", "right": "右边", "above": "上方", "below": "下方"}

# 3x3 grid of regions, row-major from the top left.
REGION_EN = ("at the top left", "at the top", "at the top right",
             "on the left", "in the center", "on the right",
             "at the bottom left", "at the bottom", "at the bottom right")
REGION_ZH = ("左上角", "上方", "右上角", "左边", "中间", "右边", "左下角", "下方", "右下角")


def check_lang(lang) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; allowed: en, zh")
    return lang


def describe_object(obj: Obj, lang: str = "en", *, size: bool = True, article: str = "") -> str:
    """'large red circle' / '红色的大圆形'; article 'a' (becomes 'an' before a vowel) or 'the' (en), '一个' (zh)."""
    check_lang(lang)
    if lang == "en":
        words = [obj.size] if size else []
        text = " ".join(words + [obj.color, obj.shape])
        if article == "a" and text[0] in "aeiou":
            article = "an"
        return f"{article} {text}" if article else text
    text = f"{COLOR_ZH[obj.color]}的{SIZE_ZH[obj.size] if size else ''}{SHAPE_ZH[obj.shape]}"
    return article + text


def _compact_zh(obj: Obj, size: bool) -> str:
    """Short Chinese noun phrase without 的, used before 的左边 etc.: '蓝色小正方形'."""
    return f"{COLOR_ZH[obj.color]}{SIZE_ZH[obj.size] if size else ''}{SHAPE_ZH[obj.shape]}"


def relation(a: Obj, b: Obj) -> str:
    """Where a is relative to b along the axis where they differ most: left / right / above / below."""
    dx, dy = a.x - b.x, a.y - b.y
    if abs(dx) >= abs(dy):
        return "left" if dx < 0 else "right"
    return "above" if dy < 0 else "below"


def names_a_place(caption: str) -> bool:
    """Whether a caption names one of the 3×3 regions ("at the top left", "左上角", …)."""
    return any(r in caption for r in REGION_EN + REGION_ZH)


def region(obj: Obj) -> int:
    """Index of the 3x3 grid cell holding the object's centre (0 = top left, 8 = bottom right)."""
    col = min(int(obj.x * 3), 2)
    row = min(int(obj.y * 3), 2)
    return 3 * row + col


def _join_en(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _join_zh(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return "、".join(items[:-1]) + "和" + items[-1]


def _left_to_right(scene: Scene) -> list[Obj]:
    return sorted(scene.objects, key=lambda o: (o.x, o.y))


def _list(scene, lang):
    objs = _left_to_right(scene)
    if lang == "en":
        return _join_en([describe_object(o, "en", article="a") for o in objs]) + "."
    return "图中有" + _join_zh([describe_object(o, "zh", article="一个") for o in objs]) + "。"


def _count(scene, lang):
    objs = _left_to_right(scene)
    n = len(objs)
    if lang == "en":
        head = "there is one object: " if n == 1 else f"there are {NUMBER_EN[n]} objects: "
        return head + _join_en([describe_object(o, "en", article="a") for o in objs]) + "."
    return f"图中共有{NUMBER_ZH[n]}个物体：" + _join_zh([describe_object(o, "zh", article="一个") for o in objs]) + "。"


def _relation(scene, lang):
    objs = scene.objects
    if len(objs) == 1:
        return _position(scene, lang)
    clauses = []
    for k in range(len(objs) - 1):
        a, b = objs[k], objs[k + 1]
        rel = relation(a, b)
        if lang == "en":
            subj = describe_object(a, "en", size=False, article="a" if k == 0 else "the")
            clauses.append(f"{subj} is {RELATION_EN[rel]} {describe_object(b, 'en', size=False, article='a')}")
        else:
            subj = describe_object(a, "zh", size=False, article="一个" if k == 0 else "")
            clauses.append(f"{subj}在{_compact_zh(b, size=False)}的{RELATION_ZH[rel]}")
    if lang == "en":
        return ", and ".join(clauses) + "." if len(clauses) == 2 else ". ".join(clauses) + "."
    return "，".join(clauses) + "。"


def _position(scene, lang):
    objs = _left_to_right(scene)
    if lang == "en":
        return _join_en([f"{describe_object(o, 'en', article='a')} {REGION_EN[region(o)]}" for o in objs]) + "."
    return "，".join(f"{REGION_ZH[region(o)]}有{describe_object(o, 'zh', article='一个')}" for o in objs) + "。"


_TEMPLATES = {"list": _list, "count": _count, "relation": _relation, "position": _position}


def caption(scene: Scene, lang: str = "en", rng: RngLike = None, *, template: Optional[str] = None) -> str:
    """One caption of the scene. rng=None and template=None give the first template ('list')."""
    check_lang(lang)
    if not scene.objects:
        raise ValueError("cannot caption an empty scene (0 objects)")
    if template is None:
        template = CAPTION_TEMPLATES[0] if rng is None else CAPTION_TEMPLATES[as_rng(rng).integers(len(_TEMPLATES))]
    if template not in _TEMPLATES:
        raise ValueError(f"unknown caption template {template!r}; allowed: {', '.join(CAPTION_TEMPLATES)}")
    return _TEMPLATES[template](scene, lang)


def all_captions(scene: Scene, lang: str = "en") -> list[str]:
    """Every template's caption of the scene (distinct ones, template order): references for metrics."""
    out = []
    for t in CAPTION_TEMPLATES:
        c = caption(scene, lang, template=t)
        if c not in out:
            out.append(c)
    return out


def number_word(n: int, lang: str = "en") -> str:
    check_lang(lang)
    return (NUMBER_EN if lang == "en" else NUMBER_ZH)[n]

