"""Typical wrong answers to notebook 24.2's exercises; each must be rejected with specific feedback."""
from collections import Counter

import torch


def _ignores_equal_scenes(keys, p_match=0.5):
    return p_match                                       # forgets negatives that sound the same


def _counts_itself(keys, p_match=0.5):
    n, count = len(keys), Counter(keys)
    return p_match + (1 - p_match) * sum(count[k] / n for k in keys) / n


def _returns_chance(keys, p_match=0.5):
    n, count = len(keys), Counter(keys)
    rate = p_match + (1 - p_match) * sum((count[k] - 1) / (n - 1) for k in keys) / n
    return 1 - rate                                      # the share of *mismatched* pairs


def _swap_objects(caption):
    a, b = caption.rstrip(".").split(" and ")
    return f"{b} and {a}."                               # same objects, other order: same meaning


def _other_word(caption):
    return caption.replace("large", "small", 1) if "large" in caption else caption.replace("small", "large", 1)


def _always_in_front(rgb, depth, query):
    return torch.ones(len(query), dtype=torch.bool)


def _larger_area_in_front(rgb, depth, query):
    # RGB only: the object with more visible pixels is guessed to be in front
    from course_utils.data import COLOR_RGB, COLORS

    palette = torch.tensor([COLOR_RGB[c] for c in COLORS])
    area = [((rgb - palette[query[:, k]][:, :, None, None]).abs().amax(1) < 1e-3).sum((1, 2)) for k in range(2)]
    return area[0] > area[1]


def _depth_without_colors(rgb, depth, query):
    return depth.amax(dim=(1, 2, 3)) > 0.15              # the nearest thing in the image, whoever it is


WRONG = {
    "24.2.1": [_ignores_equal_scenes, _counts_itself, _returns_chance],
    "24.2.2": [lambda caption: caption, _swap_objects, _other_word, lambda caption: 42],
    "24.2.3": [_always_in_front, _larger_area_in_front, _depth_without_colors, lambda rgb, depth, query: query],
}
