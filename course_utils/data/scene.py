"""Scenes of the toy world: objects with shape, color, size, position and draw order.

Coordinates are normalized: x, y in [0, 1] with x to the right and y downwards (image convention);
(x, y) is the centre of the object's bounding box. Object sizes are fractions of the image side,
so one scene renders at any resolution (32x32 or 64x64).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from typing import Iterable, Optional, Sequence, Union

import numpy as np

SHAPES = ("circle", "square", "triangle")
COLORS = ("red", "green", "blue", "yellow", "purple", "orange")
SIZES = ("small", "large")

COLOR_RGB = {
    "red": (0.90, 0.10, 0.10),
    "green": (0.10, 0.75, 0.20),
    "blue": (0.15, 0.35, 0.95),
    "yellow": (0.95, 0.90, 0.10),
    "purple": (0.60, 0.20, 0.80),
    "orange": (1.00, 0.55, 0.05),
}
COLOR_ZH = {"red": "红色", "green": "绿色", "blue": "蓝色", "yellow": "黄色", "purple": "紫色", "orange": "橙色"}
SHAPE_ZH = {"circle": "圆形", "square": "正方形", "triangle": "三角形"}
SIZE_ZH = {"small": "小", "large": "大"}

# Half the side of an object's bounding box, as a fraction of the image side: 3.5 px / 5.5 px at 32x32.
RADIUS = {"small": 3.5 / 32, "large": 5.5 / 32}
GAP = 1.0 / 32          # empty space kept between bounding boxes of non-overlapping objects
MAX_OBJECTS = 9         # more than this never fits without overlap
MIN_IMAGE_SIZE = 16     # below this the small objects are only a few pixels

RngLike = Union[np.random.Generator, int, None]


def as_rng(rng: RngLike) -> np.random.Generator:
    """A numpy Generator from a Generator, an int seed, or None (seed 0, so results stay reproducible)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng {rng!r} is not a numpy.random.Generator, an int seed or None")


def check_name(value, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; allowed: {', '.join(allowed)}")
    return value


def check_image_size(size) -> int:
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < MIN_IMAGE_SIZE:
        raise ValueError(f"image size {size!r} is too small to draw the objects; use an int >= {MIN_IMAGE_SIZE}"
                         " (32 or 64 are the usual sizes)")
    return int(size)


@dataclass
class Obj:
    """One object. x, y: centre in [0, 1] (x right, y down); depth: draw order, larger is drawn in front."""

    shape: str
    color: str
    size: str = "small"
    x: float = 0.5
    y: float = 0.5
    depth: int = 0

    def __post_init__(self):
        check_name(self.shape, SHAPES, "shape")
        check_name(self.color, COLORS, "color")
        check_name(self.size, SIZES, "size")

    @property
    def radius(self) -> float:
        """Half the side of the bounding box, as a fraction of the image side."""
        return RADIUS[self.size]

    @property
    def pair(self) -> tuple[str, str]:
        return (self.color, self.shape)


@dataclass
class Scene:
    """A list of objects; objects[i] has instance id i + 1 in the rendered mask."""

    objects: list[Obj] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.objects)

    def pairs(self) -> list[tuple[str, str]]:
        return [o.pair for o in self.objects]


def allowed_pairs(colors=COLORS, shapes=SHAPES, combos=None, exclude=None) -> list[tuple[str, str]]:
    """The (color, shape) pairs a scene may contain, in a fixed order."""
    colors, shapes = tuple(colors), tuple(shapes)
    for c in colors:
        check_name(c, COLORS, "color")
    for s in shapes:
        check_name(s, SHAPES, "shape")
    for label, pairs in (("combos", combos), ("exclude", exclude)):
        for p in pairs or ():
            if not (isinstance(p, (tuple, list)) and len(p) == 2):
                raise ValueError(f"{label} entry {p!r} is not a (color, shape) pair")
            check_name(p[0], COLORS, "color")
            check_name(p[1], SHAPES, "shape")
    pairs = [p for p in product(colors, shapes)]
    if combos is not None:
        keep = {tuple(p) for p in combos}
        pairs = [p for p in pairs if p in keep]
    if exclude is not None:
        drop = {tuple(p) for p in exclude}
        pairs = [p for p in pairs if p not in drop]
    if not pairs:
        raise ValueError("no (color, shape) pair is allowed by colors/shapes/combos/exclude")
    return pairs


def _count_range(n_objects) -> tuple[int, int]:
    if isinstance(n_objects, (int, np.integer)) and not isinstance(n_objects, bool):
        lo = hi = int(n_objects)
    elif isinstance(n_objects, (tuple, list)) and len(n_objects) == 2:
        lo, hi = int(n_objects[0]), int(n_objects[1])
    else:
        raise ValueError(f"n_objects {n_objects!r} is not an int or a (min, max) pair")
    if lo < 1 or hi < lo:
        raise ValueError(f"n_objects {n_objects!r} must be >= 1 with min <= max")
    if hi > MAX_OBJECTS:
        raise ValueError(f"n_objects {n_objects!r}: at most {MAX_OBJECTS} objects fit in one scene")
    return lo, hi


