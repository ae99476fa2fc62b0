"""Attention masks of the multimodal transformers of lecture 24.8 (ViLT, CoCa, BLIP-2's Q-Former) as tensors.

Every mask is boolean, True = the row position may attend to the column position (rows are queries, columns keys),
so it can be passed as ``attn_mask`` to ``MultiHeadAttention`` or ``F.scaled_dot_product_attention``. Padded text
tokens (``text_padding`` True) are never attended to; they may still attend, so their rows are well defined.

Layouts:
- ViLT, one stream H = [H_img; H_text] (the lecture's order): N image tokens ([CLS] and patches), then T words.
- Q-Former, one stream [queries; text]: Q learned queries, then T words. BLIP-2 trains it with three masks:
  ITC (image-text contrastive): queries and text do not see each other (two separate encodings in one pass);
  ITM (image-text matching): everything sees everything (bidirectional);
  ITG (image-grounded text generation): queries see only queries; text sees every query and the words before it.
- CoCa's text decoder: causal self-attention over T words and one [CLS] appended at the end, which sees every word.
"""
from __future__ import annotations

import torch

QFORMER_OBJECTIVES = ("itc", "itm", "itg")


def _check_padding(text_padding: torch.Tensor) -> tuple[int, int]:
    if text_padding.dim() != 2 or text_padding.dtype != torch.bool:
        raise ValueError(f"text_padding must be a bool tensor (B, T), True = padding; got shape "
                         f"{tuple(text_padding.shape)} {text_padding.dtype}")
    return text_padding.shape


def causal_mask(length: int, device: torch.device | None = None) -> torch.Tensor:
    """(length, length): position i may attend to j ≤ i."""
    if length < 1:
        raise ValueError(f"length {length!r} must be >= 1")
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()


def _hide_padded_keys(mask: torch.Tensor, text_padding: torch.Tensor, first_text: int) -> torch.Tensor:
    """mask (B, L, L); columns first_text.. of padded words set to False."""
    keys = torch.zeros(mask.shape[0], mask.shape[-1], dtype=torch.bool, device=mask.device)
    keys[:, first_text:] = text_padding
    return mask & ~keys[:, None, :]


def vilt_mask(n_image: int, text_padding: torch.Tensor) -> torch.Tensor:
    """ViLT over [H_img; H_text]: (B, N + T, N + T), every token sees every image token and every real word."""
    if n_image < 1:
        raise ValueError(f"n_image {n_image!r} must be >= 1 (the [CLS] token at least)")
    B, T = _check_padding(text_padding)
    full = torch.ones(B, n_image + T, n_image + T, dtype=torch.bool, device=text_padding.device)
    return _hide_padded_keys(full, text_padding, n_image)


def qformer_mask(objective: str, n_queries: int, text_padding: torch.Tensor) -> torch.Tensor:
    """BLIP-2's Q-Former mask over [queries; text] for one objective: (B, Q + T, Q + T)."""
    if objective not in QFORMER_OBJECTIVES:
        raise ValueError(f"unknown Q-Former objective {objective!r}; allowed: {', '.join(QFORMER_OBJECTIVES)}")
    if n_queries < 1:
        raise ValueError(f"n_queries {n_queries!r} must be >= 1")
    B, T = _check_padding(text_padding)
    Q, device = n_queries, text_padding.device
    mask = torch.zeros(Q + T, Q + T, dtype=torch.bool, device=device)
    mask[:Q, :Q] = True  # queries see queries in every objective
    if objective == "itc":
        mask[Q:, Q:] = True  # text sees text; neither sees the other
    elif objective == "itm":
        mask[:] = True  # bidirectional
    else:  # itg
        mask[Q:, :Q] = True  # text sees every query ...
        mask[Q:, Q:] = causal_mask(T, device)  # ... and the words up to itself; queries never see text
    return _hide_padded_keys(mask.expand(B, -1, -1).clone(), text_padding, Q)


def coca_text_mask(text_padding: torch.Tensor) -> torch.Tensor:
    """CoCa's unimodal text decoder over [words; CLS]: (B, T + 1, T + 1), causal, the final [CLS] sees every real
    word (its output is the text embedding of the contrastive loss)."""
    B, T = _check_padding(text_padding)
    mask = causal_mask(T + 1, text_padding.device).expand(B, -1, -1).clone()
    padding = torch.cat([text_padding, torch.zeros(B, 1, dtype=torch.bool, device=text_padding.device)], 1)
    return _hide_padded_keys(mask, padding, 0)


def additive(mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Boolean mask -> additive one: 0 where attention is allowed, the dtype's minimum where it is not (the
    convention of `transformers`' extended attention masks)."""
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, torch.finfo(dtype).min)
