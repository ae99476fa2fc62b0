"""The complementary task of notebook 24.1: "what shape is the <color> object?".

A scene holds ``n_objects`` objects of distinct colors; the question names the color of one of them and the
label is that object's shape. The image shows every (color, shape) pair but not which object is asked about;
the question names the color but shows no shape. Each modality alone therefore has a ceiling below 100 %:

- image only: the target is equally likely to be any of the objects, so the best guess is the most common
  shape in the scene (Bayes accuracy E[max_s n_s] / n_objects, 0.61 for three objects);
- text only: shapes are drawn from p(shape | color), which puts ``typical_prob`` on the color's typical
  shape (``TYPICAL_SHAPE``), so the best guess is that shape (Bayes accuracy ``typical_prob``);
- image and text together: the answer is determined (100 %).

``exact_joint`` enumerates the generating process and returns p(y, v, t) exactly, so the notebook can
compute the mutual information and Bayes accuracies the models are compared with.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import torch

from ..data import COLOR_ZH, COLORS, SHAPES, Scene, Tokenizer, render_batch, sample_scene
from ..data.scene import RngLike, as_rng

# Each shape is typical for two colors, so the label is uniform over the three shapes.
TYPICAL_SHAPE = {"red": "circle", "orange": "circle", "green": "square", "yellow": "square",
                 "blue": "triangle", "purple": "triangle"}
LANGS = ("en", "zh")
# The world's own "shape_of_color" paraphrases (course_utils.data.questions), written out here so that a
# question costs one format call instead of generating every question about the scene.
QUESTION_TEMPLATES = {
    "en": ("what shape is the {c} object?", "what is the shape of the {c} object?"),
    "zh": ("{c}的物体是什么形状？", "{c}物体的形状是什么？"),
}


def question(color: str, lang: str = "en", paraphrase: int = 0) -> str:
    """The question that names ``color``: 'what shape is the red object?' / '红色的物体是什么形状？'."""
    if color not in COLORS:
        raise ValueError(f"unknown color {color!r}; allowed: {', '.join(COLORS)}")
    if lang not in QUESTION_TEMPLATES:
        raise ValueError(f"unknown language {lang!r}; allowed: en, zh")
    templates = QUESTION_TEMPLATES[lang]
    if not 0 <= paraphrase < len(templates):
        raise ValueError(f"paraphrase {paraphrase!r} must be 0..{len(templates) - 1}")
    return templates[paraphrase].format(c=color if lang == "en" else COLOR_ZH[color])


def shape_probs(color: str, typical_prob: float) -> np.ndarray:
    """p(shape | color) over SHAPES: typical_prob on the color's typical shape, the rest split evenly."""
    if color not in TYPICAL_SHAPE:
        raise ValueError(f"unknown color {color!r}; allowed: {', '.join(COLORS)}")
    if not 0.0 <= typical_prob <= 1.0:
        raise ValueError(f"typical_prob {typical_prob!r} must be a probability in [0, 1]")
    p = np.full(len(SHAPES), (1.0 - typical_prob) / (len(SHAPES) - 1))
    p[SHAPES.index(TYPICAL_SHAPE[color])] = typical_prob
    return p


