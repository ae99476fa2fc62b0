"""Measurements of notebook 24.4 (CLIP): zero-shot accuracy split by attribute, probes, retrieval with exact
relevance, the color-swap (binding) test, the modality gap, and the recorded multi-seed results.

Every data set here is drawn from a seed the notebook passes (derived from its ``SEED``) and returned as a copy.
Features come from ``course_utils.train.predict`` (eval mode, no gradients, batched).
"""
from __future__ import annotations

import json
from dataclasses import replace
from functools import lru_cache

import numpy as np
import torch

from .. import data as W
from .. import metrics, settings
from ..data import clip_batches as B
from ..data.caption_pairs import RetrievalSet, retrieval_set  # noqa: F401  (24.4 uses them from here)
from ..data.language import names_a_place  # noqa: F401  (24.4 uses it from here)
from ..nn.clip import CLIP
from ..nn.zero_shot import build_zero_shot_classifier, zero_shot_predict
from ..report import Spread
from ..train import predict

COLOR_OF_CLASS = torch.tensor([W.COLORS.index(c) for c, _ in W.PAIRS])  # (18,) class index -> color index
SHAPE_OF_CLASS = torch.tensor([W.SHAPES.index(s) for _, s in W.PAIRS])  # (18,) class index -> shape index


# ----------------------------------------------------------------------------- features


def image_features(model: CLIP, images: torch.Tensor) -> torch.Tensor:
    """L2-normalized image features (N, d) on the CPU."""
    return predict(model, images, fn=lambda x: model.encode_image(x, normalize=True))


def text_features(model: CLIP, captions: list[str] | torch.Tensor) -> torch.Tensor:
    """L2-normalized text features (N, d) on the CPU, from captions (list of str) or token ids (N, T)."""
    tokens = captions if torch.is_tensor(captions) else B.tokenizer().batch(list(captions))
    if tokens.size(1) > B.CONTEXT_LENGTH:
        raise ValueError(f"a caption has {tokens.size(1)} tokens; the model reads at most {B.CONTEXT_LENGTH}")
    return predict(model, tokens, fn=lambda t: model.encode_text(t, normalize=True))


# ----------------------------------------------------------------------------- zero-shot and probes


def attribute_accuracy(pred: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Share of predictions (class indices in PAIRS) with the right pair, the right color, the right shape."""
    return {
        "pair": (pred == labels).float().mean().item(),
        "color": (COLOR_OF_CLASS[pred] == COLOR_OF_CLASS[labels]).float().mean().item(),
        "shape": (SHAPE_OF_CLASS[pred] == SHAPE_OF_CLASS[labels]).float().mean().item(),
    }


def zero_shot_predictions(model: CLIP, held_out: bool, seed: int, templates=None, n_per_class: int = 50):
    """(predicted class, true class) of single-object images of seen / held-out pairs among all 18 classes."""
    images, labels = B.class_images(held_out, n_per_class, seed)
    chosen = B.templates() if templates is None else list(templates)
    w = build_zero_shot_classifier(model, B.tokenizer().batch, B.CLASSNAMES, chosen, num_classes_per_batch=None)
    return zero_shot_predict(model, images, w), labels


def zero_shot(model: CLIP, held_out: bool, seed: int, templates=None, n_per_class: int = 50) -> dict[str, float]:
    """Zero-shot accuracy (pair, and color / shape of the predicted class); the same images and prompts as
    ``clip_world.evaluate_zero_shot``, so "pair" equals the training curve's last point."""
    return attribute_accuracy(*zero_shot_predictions(model, held_out, seed, templates, n_per_class))


def _fit_probe(x: torch.Tensor, y: torch.Tensor, c: float = 10.0):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=2000).fit(x.numpy(), y.numpy())


def linear_probe(model: CLIP, seed: int, n_train: int = 60, n_test: int = 50) -> float:
    """18-way logistic regression on frozen image features, trained on seen pairs, scored on fresh seen-pair images.
    It never sees a held-out pair, so it cannot name one: zero-shot can."""
    x_tr, y_tr = B.class_images(False, n_train, seed, "probe_train")
    x_te, y_te = B.class_images(False, n_test, seed, "probe_test")
    clf = _fit_probe(image_features(model, x_tr), y_tr)
    return float((clf.predict(image_features(model, x_te).numpy()) == y_te.numpy()).mean())


def binding_probe(model: CLIP, seed: int, n_train: int = 60, n_test: int = 50) -> dict[str, float]:
    """Separate color and shape probes on frozen image features, trained on seen pairs only, tested on seen and
    held-out pairs. A factorized representation keeps the held-out scores near the seen ones."""
    x_tr, y_tr = B.class_images(False, n_train, seed, "probe_train")
    f_tr = image_features(model, x_tr)
    out = {}
    for held_out, name in ((False, "seen"), (True, "held_out")):
        x_te, y_te = B.class_images(held_out, n_test, seed, "probe_test")
        f_te = image_features(model, x_te).numpy()
        for attr, table in (("color", COLOR_OF_CLASS), ("shape", SHAPE_OF_CLASS)):
            clf = _fit_probe(f_tr, table[y_tr])
            out[f"{attr}_{name}"] = float((clf.predict(f_te) == table[y_te].numpy()).mean())
    return out


# ----------------------------------------------------------------------------- retrieval


