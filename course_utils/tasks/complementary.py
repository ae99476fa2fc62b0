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

The second half holds the notebook's experiments as the script ``scripts/complementary_seeds.py`` repeats them over
seeds (the notebook writes each of them out in its cells first): the corruptions, batches, loss and evaluation,
and ``run_seed``, every experiment of the notebook at one seed.
"""
from __future__ import annotations

import copy
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import settings
from ..data import COLOR_ZH, COLORS, SHAPES, Scene, Tokenizer, render_batch, sample_scene
from ..data.scene import as_rng
from ..data.tokenizer import N_SPECIAL
from ..nn import fusion_basic
from ..train import History, fit, predict

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

    def sample(self, n: int, rng: np.random.Generator | int, tokenizer: Tokenizer | None = None) -> ComplementaryData:
        """n examples drawn with ``rng`` (a Generator or an int seed), rendered and tokenized (tokens right-padded
        to max_len)."""
        if n < 1:
            raise ValueError(f"n {n!r} must be a positive number of examples")
        if rng is None:
            raise ValueError("sample needs rng= (a numpy Generator or an int seed derived from the notebook's SEED)")
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


# ----------------------------------------------------------------------------------------------- corruptions


def add_pixel_noise(image: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """Images plus Gaussian noise of std sigma, clipped to [0, 1] (the input stays a valid image)."""
    if sigma < 0:
        raise ValueError(f"sigma {sigma!r} must be >= 0")
    noise = torch.randn(image.shape, generator=generator, dtype=image.dtype)             # (N, 3, H, W)
    return (image + sigma * noise).clamp(0.0, 1.0)


def mask_tokens(tokens: torch.Tensor, share: float, generator: torch.Generator,
                unk_id: int = Tokenizer.unk_id) -> torch.Tensor:
    """Replace each word token (ids from N_SPECIAL on: not pad/bos/eos/...) with <unk> with probability ``share``."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share {share!r} must be in [0, 1]")
    words = tokens >= N_SPECIAL                                                           # (N, T) real words only
    hit = torch.rand(tokens.shape, generator=generator) < share                          # (N, T)
    return torch.where(words & hit, torch.full_like(tokens, unk_id), tokens)


def shuffle_pairs(tokens: torch.Tensor, share: float, generator: torch.Generator) -> torch.Tensor:
    """Misalign a share of the (image, text) pairs: those rows get the text of another chosen row.

    The chosen rows' texts are rotated by one along a random order, so every chosen row gets a text
    written for a different image; image and label stay in place.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share {share!r} must be in [0, 1]")
    chosen = torch.randperm(len(tokens), generator=generator)[: int(round(share * len(tokens)))]   # (k,)
    out = tokens.clone()
    if len(chosen) > 1:
        out[chosen] = tokens[chosen.roll(1)]
    return out


def drop_modalities(image: torch.Tensor, tokens: torch.Tensor, p_drop: float,
                    generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Modality dropout at the input, eq. (24.1.11): each example loses its image with probability p_drop / 2
    (replaced by the image under noise of std 1, which leaves almost nothing of it) or its question with
    probability p_drop / 2 (every word replaced by <unk>), never both. The same two corruptions at full strength
    are what the robustness test calls a missing modality."""
    if not 0.0 <= p_drop <= 1.0:
        raise ValueError(f"p_drop {p_drop!r} must be a probability in [0, 1]")
    u = torch.rand(len(image), generator=generator)                                      # (B,)
    no_img, no_txt = u < p_drop / 2, (u >= p_drop / 2) & (u < p_drop)                    # (B,), (B,)
    image = torch.where(no_img[:, None, None, None], add_pixel_noise(image, 1.0, generator), image)
    tokens = torch.where(no_txt[:, None], mask_tokens(tokens, 1.0, generator), tokens)
    return image, tokens


# ----------------------------------------------------------------------------------------------- experiments


@dataclass(frozen=True)
class RunConfig:
    """Sizes of notebook 24.1's experiments: the defaults are full mode, ``fast()`` is COURSE_FAST=1."""

    n_train: int = 16000
    n_test: int = 2000
    steps: int = 1500
    batch_size: int = 128
    lr: float = 6e-3
    p_drop: float = 0.3                                    # modality dropout rate of eq. (24.1.11)
    n_robust: int = 1000                                   # test examples per corruption level
    levels: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(11))
    shuffle: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)

    @classmethod
    def fast(cls) -> RunConfig:
        return cls(n_train=1500, n_test=400, steps=40, batch_size=64, n_robust=300)

    @classmethod
    def for_mode(cls) -> RunConfig:
        """The configuration of the current mode (``settings.FAST``)."""
        return cls.fast() if settings.FAST else cls()