@dataclass
class ComplementaryData:
    """N examples: image (N, 3, H, W) float in [0, 1]; tokens (N, T) long (pad 0); label (N,) shape index;
    color (N,) index in COLORS of the color asked about; texts and scenes for display."""

    image: torch.Tensor
    tokens: torch.Tensor
    label: torch.Tensor
    color: torch.Tensor
    texts: list[str] = field(repr=False)
    scenes: list[Scene] = field(repr=False)

    def __len__(self) -> int:
        return len(self.label)

    def __repr__(self) -> str:
        return (f"ComplementaryData(n={len(self)}, image={tuple(self.image.shape)}, "
                f"tokens={tuple(self.tokens.shape)}, label={tuple(self.label.shape)})")

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(image, tokens, label): what a model sees and what it must predict."""
        return self.image, self.tokens, self.label


@dataclass
class ComplementaryTask:
    """Generator of the task; ``typical_prob`` = 1/3 makes the question alone carry no information."""

    typical_prob: float = 0.6
    n_objects: int = 3
    image_size: int = 32
    langs: tuple[str, ...] = LANGS
    max_len: int = 12

    def __post_init__(self):
        shape_probs(COLORS[0], self.typical_prob)                  # validates typical_prob
        if not 1 <= self.n_objects <= len(COLORS):
            raise ValueError(f"n_objects {self.n_objects!r} must be between 1 and {len(COLORS)} (distinct colors)")
        for lang in self.langs:
            if lang not in LANGS:
                raise ValueError(f"unknown language {lang!r}; allowed: en, zh")

    def sample_example(self, rng: np.random.Generator) -> tuple[Scene, str, int, int]:
        """One (scene, question, label, color index) drawn from the generating process."""
        colors = [COLORS[i] for i in rng.choice(len(COLORS), size=self.n_objects, replace=False)]
        cdf = {c: np.cumsum(shape_probs(c, self.typical_prob)) for c in colors}
        shapes = [SHAPES[min(int(np.searchsorted(cdf[c], rng.random(), side="right")), len(SHAPES) - 1)]
                  for c in colors]
        scene = sample_scene(rng, self.n_objects, combos=list(zip(colors, shapes)), distinct_colors=True,
                             image_size=self.image_size)
        target = colors[int(rng.integers(self.n_objects))]
        lang = self.langs[int(rng.integers(len(self.langs)))]
        text = question(target, lang, int(rng.integers(len(QUESTION_TEMPLATES[lang]))))
        label = SHAPES.index(dict(scene.pairs())[target])
        return scene, text, label, COLORS.index(target)

    def sample(self, n: int, rng: RngLike = None, tokenizer: Tokenizer | None = None) -> ComplementaryData:
        """n examples, rendered and tokenized (tokens right-padded to max_len)."""
        if n < 1:
            raise ValueError(f"n {n!r} must be a positive number of examples")
        rng = as_rng(rng)
        tokenizer = tokenizer or Tokenizer.for_world()
        rows = [self.sample_example(rng) for _ in range(n)]
        scenes, texts, labels, colors = (list(col) for col in zip(*rows))
        image = render_batch(scenes, self.image_size).rgb
        tokens = tokenizer.batch(texts, max_len=self.max_len)
        return ComplementaryData(image, tokens, torch.tensor(labels), torch.tensor(colors), texts, scenes)

    def exact_joint(self) -> tuple[np.ndarray, list[tuple]]:
        """p[y, v, t] of the generating process, exactly, with the list of image contents v.

        y: shape index of the answer; v: the scene content as a sorted tuple of (color, shape) pairs (positions
        and sizes are independent of y, so the image tells about y exactly what its content tells);
        t: index in COLORS of the color the question names (the wording and language carry nothing more).
        """
        k = self.n_objects
        pv: dict[tuple, np.ndarray] = {}
        orders = list(itertools.permutations(range(len(COLORS)), k))
        for order in orders:
            colors = [COLORS[i] for i in order]
            probs = [shape_probs(c, self.typical_prob) for c in colors]
            for shapes in itertools.product(range(len(SHAPES)), repeat=k):
                p = np.prod([probs[i][s] for i, s in enumerate(shapes)]) / len(orders)
                if p == 0:
                    continue
                v = tuple(sorted((c, SHAPES[s]) for c, s in zip(colors, shapes)))
                table = pv.setdefault(v, np.zeros((len(SHAPES), len(COLORS))))
                for i, s in enumerate(shapes):                          # the target is object i, prob 1/k
                    table[s, order[i]] += p / k
        contents = sorted(pv)
        joint = np.stack([pv[v] for v in contents], axis=1)             # (Y, V, T)
        return joint, contents

    def bayes_accuracy(self) -> dict[str, float]:
        """Best possible accuracy from the image alone, the text alone and both (exact)."""
        p, _ = self.exact_joint()                                       # (Y, V, T)
        return {"image": float(p.sum(2).max(0).sum()), "text": float(p.sum(1).max(0).sum()),
                "image+text": float(p.max(0).sum()), "chance": float(p.sum((1, 2)).max())}


def add_pixel_noise(image: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Images plus Gaussian noise of std sigma, clipped to [0, 1] (the input stays a valid image)."""
    if sigma < 0:
        raise ValueError(f"sigma {sigma!r} must be >= 0")
    if sigma == 0:
        return image.clone()
    noise = torch.randn(image.shape, generator=generator, dtype=image.dtype)
    return (image + sigma * noise).clamp(0.0, 1.0)


def mask_tokens(tokens: torch.Tensor, share: float, unk_id: int = Tokenizer.unk_id, n_special: int = 6,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Replace each word token (not pad/bos/eos/...) with <unk> with probability ``share``."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share {share!r} must be in [0, 1]")
    words = tokens >= n_special                                         # (N, T) real words only
    hit = torch.rand(tokens.shape, generator=generator) < share
    return torch.where(words & hit, torch.full_like(tokens, unk_id), tokens)


def shuffle_pairs(tokens: torch.Tensor, share: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Misalign a share of the (image, text) pairs: those rows get the text of another chosen row.

    The chosen rows' texts are rotated by one along a random order, so every chosen row gets a text
    written for a different image; image and label stay in place.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share {share!r} must be in [0, 1]")
    n = len(tokens)
    chosen = torch.randperm(n, generator=generator)[: int(round(share * n))]
    out = tokens.clone()
    if len(chosen) > 1:
        out[chosen] = tokens[chosen.roll(1)]
    return out


def drop_modalities(image: torch.Tensor, tokens: torch.Tensor, p_drop: float,
                    generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Modality dropout at the input: each example loses its image with probability p_drop / 2 (replaced by the
    image under noise of std 1, which leaves almost nothing of it) or its question with probability p_drop / 2
    (every word replaced by <unk>), never both. The same two corruptions at full strength are what the
    robustness test calls a missing modality."""
    if not 0.0 <= p_drop <= 1.0:
        raise ValueError(f"p_drop {p_drop!r} must be a probability in [0, 1]")
    u = torch.rand(len(image), generator=generator)                                    # (B,)
    no_img, no_txt = u < p_drop / 2, (u >= p_drop / 2) & (u < p_drop)
    image = torch.where(no_img[:, None, None, None], add_pixel_noise(image, 1.0, generator), image)
    tokens = torch.where(no_txt[:, None], mask_tokens(tokens, 1.0), tokens)
    return image, tokens
