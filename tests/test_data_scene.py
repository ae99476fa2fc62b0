"""Scenes: deterministic from a seed, respect the requested attributes, objects do not overlap."""
import numpy as np

from course_utils.data import (
    COLORS,
    HELD_OUT_COMBOS,
    MAX_OBJECTS,
    SHAPES,
    Obj,
    Scene,
    sample_scene,
    sort_of_clevr_scene,
)


def boxes_apart(a: Obj, b: Obj) -> bool:
    return max(abs(a.x - b.x), abs(a.y - b.y)) >= a.radius + b.radius


def test_same_seed_gives_same_scene():
    assert sample_scene(7) == sample_scene(7)
    assert sample_scene(np.random.default_rng(7)) == sample_scene(np.random.default_rng(7))
    assert sample_scene(7) != sample_scene(8)


def test_object_count_follows_int_and_range():
    rng = np.random.default_rng(0)
    assert all(len(sample_scene(rng, 3).objects) == 3 for _ in range(20))
    counts = {len(sample_scene(rng, (1, 4)).objects) for _ in range(200)}
    assert counts == {1, 2, 3, 4}


def test_objects_lie_inside_the_image_and_do_not_overlap():
    rng = np.random.default_rng(1)
    for _ in range(300):
        objs = sample_scene(rng, (1, 4)).objects
        for i, a in enumerate(objs):
            assert a.radius <= a.x <= 1 - a.radius and a.radius <= a.y <= 1 - a.radius
            assert all(boxes_apart(a, b) for b in objs[i + 1:])


def test_depth_is_the_draw_order():
    s = sample_scene(3, 4)
    assert [o.depth for o in s.objects] == [0, 1, 2, 3]


def test_colors_shapes_combos_and_exclude_are_respected():
    rng = np.random.default_rng(2)
    for _ in range(100):
        s = sample_scene(rng, (1, 2), colors=("red", "blue"), shapes=("circle",))
        assert {o.color for o in s.objects} <= {"red", "blue"} and {o.shape for o in s.objects} == {"circle"}
        s = sample_scene(rng, (1, 2), combos=[("green", "square"), ("yellow", "triangle")])
        assert set(s.pairs()) <= {("green", "square"), ("yellow", "triangle")}
        s = sample_scene(rng, (1, 4), exclude=HELD_OUT_COMBOS)
        assert not set(s.pairs()) & set(HELD_OUT_COMBOS)


def test_pairs_are_unique_by_default_and_distinct_colors_on_request():
    rng = np.random.default_rng(3)
    for _ in range(100):
        s = sample_scene(rng, 4)
        assert len(set(s.pairs())) == 4
        s = sample_scene(rng, 5, distinct_colors=True)
        assert len({o.color for o in s.objects}) == 5


def test_many_objects_fit_at_the_maximum():
    s = sample_scene(0, MAX_OBJECTS, sizes=("small",))
    assert len(s.objects) == MAX_OBJECTS


def test_sort_of_clevr_scene_has_six_colors_circles_and_squares():
    rng = np.random.default_rng(4)
    for _ in range(50):
        s = sort_of_clevr_scene(rng)
        assert sorted(o.color for o in s.objects) == sorted(COLORS)
        assert {o.shape for o in s.objects} <= {"circle", "square"}
        assert len({o.size for o in s.objects}) == 1
        objs = s.objects
        assert all(boxes_apart(a, b) for i, a in enumerate(objs) for b in objs[i + 1:])


def test_every_shape_and_color_occurs():
    rng = np.random.default_rng(5)
    seen = {p for _ in range(300) for p in sample_scene(rng).pairs()}
    assert {c for c, _ in seen} == set(COLORS) and {s for _, s in seen} == set(SHAPES)


def test_scene_is_a_plain_list_of_objects():
    s = Scene([Obj("circle", "red", "large", 0.3, 0.4, 0)])
    assert len(s) == 1 and s.pairs() == [("red", "circle")]
