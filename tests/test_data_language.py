"""Captions and questions: they name every object, and every answer agrees with the scene.

Answers are recomputed here from the scene by code independent of the package: the English question is
parsed with regular expressions, the Chinese one is checked against its parallel English question."""
import re

import numpy as np
import pytest

from course_utils.data import (
    ANSWERS,
    CAPTION_TEMPLATES,
    FAMILIES,
    QA,
    QUESTION_VECTOR_SIZE,
    TWO_HOP_KINDS,
    WORLD_FAMILIES,
    Tokenizer,
    all_captions,
    answer_index,
    answer_text,
    caption,
    describe_object,
    questions,
    sample_scene,
    sort_of_clevr_scene,
    sort_of_clevr_vector,
)

ZH_COLOR = {"red": "红色", "green": "绿色", "blue": "蓝色", "yellow": "黄色", "purple": "紫色", "orange": "橙色"}
ZH_SHAPE = {"circle": "圆形", "square": "正方形", "triangle": "三角形"}
ZH_ANSWER = {"yes": "是", "no": "否", "small": "小", "large": "大", "left": "左边", "right": "右边", "top": "上方",
             "bottom": "下方", **ZH_COLOR, **ZH_SHAPE,
             **{str(i): w + "个" for i, w in enumerate("零一两三四五六七八九")}}


def scenes(seed, n=60, n_objects=(1, 4), **kw):
    rng = np.random.default_rng(seed)
    return [sample_scene(rng, n_objects, **kw) for _ in range(n)]


# ---------------------------------------------------------------- captions
def mentions(text: str, color: str, shape: str, lang: str) -> int:
    if lang == "en":
        return len(re.findall(rf"\b{color} {shape}\b", text))
    return len(re.findall(f"{ZH_COLOR[color]}的?[大小]?{ZH_SHAPE[shape]}", text))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_caption_names_each_objects_color_and_shape(lang):
    for s in scenes(0, unique_pairs=False) + [sort_of_clevr_scene(1)]:
        for t in CAPTION_TEMPLATES:
            text = caption(s, lang, template=t)
            for c, sh in set(s.pairs()):
                assert mentions(text, c, sh, lang) >= s.pairs().count((c, sh)), (text, c, sh)


def test_captions_are_deterministic_and_rng_picks_paraphrases():
    s = sample_scene(3, 3)
    assert caption(s) == caption(s) == caption(s, template=CAPTION_TEMPLATES[0])
    assert caption(s, rng=11) == caption(s, rng=11)
    rng = np.random.default_rng(0)
    picked = {caption(s, "en", rng) for _ in range(40)}
    assert len(picked) == len(CAPTION_TEMPLATES) == len(all_captions(s))


def test_caption_examples_read_naturally():
    from course_utils.data import Obj, Scene
    s = Scene([Obj("circle", "red", "large", 0.2, 0.5, 0), Obj("square", "blue", "small", 0.8, 0.5, 1)])
    assert caption(s, "zh", template="relation") == "一个红色的圆形在蓝色正方形的左边。"
    assert caption(s, "en", template="relation") == "a red circle is to the left of a blue square."
    assert caption(s, "en") == "a large red circle and a small blue square."
    assert caption(s, "zh") == "图中有一个红色的大圆形和一个蓝色的小正方形。"
    assert caption(s, "zh", template="position") == "左边有一个红色的大圆形，右边有一个蓝色的小正方形。"
    assert describe_object(Obj("triangle", "orange", "small"), "en", article="a") == "a small orange triangle"
    assert describe_object(Obj("triangle", "orange"), "en", size=False, article="a") == "an orange triangle"
    assert describe_object(Obj("triangle", "orange", "large"), "zh", article="一个") == "一个橙色的大三角形"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_relation_captions_state_true_relations(lang):
    words = {"en": {"to the left of": "L", "to the right of": "R", "above": "A", "below": "B"},
             "zh": {"左边": "L", "右边": "R", "上方": "A", "下方": "B"}}[lang]
    for s in scenes(4, n_objects=2):
        a, b = s.objects
        dx, dy = a.x - b.x, a.y - b.y
        truth = ("L" if dx < 0 else "R") if abs(dx) >= abs(dy) else ("A" if dy < 0 else "B")
        text = caption(s, lang, template="relation")
        said = [v for k, v in words.items() if k in text]
        assert said == [truth], text