def _choose_pairs(rng, pairs, n, distinct_colors, unique_pairs):
    if not distinct_colors and not unique_pairs:
        return [pairs[i] for i in rng.integers(0, len(pairs), size=n)]
    chosen, used_colors = [], set()
    order = rng.permutation(len(pairs)) if unique_pairs else rng.integers(0, len(pairs), size=64 * n)
    for i in order:
        p = pairs[i]
        if distinct_colors and p[0] in used_colors:
            continue
        if unique_pairs and p in chosen:
            continue
        chosen.append(p)
        used_colors.add(p[0])
        if len(chosen) == n:
            return chosen
    raise AssertionError("unreachable: sample_scene checks the number of allowed pairs")  # pragma: no cover


def _place(rng, radii, overlap, tries=8, candidates=32):
    """Centres for objects with the given radii; bounding boxes kept apart unless overlap. None if it fails."""
    n = len(radii)
    xy = np.zeros((n, 2))
    order = np.argsort(-np.asarray(radii), kind="stable")   # large objects first: easier to pack
    placed = []
    for i in order:
        r = radii[i]
        for _ in range(tries):
            cand = r + (1 - 2 * r) * rng.random((candidates, 2))                # (K, 2)
            if overlap or not placed:
                xy[i] = cand[0]
                break
            P = xy[placed]                                                     # (M, 2)
            need = np.asarray([radii[j] for j in placed]) + r + GAP            # (M,)
            sep = np.abs(cand[:, None, :] - P[None]).max(-1) >= need[None]     # (K, M) boxes apart
            ok = np.flatnonzero(sep.all(1))
            if len(ok):
                xy[i] = cand[ok[0]]
                break
        else:
            return None
        placed.append(i)
    return xy


def sample_scene(
    rng: RngLike,
    n_objects: Union[int, tuple[int, int]] = (1, 4),
    *,
    colors: Iterable[str] = COLORS,
    shapes: Iterable[str] = SHAPES,
    sizes: Iterable[str] = SIZES,
    combos: Optional[Iterable[tuple[str, str]]] = None,
    exclude: Optional[Iterable[tuple[str, str]]] = None,
    distinct_colors: bool = False,
    unique_pairs: bool = True,
    overlap: bool = False,
    image_size: int = 32,
) -> Scene:
    """Draw a random scene.

    n_objects: an int or an inclusive (min, max) range. combos: the only allowed (color, shape) pairs;
    exclude: forbidden pairs. unique_pairs: no two objects share color and shape, so "the red circle"
    names one object. overlap=False keeps bounding boxes apart. depth = position in the list.
    """
    rng = as_rng(rng)
    check_image_size(image_size)
    sizes = tuple(sizes)
    for z in sizes:
        check_name(z, SIZES, "size")
    pairs = allowed_pairs(colors, shapes, combos, exclude)
    lo, hi = _count_range(n_objects)
    room = {"distinct colors": len({c for c, _ in pairs}) if distinct_colors else hi,
            "distinct (color, shape) pairs": len(pairs) if unique_pairs else hi}
    for what, k in room.items():
        if hi > k:
            raise ValueError(f"n_objects {n_objects!r} needs up to {hi} {what}, but only {k} are allowed")
    n = lo if lo == hi else int(rng.integers(lo, hi + 1))
    chosen = _choose_pairs(rng, pairs, n, distinct_colors, unique_pairs)
    for _ in range(30):
        obj_sizes = [sizes[i] for i in rng.integers(0, len(sizes), size=n)]
        xy = _place(rng, [RADIUS[z] for z in obj_sizes], overlap)
        if xy is not None:
            return Scene([Obj(s, c, z, float(x), float(y), d)
                          for d, ((c, s), z, (x, y)) in enumerate(zip(chosen, obj_sizes, xy))])
    raise ValueError(f"could not place {n} objects of sizes {sizes} without overlap; "
                     "use fewer objects, small sizes or overlap=True")


def sort_of_clevr_scene(rng: RngLike, image_size: int = 32) -> Scene:
    """Sort-of-CLEVR (Santoro et al. 2017): 6 objects, one of each color, each a circle or a square, same size."""
    rng = as_rng(rng)
    check_image_size(image_size)
    for _ in range(30):
        xy = _place(rng, [RADIUS["small"]] * len(COLORS), overlap=False)
        if xy is not None:
            break
    else:  # pragma: no cover - six small objects always fit
        raise ValueError("could not place the six Sort-of-CLEVR objects")
    shapes = rng.integers(0, 2, size=len(COLORS))
    return Scene([Obj(("circle", "square")[s], c, "small", float(x), float(y), d)
                  for d, (c, s, (x, y)) in enumerate(zip(COLORS, shapes, xy))])

