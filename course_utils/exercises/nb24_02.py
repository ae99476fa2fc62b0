"""Checkers of notebook 24.2's exercises (common modality combinations). Each runs in about a second."""
from __future__ import annotations

import functools
import re
from collections import Counter

import torch

from .core import Wrong, call, checker, close

# ----------------------------------------------------------------------------------------------- 24.2.1


def _match_rate(keys, p_match: float) -> float:
    """P(y = 1) of a pair from ``correspondence_pairs``: matched, or mismatched with a scene that sounds the same."""
    n, count = len(keys), Counter(keys)
    same_other = sum(count[k] - 1 for k in keys) / (n * (n - 1))
    return p_match + (1 - p_match) * same_other


@functools.lru_cache(maxsize=1)
def _world_keys() -> tuple:
    from ..tasks.pairs import av_clips

    return tuple(av_clips(300, seed=7, split="test", frames=1)["keys"])


@checker("24.2.1", "the share of matched pairs (and so the chance level) from the scene keys alone")
def check_match_rate(fn) -> str:
    cases = [(["a", "b", "c", "d"], 0.5, "four different scenes"),
             (["a", "a", "b", "b"], 0.5, "two pairs of scenes that sound the same"),
             (["a", "a", "a", "b", "c"], 0.3, "three equal scenes, p_match = 0.3"),
             (list(_world_keys()), 0.5, "300 scenes of the world")]
    for keys, p, what in cases:
        got = call(fn, keys, p)
        try:
            value = float(got)
        except (TypeError, ValueError):
            raise Wrong(f"match_rate returned {type(got).__name__}, expected one number (a probability)",
                        "return P(y = 1) as a float") from None
        expected = _match_rate(keys, p)
        if abs(value - p) < 1e-9 and abs(expected - p) > 1e-6:
            raise Wrong(f"for {what} you return p_match = {p}, but mismatched pairs can be labelled 1 too",
                        "a 'negative' whose scene holds the same objects sounds the same, so its label is 1")
        wrong_self = p + (1 - p) * sum(Counter(keys)[k] for k in keys) / len(keys) ** 2
        if abs(value - wrong_self) < 1e-6 and abs(expected - wrong_self) > 1e-6:
            raise Wrong(f"for {what} you count the clip itself among the scenes its negative can come from",
                        "the other scene is drawn from the n - 1 *other* clips: (c_i - 1) / (n - 1)")
        close(value, expected, f"match_rate for {what}", tol=1e-6,
              hint="P(y=1) = p + (1 - p) * mean over clips i of (c_i - 1) / (n - 1), c_i = clips with i's key")
    rate = _match_rate(list(_world_keys()), 0.5)
    return f"on 300 scenes of the world {rate:.1%} of the pairs are matched: chance is {max(rate, 1 - rate):.1%}"


# ----------------------------------------------------------------------------------------------- 24.2.2

COLLISION_CAPTIONS = (
    "a large red circle and a small blue square.",
    "a small green triangle and a large purple circle.",
    "a large yellow square and a small yellow circle.",
    "a small orange triangle and a small red square.",
)


def _words(text: str) -> list[str]:
    return sorted(re.findall(r"[a-z]+", text.lower()))


def _meaning(text: str) -> tuple:
    from ..tasks.pairs import parse_description

    return tuple(sorted((o.size, o.color, o.shape) for o in parse_description(text)))


@checker("24.2.2", "a caption with the same bag of words but another meaning")
def check_same_bag_other_meaning(fn) -> str:
    for caption in COLLISION_CAPTIONS:
        out = call(fn, caption)
        if not isinstance(out, str):
            raise Wrong(f"for {caption!r} you return {type(out).__name__}, expected a caption (str)")
        if _words(out) != _words(caption):
            extra = Counter(_words(out)) - Counter(_words(caption))
            missing = Counter(_words(caption)) - Counter(_words(out))
            raise Wrong(f"{out!r} is not made of the words of {caption!r} (extra {dict(extra)}, missing "
                        f"{dict(missing)})", "only move words around: a bag of words forgets their order")
        try:
            meaning = _meaning(out)
        except ValueError:
            raise Wrong(f"{out!r} names no object the world knows", "keep the pattern '<size> <color> <shape>'") \
                from None
        if len(meaning) != 2:
            raise Wrong(f"{out!r} names {len(meaning)} object(s), expected two")
        if meaning == _meaning(caption):
            raise Wrong(f"{out!r} still describes the same two objects as {caption!r}",
                        "exchange one attribute between the two objects (two sizes, or two colors)")
    return "a bag-of-words encoder gives each of these pairs the same vector, whatever its weights"


# ----------------------------------------------------------------------------------------------- 24.2.3


@functools.lru_cache(maxsize=1)
def _front_of_test() -> dict:
    from ..tasks.pairs import depth_order_data

    return depth_order_data(300, seed=11, split="test")


@checker("24.2.3", "who is in front, read from RGB-D by a fixed rule (no training)")
def check_front_of(fn) -> str:
    d = _front_of_test()
    out = call(fn, d["rgb"].clone(), d["depth"].clone(), d["query"].clone())
    if not torch.is_tensor(out) or out.shape != d["label"].shape:
        got = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise Wrong(f"expected a tensor of shape {tuple(d['label'].shape)} (one answer per question), got {got}",
                    "return (n,) booleans: True where object A is in front of object B")
    right = out.float().round() == d["label"]
    acc, occ = right.float().mean().item(), d["occluded"]
    on_occ, on_sep = right[occ].float().mean().item(), right[~occ].float().mean().item()
    if acc < 0.99:
        if on_occ > 0.9 > on_sep:
            raise Wrong(f"right on {on_occ:.0%} of the occluded scenes but only {on_sep:.0%} of the separate ones",
                        "an outline can only tell who is in front where the objects touch: read the depth map")
        raise Wrong(f"your rule answers {acc:.0%} of the questions right (occluded {on_occ:.0%}, separate "
                    f"{on_sep:.0%}); RGB-D allows 100 %",
                    "find the pixels of color A (rgb equal to D.COLOR_RGB[A]) and read the depth map there, eq. "
                    "(24.2.6); do the same for B and compare")
    return f"{acc:.1%} right on occluded and separate scenes alike: RGB-D reaches the 100 % ceiling of section 2.3"