def test_position_captions_name_the_right_region():
    for s in scenes(5, n_objects=1):
        o = s.objects[0]
        col = "left" if o.x < 1 / 3 else ("right" if o.x >= 2 / 3 else "")
        row = "top" if o.y < 1 / 3 else ("bottom" if o.y >= 2 / 3 else "")
        text = caption(s, "en", template="position")
        want = f"{row} {col}".strip() or "center"
        assert text.endswith(f"{want}.") and f"{o.color} {o.shape}" in text, text


# ---------------------------------------------------------------- questions
def obj_named(s, color, shape=None):
    found = [o for o in s.objects if o.color == color and (shape is None or o.shape == shape)]
    assert len(found) == 1, "a question must name exactly one object"
    return found[0]


def dist(a, b):
    return ((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5


def expected_answer(s, q: str) -> str:
    """The answer to an English question, computed from the scene."""
    objs = s.objects
    m = re.fullmatch(r"(?:what size is|is) the (\w+) (\w+)(?: small or large)?\?", q)
    if m:
        return obj_named(s, *m.groups()).size
    m = re.fullmatch(r"is the (\w+) (\w+|object) on the left or (?:on the )?right(?: of the image)?\?", q)
    if m:
        c, sh = m.groups()
        return "left" if obj_named(s, c, None if sh == "object" else sh).x < 0.5 else "right"
    m = re.fullmatch(r"is the (\w+) (\w+|object) (?:at|on) the top or (?:at the )?bottom(?: of the image)?\?", q)
    if m:
        c, sh = m.groups()
        return "top" if obj_named(s, c, None if sh == "object" else sh).y < 0.5 else "bottom"
    m = re.fullmatch(r"what (shape|color) is the object (closest to|furthest from) the (\w+) (\w+)\?", q) or \
        re.fullmatch(r"what is the (shape) of the object that is (closest to|furthest from) the (\w+) (object)\?", q)
    if m:
        attr, which, c, sh = m.groups()
        o = obj_named(s, c, None if sh == "object" else sh)
        ds = sorted((dist(o, p), p) for p in objs if p is not o)
        p = ds[0][1] if which == "closest to" else ds[-1][1]
        return getattr(p, attr)
    m = re.fullmatch(r"how many other objects have the same shape as the (\w+) (\w+)\?", q)
    if m:
        o = obj_named(s, *m.groups())
        return str(sum(p.shape == o.shape for p in objs) - 1)
    m = re.fullmatch(r"how many objects have the shape of the (\w+) object\?", q)
    if m:
        o = obj_named(s, m.group(1))
        return str(sum(p.shape == o.shape for p in objs))
    m = re.fullmatch(r"what (?:shape is|is the shape of) the (\w+) object\?", q)
    if m:
        return obj_named(s, m.group(1)).shape
    m = re.fullmatch(r"what color is the (\w+)\?", q)
    if m:
        (o,) = [p for p in objs if p.shape == m.group(1)]
        return o.color
    m = re.fullmatch(r"is the (\w+) (\w+) (to the left of|to the right of|above|below) the (\w+) (\w+)\?", q)
    if m:
        c1, s1, rel, c2, s2 = m.groups()
        a, b = obj_named(s, c1, s1), obj_named(s, c2, s2)
        truth = {"to the left of": a.x < b.x, "to the right of": a.x > b.x, "above": a.y < b.y, "below": a.y > b.y}
        return "yes" if truth[rel] else "no"
    if q in ("how many objects are there?", "how many objects are in the image?"):
        return str(len(objs))
    m = re.fullmatch(r"how many (circle|square|triangle)s are there\?", q)
    if m:
        return str(sum(p.shape == m.group(1) for p in objs))
    m = re.fullmatch(r"how many (\w+) objects are there\?", q)
    if m:
        w = m.group(1)
        return str(sum(w in (p.color, p.size) for p in objs))
    m = re.fullmatch(r"is there an? (\w+) (\w+)\?", q)
    if m:
        return "yes" if tuple(m.groups()) in s.pairs() else "no"
    m = re.fullmatch(r"are there any (\w+) objects\?", q)
    if m:
        return "yes" if any(p.color == m.group(1) for p in objs) else "no"
    raise AssertionError(f"question not understood by the test: {q!r}")


def all_question_scenes():
    world = [("world", s) for s in scenes(6, 80, (1, 5)) + scenes(7, 40, (2, 5), unique_pairs=False)]
    return world + [("sort_of_clevr", sort_of_clevr_scene(k)) for k in range(40)]


def test_every_english_answer_agrees_with_the_scene():
    n = 0
    for mode, s in all_question_scenes():
        for rng in (None, 1):
            for qa in questions(s, "en", rng, mode=mode):
                assert qa.answer == expected_answer(s, qa.question), qa
                assert qa.family in FAMILIES and qa.answer in ANSWERS
                n += 1
    assert n > 3000


def test_chinese_questions_parallel_the_english_ones():
    for mode, s in all_question_scenes()[::3]:
        en, zh = questions(s, "en", 9, mode=mode), questions(s, "zh", 9, mode=mode)
        assert len(en) == len(zh)
        for e, z in zip(en, zh):
            assert z.family == e.family and z.answer == ZH_ANSWER[e.answer]
            for c, w in ZH_COLOR.items():
                assert (re.search(rf"\b{c}\b", e.question) is not None) == (w in z.question), (e, z)
            for sh, w in ZH_SHAPE.items():
                assert (re.search(rf"\b{sh}s?\b", e.question) is not None) == (w in z.question), (e, z)
            assert z.question.endswith("？") and answer_index(z.answer) == answer_index(e.answer)


def test_every_family_occurs_and_sort_of_clevr_has_its_six_question_types():
    fams = {q.family for _, s in all_question_scenes()[:20] for q in questions(s)}
    assert fams == set(WORLD_FAMILIES) == set(FAMILIES) - {"two-hop"}
    qs = questions(sort_of_clevr_scene(0), mode="sort_of_clevr")
    assert len(qs) == 36 and sum(q.family == "relational" for q in qs) == 18


def test_sort_of_clevr_question_vector():
    qs = questions(sort_of_clevr_scene(0), mode="sort_of_clevr")
    vecs = {tuple(sort_of_clevr_vector(q).tolist()) for q in qs}
    assert len(vecs) == 36                                         # 6 colors x 6 question types, all different
    v = sort_of_clevr_vector(qs[0])
    assert v.shape == (QUESTION_VECTOR_SIZE,) == (11,) and v.sum() == 3


def test_answer_index_is_shared_by_both_languages():
    for i, a in enumerate(ANSWERS):
        assert answer_index(a) == i == answer_index(answer_text(i, "zh"))
        assert answer_text(a, "zh") == ZH_ANSWER[a]


def test_questions_are_deterministic():
    s = sample_scene(8, 3)
    assert questions(s, "zh", 5) == questions(s, "zh", 5)
    assert questions(s) == questions(s)
    assert isinstance(questions(s)[0], QA)


def test_two_hop_questions_follow_both_steps_in_both_languages():
    scene = sort_of_clevr_scene(3)
    objs = {o.color: o for o in scene.objects}
    dist = lambda a, b: ((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5                          # noqa: E731
    en = [q for q in questions(scene, mode="sort_of_clevr", two_hop=True) if q.family == "two-hop"]
    zh = [q for q in questions(scene, "zh", mode="sort_of_clevr", two_hop=True) if q.family == "two-hop"]
    assert len(en) == len(zh) >= 6 and {q.kind for q in en} == set(TWO_HOP_KINDS)
    for e, z in zip(en, zh):
        o = objs[e.subject[0]]
        others = [p for p in scene.objects if p is not o]
        first_step = (max if e.kind == "closest_of_furthest" else min)(others, key=lambda p: dist(o, p))
        others2 = [p for p in scene.objects if p is not first_step]
        second_step = (min if e.kind == "closest_of_furthest" else max)(others2, key=lambda p: dist(first_step, p))
        assert e.answer == second_step.color and answer_index(z.answer) == answer_index(e.answer)
        assert z.question.startswith("离离") and z.question.endswith("是什么颜色？")
    assert len(questions(scene, mode="sort_of_clevr")) == 36                  # off by default: the paper's six kinds


def test_two_hop_questions_need_no_new_tokens():
    tok = Tokenizer.for_world()
    scene = sort_of_clevr_scene(5)
    for lang in ("en", "zh"):
        for q in questions(scene, lang, mode="sort_of_clevr", two_hop=True):
            assert tok.unk_id not in tok.encode(q.question), q.question