def retrieval(model: CLIP, rs: RetrievalSet, ks=(1, 5, 10)) -> dict[str, float]:
    """R@K image->text and text->image with "true of the image" relevance, plus exact-pair R@1 for contrast."""
    sim = image_features(model, rs.images) @ text_features(model, rs.captions).T  # (N, N)
    out = {f"i2t {k}": v for k, v in metrics.recall_at_k(sim, rs.relevant, ks).items()}
    out.update({f"t2i {k}": v for k, v in metrics.recall_at_k(sim.T, rs.relevant.T, ks).items()})
    out["i2t exact R@1"] = metrics.recall_at_k(sim, torch.eye(len(sim), dtype=torch.bool), (1,))["R@1"]
    return out


def text_to_image_by_place(model: CLIP, rs: RetrievalSet) -> dict[str, float]:
    """Text->image R@1 separately for captions that name a place and for those that do not."""
    sim = text_features(model, rs.captions) @ image_features(model, rs.images).T  # (N_cap, N_img)
    hit = rs.relevant.T[torch.arange(len(sim)), sim.argmax(dim=1)]  # (N_cap,) the top image is described
    place = torch.tensor([names_a_place(c) for c in rs.captions])
    return {"names a place": hit[place].float().mean().item(), "no place": hit[~place].float().mean().item(),
            "share naming a place": place.float().mean().item()}


# ----------------------------------------------------------------------------- binding: the attribute-swap test


@lru_cache(maxsize=2)
def _swap_set(n: int, seed: int, lang: str):
    rng = np.random.default_rng(seed)
    seen = set(B.SEEN_PAIRS)
    scenes, true, swapped = [], [], []
    while len(scenes) < n:
        s = W.sample_split_scene(rng, "train", n_objects=2)
        a, b = s.objects
        if a.color == b.color or a.shape == b.shape or (b.color, a.shape) not in seen or (a.color, b.shape) not in seen:
            continue
        scenes.append(s)
        true.append(W.caption(s, lang, template="list"))
        bad = W.Scene([replace(a, color=b.color), replace(b, color=a.color)])  # the same words, bound the other way
        swapped.append(W.caption(bad, lang, template="list"))
    return W.render_batch(scenes, B.IMAGE_SIZE).rgb, tuple(true), tuple(swapped)


def swap_set(n: int, seed: int, lang: str = "en") -> tuple[torch.Tensor, list[str], list[str]]:
    """Two-object scenes of seen pairs, each with its true caption and the caption with the two colors swapped (both
    swapped pairs seen too), as in ARO's VG-Attribution test (Yuksekgonul et al. 2023); a copy."""
    images, true, swapped = _swap_set(int(n), int(seed), lang)
    return images.clone(), list(true), list(swapped)


def swap_test(model: CLIP, seed: int, n: int = 200, lang: str = "en") -> float:
    """Share of two-object images whose true caption scores above the color-swapped one (chance: 0.5).
    A bag-of-words model sees the same words in both captions and cannot do better than chance."""
    images, true, swapped = swap_set(n, seed, lang)
    z = image_features(model, images)
    return ((z * text_features(model, true)).sum(1) > (z * text_features(model, swapped)).sum(1)).float().mean().item()


# ----------------------------------------------------------------------------- one model's numbers


def modality_gap(z_img: torch.Tensor, z_txt: torch.Tensor) -> float:
    """‖mean(z_img) − mean(z_txt)‖ of L2-normalized features (Liang et al. 2022): 0 when the two clouds share a
    centre; up to 2."""
    return (z_img.mean(0) - z_txt.mean(0)).norm().item()


def evaluate(model: CLIP, seed: int, rs: RetrievalSet | None = None) -> dict[str, float]:
    """The numbers of the notebook's tables for one model (evaluation sets drawn from ``seed``)."""
    seen, held = zero_shot(model, False, seed), zero_shot(model, True, seed)
    probe = binding_probe(model, seed)
    out = {"zero-shot seen": seen["pair"], "zero-shot held-out": held["pair"], "held-out color": held["color"],
           "held-out shape": held["shape"], "shape probe seen": probe["shape_seen"],
           "shape probe held-out": probe["shape_held_out"], "swap test": swap_test(model, seed)}
    if rs is not None:
        r = retrieval(model, rs)
        out.update({"i2t R@1": r["i2t R@1"], "t2i R@1": r["t2i R@1"],
                    "gap": modality_gap(image_features(model, rs.images), text_features(model, rs.captions))})
    return out


# ----------------------------------------------------------------------------- recorded multi-seed results


def recorded(name: str = "clip_remedies") -> dict:
    """A record written by ``scripts/clip_remedy_seeds.py`` (``data/bench/<name>.json``)."""
    path = settings.DATA_DIR / "bench" / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path.name} is missing from data/bench; write it with "
                                f"`python scripts/clip_remedy_seeds.py` (about 40 minutes on one CPU thread)")
    return json.loads(path.read_text(encoding="utf-8"))


def spreads(record: dict, run: str, metric: str) -> Spread:
    """One metric of one run over the record's seeds, as a ``report.Spread``."""
    rows = [r for r in record["runs"] if r["run"] == run]
    if not rows:
        known = sorted({r["run"] for r in record["runs"]})
        raise KeyError(f"no run {run!r} in the record; recorded runs: {', '.join(known)}")
    return Spread([r[metric] for r in sorted(rows, key=lambda r: r["seed"])])