def make_data(task: ComplementaryTask, cfg: RunConfig, seed: int,
              tokenizer: Tokenizer) -> tuple[ComplementaryData, ComplementaryData]:
    """Training and test sets of one seed: streams (seed, 1) and (seed, 2) of numpy's generator."""
    train = task.sample(cfg.n_train, rng=np.random.default_rng((seed, 1)), tokenizer=tokenizer)
    test = task.sample(cfg.n_test, rng=np.random.default_rng((seed, 2)), tokenizer=tokenizer)
    return train, test


def batches(tensors, batch_size: int, seed: int):
    """step -> batch: random rows (with replacement) of the training tensors (image, tokens, label)."""
    g = torch.Generator().manual_seed(seed)

    def batch(step):
        idx = torch.randint(len(tensors[0]), (batch_size,), generator=g)                # (B,)
        return tuple(x[idx] for x in tensors)
    return batch


def batches_with_dropout(tensors, p_drop: float, batch_size: int, seed: int):
    """Like :func:`batches`, then modality dropout (eq. 24.1.11) on each batch, drawn from stream seed + 1."""
    base, g = batches(tensors, batch_size, seed), torch.Generator().manual_seed(seed + 1)

    def batch(step):
        image, tokens, label = base(step)
        image, tokens = drop_modalities(image, tokens, p_drop, generator=g)
        return image, tokens, label
    return batch


def loss_fn(model, batch):
    """Cross-entropy of the answer, and the batch accuracy for the progress bar."""
    image, tokens, label = batch
    logits = model(image, tokens)                                                         # (B, 3)
    return F.cross_entropy(logits, label), {"acc": (logits.argmax(-1) == label).float().mean()}


def scores(logits: torch.Tensor, label: torch.Tensor) -> dict[str, float]:
    """Accuracy and cross-entropy in bits (for the mutual-information bound, eq. 24.1.9)."""
    return {"acc": (logits.argmax(-1) == label).float().mean().item(),
            "ce_bits": F.cross_entropy(logits, label).item() / math.log(2)}


def evaluate(model, data: ComplementaryData, image=None, tokens=None) -> dict[str, float]:
    """:func:`scores` of ``model`` on ``data`` (optionally with corrupted images or tokens in its place)."""
    image = data.image if image is None else image
    tokens = data.tokens if tokens is None else tokens
    return scores(predict(model, image, tokens), data.label[:len(image)])


