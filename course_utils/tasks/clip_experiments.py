"""Experiments of notebook 24_04 (CLIP) on top of the ``clip_world`` recipe: evaluation sets, probes, retrieval,
the binding (attribute-swap) test, the loss floor of duplicate captions, and one-call live runs.

Batches, losses and remedies are the ``clip_world`` recipe's; this module adds exact positives (``make_batch``),
the small live model (``build_live``), one-call live runs (``run``) and the measurements.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

import numpy as np
import torch

from .. import data as W
from .. import metrics
from ..nn.clip import CLIP, CLIPConfig
from ..nn.text import TextConfig
from ..nn.vit import ViTConfig
from ..recipes import clip_world as R

COLOR_OF_CLASS = torch.tensor([W.COLORS.index(c) for c, _ in W.PAIRS])  # (18,) class index -> color index
SHAPE_OF_CLASS = torch.tensor([W.SHAPES.index(s) for _, s in W.PAIRS])  # (18,) class index -> shape index


def build_live(fast: bool = False) -> CLIP:
    """The CLIP trained live in the notebook: ``live_config`` (a ``ConvImageTower`` and a small text tower)."""
    return CLIP(live_config(fast))


def live_config(fast: bool = False) -> CLIPConfig:
    """Config of the live CLIP: the recipe's towers, thinner and shallower (conv tower of width 16, 8 when fast)."""
    if fast:
        return R.config(fast=True)
    tok = R.tokenizer()
    vision = ViTConfig(image_size=R.IMAGE_SIZE, patch_size=4, num_classes=0, dim=48, depth=2, heads=4, mlp_ratio=2.0,
                       ln_pre=True, ln_eps=1e-5)
    text = TextConfig(vocab_size=tok.vocab_size, context_length=R.CONTEXT_LENGTH, width=48, heads=4, layers=2,
                      mlp_ratio=2.0, eos_id=tok.eos_id, output_dim=48)
    return CLIPConfig(vision=vision, text=text, embed_dim=48, image_tower="conv", conv_width=16)


# ----------------------------------------------------------------------------- features


@torch.no_grad()
def _encode(model: CLIP, encode, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """``encode(batch, normalize=True)`` over x in batches, in eval mode, gathered as float on the CPU."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [encode(x[i : i + batch_size].to(device), normalize=True).float().cpu() for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(out)


def encode_images(model: CLIP, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """L2-normalized image features (N, d) on CPU, computed in batches in eval mode."""
    return _encode(model, model.encode_image, images, batch_size)


def encode_texts(model: CLIP, texts: list[str] | torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """L2-normalized text features (N, d) on CPU from captions (list of str) or token ids (N, T)."""
    tokens = texts if torch.is_tensor(texts) else R.tokenizer().batch(list(texts))
    if tokens.size(1) > R.CONTEXT_LENGTH:
        raise ValueError(f"a caption has {tokens.size(1)} tokens; the model reads at most {R.CONTEXT_LENGTH}")
    return _encode(model, model.encode_text, tokens, batch_size)


# ----------------------------------------------------------------------------- zero-shot and probes


@lru_cache(maxsize=4)
def class_images(split: str, n_per_class: int, seed: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    """Single-object images (N, 3, 32, 32) and their class (index in PAIRS): seen pairs for 'train' / 'test',
    the six held-out pairs for 'heldout'. Different seeds give disjoint draws (probe training vs testing)."""
    pairs = W.HELD_OUT_COMBOS if split == "heldout" else R.SEEN_PAIRS
    return R.single_object_images(pairs, n_per_class, np.random.default_rng([seed, W.SPLITS.index(split)]))


def attribute_accuracy(pred: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Share of predictions (class indices in PAIRS) with the right pair, the right color, the right shape."""
    return {
        "pair": (pred == labels).float().mean().item(),
        "color": (COLOR_OF_CLASS[pred] == COLOR_OF_CLASS[labels]).float().mean().item(),
        "shape": (SHAPE_OF_CLASS[pred] == SHAPE_OF_CLASS[labels]).float().mean().item(),
    }


def zero_shot(model: CLIP, held_out: bool, langs: tuple[str, ...] = R.LANGS, templates=None,
              n_per_class: int = 50) -> dict[str, float]:
    """Zero-shot accuracy among all 18 classes (pair, and color / shape of the predicted class) on single objects.

    ``templates`` overrides the recipe's prompt ensemble (e.g. one template, to compare)."""
    images, labels = R.eval_images(bool(held_out), n_per_class)
    tok = R.tokenizer()
    w = (R.zero_shot_classifier(model, langs) if templates is None else
         _classifier(model, tok, templates))
    pred = (encode_images(model, images) @ w.float().cpu()).argmax(dim=1)
    return attribute_accuracy(pred, labels)


def _classifier(model, tok, templates):
    from ..nn.zero_shot import build_zero_shot_classifier

    return build_zero_shot_classifier(model, lambda texts: tok.batch(texts), R.CLASSNAMES, list(templates),
                                      num_classes_per_batch=None)


def _fit_probe(x: torch.Tensor, y: torch.Tensor, c: float = 10.0):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=2000).fit(x.numpy(), y.numpy())


