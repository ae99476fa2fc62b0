"""Reference solutions of notebook 24.2's exercises, checked by course_utils.exercises in tests/test_exercises.py.

The training exercises (4-7) are solved, over three seeds, by scripts/pairs_exercises.py."""
from collections import Counter

import torch

from course_utils.data import COLOR_RGB, COLORS


def match_rate(keys, p_match=0.5):
    # exercise 1: P(y = 1) for pairs drawn by P.correspondence_pairs. A pair is matched with probability p_match;
    # otherwise the sound comes from one of the n - 1 other clips, which sounds the same with probability
    # (c_i - 1) / (n - 1) when c_i clips share clip i's key.
    n, count = len(keys), Counter(keys)
    same_other = sum((count[k] - 1) / (n - 1) for k in keys) / n
    return p_match + (1 - p_match) * same_other


def same_bag_other_meaning(caption):
    # exercise 2: 'a <size> <color> <shape> and a <size> <color> <shape>.' -> exchange the two sizes when they
    # differ, else the two colors: the same words in another order, two other objects.
    w = caption.rstrip(".").split()                      # a, size1, color1, shape1, and, a, size2, color2, shape2
    i, j = (1, 6) if w[1] != w[6] else (2, 7)
    w[i], w[j] = w[j], w[i]
    return " ".join(w) + "."


def front_of(rgb, depth, query):
    # exercise 3: eq. (24.2.6) read backwards. The visible pixels of color c show that object's nearness, so
    # compare the largest nearness under color A with that under color B (0 if the object is hidden entirely).
    palette = torch.tensor([COLOR_RGB[c] for c in COLORS])                   # (6, 3)
    near = []
    for k in range(2):
        color = palette[query[:, k]][:, :, None, None]                       # (n, 3, 1, 1)
        is_color = (rgb - color).abs().amax(dim=1) < 1e-3                     # (n, H, W) pixels of that color
        near.append((depth[:, 0] * is_color).amax(dim=(1, 2)))               # (n,) its nearness
    return near[0] > near[1]                                                  # (n,) A in front of B


SOLUTIONS = {
    "24.2.1": match_rate,
    "24.2.2": same_bag_other_meaning,
    "24.2.3": front_of,
}
