"""Helpers private to notebook 24.11 (text-to-image): the library denoiser adapter, the CLIP judge's count classifier,
where a generated object lies, and the guidance sweep."""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data import text_to_image as D
from ..data.language import caption
from ..data.splits import sample_split_scene
from ..recipes import text_to_image_world as R


class DiffusersDenoiser(nn.Module):
    """``diffusers.UNet2DConditionModel`` called as our denoisers are: ``model(x_t, t, context, context_mask)``.

    diffusers' attention mask keeps what is True, ours marks padding with True, hence the ``~``."""

    def __init__(self, unet: nn.Module):
        super().__init__()
        self.unet = unet

    def forward(self, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor,
                context_mask: torch.Tensor | None = None) -> torch.Tensor:
        keep = None if context_mask is None else (~context_mask).float()  # (B, L) 1 = attend
        return self.unet(x, t, encoder_hidden_states=context, encoder_attention_mask=keep).sample


@torch.no_grad()
def count_classifier(judge, n_captions: int = 200, seed: int = 5) -> torch.Tensor:
    """Zero-shot classes "one object" / "two objects" (d, 2): the mean normalized CLIP embedding of the "count"
    captions of ``n_captions`` random scenes with that many objects, in both languages (a prompt ensemble)."""
    rng, columns = np.random.default_rng(seed), []
    for n in (1, 2):
        caps = [caption(sample_split_scene(rng, "train", n_objects=n), lang, template="count")
                for _ in range(n_captions) for lang in D.LANGS]
        columns.append(F.normalize(judge.encode_text(D.tokenize(caps), normalize=True).mean(0), dim=-1))
    return torch.stack(columns, 1)  # (d, 2)


@torch.no_grad()
def count_accuracy(judge, classifier: torch.Tensor, images: torch.Tensor, prompts: D.PromptSet) -> float:
    """Share of images (N, 3, 32, 32) in [0, 1] whose zero-shot count (1 or 2) is the prompt's."""
    pred = (judge.encode_image(images, normalize=True) @ classifier).argmax(-1) + 1  # (N,)
    return float((pred == torch.tensor(prompts.counts)).float().mean())


def object_region(images: torch.Tensor, threshold: float = 0.15) -> torch.Tensor:
    """The 3 × 3 region (0 = top left … 8 = bottom right) of the centroid of the non-background pixels of each image
    (N, 3, H, W) in [0, 1]: where a generated single object lies."""
    mask = (images.max(1).values > threshold).float()  # (N, H, W): the background is black
    H, W = mask.shape[1:]
    ys, xs = torch.meshgrid((torch.arange(H) + 0.5) / H, (torch.arange(W) + 0.5) / W, indexing="ij")
    total = mask.sum((1, 2)).clamp(min=1)
    cx, cy = (mask * xs).sum((1, 2)) / total, (mask * ys).sum((1, 2)) / total  # (N,) in [0, 1]
    return 3 * (cy * 3).long().clamp(max=2) + (cx * 3).long().clamp(max=2)


def guidance_sweep(model, judge, scales, n_per_pair: int, steps: int, seed: int = 0,
                   count_prompts: D.PromptSet | None = None) -> list[dict]:
    """For each guidance scale: DDIM samples of the seen and held-out one-object prompts scored by the judge (color,
    shape, CLIP score), and of ``count_prompts`` (one or two objects) scored for their count."""
    rows, count_w = [], None if count_prompts is None else count_classifier(judge)
    for g in scales:
        start = time.perf_counter()
        row = {"guidance": g, **R.evaluate(model, g, n_per_pair, steps, seed, judge=judge)}
        if count_prompts is not None:
            images = model.generate(list(count_prompts.prompts), guidance=g, steps=steps,
                                    generator=torch.Generator().manual_seed(seed))
            row["count"] = count_accuracy(judge, count_w, images, count_prompts)
        row["seconds"] = time.perf_counter() - start
        rows.append(row)
    return rows


__all__ = ["DiffusersDenoiser", "count_accuracy", "count_classifier", "guidance_sweep", "object_region"]
