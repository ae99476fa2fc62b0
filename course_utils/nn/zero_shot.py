"""Zero-shot classification with a CLIP model: class names -> prompts -> text embeddings -> a linear classifier.

For class c and templates t_1..t_K ("a photo of a {}.", ...):
    w_c = normalize( 1/K Σ_k normalize(f_text(t_k(c))) )      (prompt ensembling, Radford et al. 2021 §3.1.4)
and an image x is assigned argmax_c <normalize(f_img(x)), w_c>.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F


def _fill(template: str | Callable[[str], str], classname: str) -> str:
    return template.format(classname) if isinstance(template, str) else template(classname)


def _tokenize(tokenizer, texts: list[str]) -> torch.Tensor:
    """Token ids (B, T) from a callable tokenizer (open_clip style) or one with ``encode_batch``."""
    out = tokenizer(texts) if callable(tokenizer) else tokenizer.encode_batch(texts)
    return torch.as_tensor(out)


@torch.no_grad()
def build_zero_shot_classifier(
    model,
    tokenizer,
    classnames: Sequence[str],
    templates: Sequence[str | Callable[[str], str]],
    num_classes_per_batch: int | None = 10,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Classifier W (embed_dim, n_classes): column c = renormalized mean of the normalized embeddings of c's prompts.

    ``templates`` are ``str.format`` strings with one ``{}`` or callables ``classname -> prompt``;
    ``tokenizer(list_of_str)`` must return token ids (B, T). Same result as open_clip's ``build_zero_shot_classifier``.
    """
    if len(classnames) == 0:
        raise ValueError("classnames is empty; give at least one class name")
    if len(templates) == 0:
        raise ValueError("templates is empty; give at least one prompt template such as 'a photo of a {}.'")
    for t in templates:
        if isinstance(t, str) and "{}" not in t:
            raise ValueError(f"template {t!r} has no '{{}}' where the class name goes")
    if device is None:
        device = next(model.parameters()).device
    K = len(templates)
    step = num_classes_per_batch or len(classnames)
    columns = []
    for start in range(0, len(classnames), step):
        names = list(classnames[start : start + step])
        texts = [_fill(t, c) for c in names for t in templates]  # class-major: c0t0, c0t1, ..., c1t0, ...
        tokens = _tokenize(tokenizer, texts).to(device)  # (C·K, T)
        z = model.encode_text(tokens, normalize=True)  # (C·K, d), each prompt normalized
        z = z.reshape(len(names), K, -1).mean(dim=1)  # (C, d): average over the templates
        columns.append(F.normalize(z, dim=-1).T)  # (d, C): renormalized
    return torch.cat(columns, dim=1)  # (d, n_classes)


@torch.no_grad()
def zero_shot_logits(model, images: torch.Tensor, classifier: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Logits (N, n_classes) = exp(logit_scale) · normalize(f_img(x)) @ W, image features computed in batches;
    returned on the CPU."""
    from ..train import predict
    from .clip import LOGIT_SCALE_MAX

    if images.dim() != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got shape {tuple(images.shape)}")
    if classifier.dim() != 2:
        raise ValueError(f"expected classifier weights (embed_dim, n_classes), got shape {tuple(classifier.shape)}")
    z = predict(model, images, fn=lambda x: model.encode_image(x, normalize=True), batch_size=batch_size)  # (N, d)
    if z.size(-1) != classifier.size(0):
        raise ValueError(f"image features have width {z.size(-1)} but the classifier expects {classifier.size(0)}")
    scale = model.logit_scale.exp().clamp(max=math.exp(LOGIT_SCALE_MAX)) if hasattr(model, "logit_scale") else 100.0
    return float(scale) * z @ classifier.float().cpu()  # (N, n_classes)


@torch.no_grad()
def zero_shot_predict(model, images: torch.Tensor, classifier: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Predicted class index (N,) = argmax_c <normalize(f_img(x)), w_c>."""
    return zero_shot_logits(model, images, classifier, batch_size).argmax(dim=-1)