def linear_probe(model: CLIP, n_train: int = 60, n_test: int = 50) -> dict[str, float]:
    """18-way logistic regression on frozen image features, trained on seen pairs ('train' images), scored on
    fresh seen-pair images ('test'). It never sees a held-out pair, so it cannot name one: zero-shot can."""
    x_tr, y_tr = class_images("train", n_train)
    x_te, y_te = class_images("test", n_test, seed=8)
    clf = _fit_probe(encode_images(model, x_tr), y_tr)
    pred = torch.as_tensor(clf.predict(encode_images(model, x_te).numpy()))
    return {"seen": (pred == y_te).float().mean().item()}


def binding_probe(model: CLIP, n_train: int = 60, n_test: int = 50) -> dict[str, float]:
    """Separate color and shape probes on frozen image features, trained on seen pairs only, tested on seen and
    held-out pairs. A factorized representation keeps the held-out scores near the seen ones."""
    x_tr, y_tr = class_images("train", n_train)
    f_tr = encode_images(model, x_tr)
    out = {}
    for split, seed in (("test", 8), ("heldout", 9)):
        x_te, y_te = class_images(split, n_test, seed=seed)
        f_te = encode_images(model, x_te).numpy()
        name = "seen" if split == "test" else "held_out"
        for attr, table in (("color", COLOR_OF_CLASS), ("shape", SHAPE_OF_CLASS)):
            clf = _fit_probe(f_tr, table[y_tr])
            out[f"{attr}_{name}"] = float((clf.predict(f_te) == table[y_te].numpy()).mean())
    return out


# ----------------------------------------------------------------------------- retrieval


@dataclass
class RetrievalSet:
    """Image-caption pairs of unseen scenes; ``relevant[i, j]`` = caption j is true of image i (any language)."""

    images: torch.Tensor  # (N, 3, 32, 32)
    captions: list[str]
    langs: list[str]
    relevant: torch.Tensor  # (N, N) bool
    scenes: list


caption_truth = R.caption_truth  # (N_img, N_cap) bool: caption j is true of image i (exact, positions included)


@lru_cache(maxsize=4)
def retrieval_set(n: int, seed: int = 11, split: str = "test", langs: tuple[str, ...] = R.LANGS) -> RetrievalSet:
    """n single-object scenes of a split with one random caption each (random template and language).

    A caption counts as describing an image when it is true of it (``caption_truth``): exact-pair recall would
    count the many other true captions as misses."""
    if n < 2:
        raise ValueError(f"a retrieval set needs at least 2 pairs, got n={n}")
    scenes = W.sample_split_scenes(n, seed, split, n_objects=1)
    rng = np.random.default_rng(seed)
    langs_of = [langs[int(k)] for k in rng.integers(len(langs), size=n)]
    captions = [W.caption(s, lg, rng) for s, lg in zip(scenes, langs_of)]
    images = W.render_batch(scenes, R.IMAGE_SIZE).rgb
    return RetrievalSet(images, captions, langs_of, caption_truth(scenes, captions), scenes)