def train_model(model, data, test: ComplementaryData, cfg: RunConfig, steps: int | None = None,
                lr: float | None = None, desc: str = "train", progress: bool = True) -> History:
    """``fit`` with this task's loss, evaluated on ``test`` 8 times; ``data`` is a step -> batch function."""
    steps = steps or cfg.steps
    return fit(model, data, loss_fn, steps=steps, lr=lr or cfg.lr, eval_fn=lambda m: evaluate(m, test),
               eval_every=max(1, steps // 8), desc=desc, plot=False, progress=progress)


def corrupt(test: ComplementaryData, kind: str, level: float, n: int, seed: int):
    """The first n test inputs (image, tokens) with one modality corrupted at strength ``level``."""
    g = torch.Generator().manual_seed(seed)
    image, tokens = test.image[:n], test.tokens[:n]
    if kind == "image":
        return add_pixel_noise(image, float(level), generator=g), tokens
    if kind == "text":
        return image, mask_tokens(tokens, float(level), generator=g)
    raise ValueError(f"kind {kind!r} must be 'image' or 'text'")


def robustness_curves(models: dict, test: ComplementaryData, cfg: RunConfig, seed: int) -> dict:
    """{kind: {model name: [accuracy at each of cfg.levels]}} for kind in image, text."""
    curves = {}
    for kind in ("image", "text"):
        curves[kind] = {name: [] for name in models}
        for level in cfg.levels:
            image, tokens = corrupt(test, kind, level, cfg.n_robust, seed)
            for name, m in models.items():
                curves[kind][name].append(evaluate(m, test, image, tokens)["acc"])
    return curves


MAIN_MODELS = {"image only": lambda v: fusion_basic.ImageOnly(), "text only": fusion_basic.TextOnly,
               "image + text (fused)": fusion_basic.ConcatFusion}
FUSION_LEVELS = {"early (pixels)": fusion_basic.EarlyFusion,
                 "late feature (pooled vectors)": fusion_basic.VectorConcatFusion}


def new_model(factory, vocab_size: int, seed: int):
    """``factory(vocab_size)`` with its weights drawn from ``seed`` (as ``torch.manual_seed(seed); factory(V)``
    would draw them), leaving the global random state as it was."""
    return settings.seeded(lambda: factory(vocab_size), seed)


def decision_accuracy(models: dict, train: ComplementaryData, test: ComplementaryData) -> float:
    """Accuracy of decision fusion (fusion_basic.decision_fusion) of the image-only and text-only models."""
    log_prior = torch.log(torch.bincount(train.label, minlength=len(SHAPES)).float() / len(train))   # (3,)
    fused = fusion_basic.decision_fusion(predict(models["image only"], test.image, test.tokens),
                                         predict(models["text only"], test.image, test.tokens), log_prior)
    return scores(fused, test.label)["acc"]


def run_seed(seed: int, cfg: RunConfig, tokenizer: Tokenizer, progress: bool = False) -> dict:
    """Every experiment of notebook 24.1 at one seed (data, weights, batches and corruptions all drawn from it):
    the three models of section 4, modality dropout and the robustness curves (section 5), shuffled training
    pairs (6.2) and the fusion levels (6.3). Returns plain numbers, as ``scripts/complementary_seeds.py`` records."""
    task, V = ComplementaryTask(), tokenizer.vocab_size
    train, test = make_data(task, cfg, seed, tokenizer)
    models = {}
    for name, factory in MAIN_MODELS.items():
        models[name] = new_model(factory, V, seed)
        train_model(models[name], batches(train.tensors(), cfg.batch_size, seed), test, cfg, desc=name,
                    progress=progress)
    dropout = copy.deepcopy(models["image + text (fused)"])
    train_model(dropout, batches_with_dropout(train.tensors(), cfg.p_drop, cfg.batch_size, seed), test, cfg,
                steps=cfg.steps // 2, lr=cfg.lr / 2, desc="fused + modality dropout", progress=progress)
    models["fused + modality dropout"] = dropout
    out = {name: evaluate(m, test) for name, m in models.items()}
    out = {"acc": {k: v["acc"] for k, v in out.items()}, "ce_bits": {k: v["ce_bits"] for k, v in out.items()}}
    out["robust"] = robustness_curves(models, test, cfg, seed)
    out["shuffled"] = {"0.0": out["acc"]["image + text (fused)"]}
    for share in cfg.shuffle[1:]:
        tokens = shuffle_pairs(train.tokens, share, generator=torch.Generator().manual_seed(seed))
        m = new_model(fusion_basic.ConcatFusion, V, seed)
        train_model(m, batches((train.image, tokens, train.label), cfg.batch_size, seed), test, cfg,
                    desc=f"shuffled {share:.0%}", progress=progress)
        out["shuffled"][str(share)] = evaluate(m, test)["acc"]
    out["fusion"] = {"feature (first feature map)": out["acc"]["image + text (fused)"],
                     "decision (product of the unimodal models)": decision_accuracy(models, train, test)}
    for name, cls in FUSION_LEVELS.items():
        m = new_model(cls, V, seed)
        train_model(m, batches(train.tensors(), cfg.batch_size, seed), test, cfg, desc=name, progress=progress)
        out["fusion"][name] = evaluate(m, test)["acc"]
    return out


def fused_by_steps(seed: int, cfg: RunConfig, tokenizer: Tokenizer, steps: tuple[int, ...],
                   progress: bool = False) -> dict[str, float]:
    """Test accuracy of the fused model of section 4 trained for each number of ``steps`` (each a fresh run with
    its own cosine schedule, same data, weights and batches as ``run_seed``): {str(steps): accuracy}."""
    task, V = ComplementaryTask(), tokenizer.vocab_size
    train, test = make_data(task, cfg, seed, tokenizer)
    out = {}
    for n in steps:
        model = new_model(fusion_basic.ConcatFusion, V, seed)
        train_model(model, batches(train.tensors(), cfg.batch_size, seed), test, cfg, steps=n,
                    desc=f"fused, {n} steps", progress=progress)
        out[str(n)] = evaluate(model, test)["acc"]
    return out


RECORD = settings.DATA_DIR / "bench" / "complementary_seeds.json"
CONVERGENCE = settings.DATA_DIR / "bench" / "complementary_convergence.json"


def recorded(path: Path | str = RECORD) -> dict:
    """The record written by ``scripts/complementary_seeds.py``: {"config", "seeds": {seed: run_seed(...)}, ...}."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run python scripts/complementary_seeds.py to record it")
    return json.loads(path.read_text())


def over_seeds(record: dict, *keys: str) -> list[float]:
    """One recorded number per seed: ``over_seeds(rec, "acc", "text only")`` -> [seed 0, seed 1, ...]."""
    values = []
    for run in record["seeds"].values():
        for k in keys:
            run = run[k]
        values.append(run)
    return values