def retrieval(model: CLIP, rs: RetrievalSet, ks=(1, 5, 10)) -> dict[str, float]:
    """R@K image->text and text->image with attribute-level relevance, plus exact-pair R@1 for contrast."""
    sim = encode_images(model, rs.images) @ encode_texts(model, rs.captions).T  # (N, N)
    out = {f"i2t {k}": v for k, v in metrics.recall_at_k(sim, rs.relevant, ks).items()}
    out.update({f"t2i {k}": v for k, v in metrics.recall_at_k(sim.T, rs.relevant.T, ks).items()})
    eye = torch.eye(len(sim), dtype=torch.bool)
    out["i2t exact R@1"] = metrics.recall_at_k(sim, eye, (1,))["R@1"]
    return out


def names_a_place(caption: str) -> bool:
    """Whether a caption names one of the 3×3 regions ("at the top left", "左上角", …)."""
    from ..data.language import REGION_EN, REGION_ZH

    return any(region in caption for region in REGION_EN + REGION_ZH)


def text_to_image_by_place(model: CLIP, rs: RetrievalSet) -> dict[str, float]:
    """Text->image R@1 separately for captions that name a place and for those that do not."""
    sim = encode_texts(model, rs.captions) @ encode_images(model, rs.images).T  # (N_cap, N_img)
    hit = rs.relevant.T[torch.arange(len(sim)), sim.argmax(dim=1)]  # (N_cap,) top image is described
    place = torch.tensor([names_a_place(c) for c in rs.captions])
    return {"names a place": hit[place].float().mean().item(), "no place": hit[~place].float().mean().item(),
            "share naming a place": place.float().mean().item()}


# ----------------------------------------------------------------------------- binding: attribute-swap test


@lru_cache(maxsize=2)
def swap_set(n: int, seed: int = 13, lang: str = "en"):
    """Two-object scenes of seen pairs, each with its true caption and the caption with the two colors swapped
    (both swapped pairs seen too), as in ARO's VG-Attribution test (Yuksekgonul et al. 2023)."""
    from dataclasses import replace

    rng = np.random.default_rng(seed)
    seen = set(R.SEEN_PAIRS)
    scenes, true, swapped = [], [], []
    while len(scenes) < n:
        s = W.sample_split_scene(rng, "train", n_objects=2)
        a, b = s.objects
        if a.color == b.color or a.shape == b.shape or (b.color, a.shape) not in seen or (a.color, b.shape) not in seen:
            continue
        bad = W.Scene([replace(a, color=b.color), replace(b, color=a.color)])
        scenes.append(s)
        true.append(W.caption(s, lang, template="list"))
        swapped.append(W.caption(bad, lang, template="list"))
    return W.render_batch(scenes, R.IMAGE_SIZE).rgb, true, swapped


def swap_test(model: CLIP, n: int = 200, lang: str = "en") -> float:
    """Share of two-object images whose true caption scores above the color-swapped one (chance: 0.5).
    A bag-of-words model sees the same words in both captions and cannot do better than chance."""
    images, true, swapped = swap_set(n, lang=lang)
    z = encode_images(model, images)
    s_true = (z * encode_texts(model, true)).sum(1)
    s_swap = (z * encode_texts(model, swapped)).sum(1)
    return (s_true > s_swap).float().mean().item()


# ----------------------------------------------------------------------------- the loss floor of duplicates


def loss_floor(batch_size: int, n_batches: int = 20, remedy="none", seed: int = 5) -> float:
    """E[(1/N) Σ_i log k_i], symmetrized, eq. (24.4.8): the lowest plain-InfoNCE loss of a model that cannot tell
    apart captions true of the same image, k_i = number of captions in the batch true of image i."""
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_batches):
        truth = R.make_batch(rng, batch_size, remedy)["truth"].float()
        vals.append(0.5 * (truth.sum(1).log().mean() + truth.sum(0).log().mean()).item())
    return float(np.mean(vals))


def optimal_info_nce(n: int, n_classes: int = 18, n_batches: int = 200, seed: int = 0) -> float:
    """InfoNCE of the optimal critic when each caption names one of n_classes equally likely classes:
    e^{s_ij} ∝ p(t_j|x_i)/p(t_j) = n_classes·[same class], so row i's loss is log k_i (eq. 24.4.7/24.4.8)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(n_classes, (n_batches, n), generator=g)  # (B, n)
    counts = torch.zeros(n_batches, n_classes).scatter_add_(1, labels, torch.ones(n_batches, n))  # (B, K)
    k = counts.gather(1, labels)  # (B, n): captions of the same class in the batch, own included
    return k.log().mean().item()


# ----------------------------------------------------------------------------- one live run


def evaluate(model: CLIP, rs: RetrievalSet | None = None) -> dict[str, float]:
    """The numbers of the notebook's table for one model."""
    seen, held = zero_shot(model, False), zero_shot(model, True)
    out = {"zero-shot seen": seen["pair"], "zero-shot held-out": held["pair"],
           "held-out color": held["color"], "held-out shape": held["shape"], "swap test": swap_test(model)}
    probe = binding_probe(model)
    out.update({"shape probe seen": probe["shape_seen"], "shape probe held-out": probe["shape_held_out"]})
    if rs is not None:
        r = retrieval(model, rs)
        out.update({"i2t R@1": r["i2t R@1"], "t2i R@1": r["t2i R@1"]})
    return out


def run(remedy: str | Iterable[str], steps: int, *, batch_size: int = 128, fast: bool = False, seed: int = 0,
        lr: float = 2e-3, plot: bool = False, progress: bool = True, desc: str | None = None):
    """Build a fresh live CLIP (same seed, same budget for every remedy), train it, return (model, history)."""
    torch.manual_seed(seed)
    model = build_live(fast)
    start = time.perf_counter()
    history = R.train_clip(model, steps, remedy, batch_size=batch_size, lr=lr, seed=seed, plot=plot,
                           progress=progress, desc=desc)
    history.seconds = time.perf_counter() - start
    return model.eval(), history


def sweep_results() -> dict:
    """The recorded sweep of the ``clip_world`` recipe (``data/bench/clip_world_sweep.json``): image towers ×
    remedies, 3000 steps each, written by ``scripts/clip_world_sweep.py`` (its "machine" says where it ran)."""
    import json

    from .. import settings

    path = settings.DATA_DIR / "bench" / "clip_world_sweep.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run `python scripts/clip_world_sweep.py --out {path.parent}`")
    return json.loads(path.read_text(encoding="utf-8"))


def mi_lower_bound(batch_size: int, loss: float) -> float:
    """log N − L, eq. (24.4.7), in nats."""
    return math.log(batch_size) - loss


def markdown_table(rows: list[dict], digits: int = 3, percent: Iterable[str] = ()):
    """Show a list of dicts (same keys) as a markdown table; floats rounded, columns in ``percent`` as %."""
    from IPython.display import Markdown, display

    if not rows:
        raise ValueError("markdown_table got no rows")
    keys = list(rows[0])
    percent = set(percent)

    def cell(k, v):
        if isinstance(v, float) and math.isnan(v):
            return "–"
        if isinstance(v, float):
            return f"{100 * v:.1f} %" if k in percent else f"{v:.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(cell(k, r.get(k, "")) for k in keys) + " |" for r in rows]
    display(Markdown("\n".join(lines)))
