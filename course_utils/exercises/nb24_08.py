"""Checkers of notebook 24.8's exercises (multimodal transformers). Each runs in well under a second."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..nn.coca import CAPTION_WEIGHT
from ..nn.multimodal_masks import causal_mask, qformer_mask
from ..nn.qformer import contrastive_loss, next_token_loss
from .core import Wrong, call, checker, close

# ----------------------------------------------------------------------------------------------- 24.8.1


@checker("24.8.1", "the Q-Former's ITG mask over [queries; text]")
def check_itg_mask(fn) -> str:
    Q, T = 3, 4
    got = call(fn, Q, T)
    if not torch.is_tensor(got) or tuple(got.shape) != (Q + T, Q + T):
        raise Wrong(f"itg_mask returned {getattr(got, 'shape', type(got).__name__)}, expected a (Q + T, Q + T) = "
                    f"{(Q + T, Q + T)} tensor")
    got = got.bool()
    want = qformer_mask("itg", Q, torch.zeros(1, T, dtype=torch.bool))[0]
    if got[:Q, Q:].any():
        raise Wrong("a query can see text tokens", "ITG's queries never see the text: the caption being generated must "
                    "not leak into the image summary it is generated from (rows 0..Q-1, columns Q.. all False)")
    if not got[Q:, :Q].all():
        raise Wrong("some text tokens cannot see the queries", "every word reads the image only through the queries: "
                    "rows Q.., columns 0..Q-1 all True")
    if torch.equal(got[Q:, Q:], torch.ones(T, T, dtype=torch.bool)):
        raise Wrong("the text sees the words after it", "generation is causal: word t may see words 1..t only "
                    "(a lower-triangular block)")
    if torch.equal(got[Q:, Q:], causal_mask(T).T):
        raise Wrong("the text block is upper-triangular", "row = the word that looks, column = the word looked at: "
                    "keep j ≤ i (tril)")
    if not torch.equal(got, want):
        raise Wrong(f"the mask differs from ITG's in {int((got != want).sum())} places",
                    "queries see queries; text sees every query and the words up to itself")
    return "queries see queries only; each word sees every query and the words before it"


# ----------------------------------------------------------------------------------------------- 24.8.2


@checker("24.8.2", "ITC similarity: the largest cosine between an image's query outputs and a text's [CLS]")
def check_itc_similarity(fn) -> str:
    g = torch.Generator().manual_seed(2)
    zq, zt = torch.randn(3, 4, 5, generator=g) * 3, torch.randn(2, 5, generator=g) * 2  # (B_img, Q, e), (B_txt, e)
    got = call(fn, zq, zt)
    if not torch.is_tensor(got) or tuple(got.shape) != (3, 2):
        raise Wrong(f"itc_similarity returned {getattr(got, 'shape', type(got).__name__)}, expected (B_img, B_txt) = "
                    "(3, 2)")
    cos = torch.einsum("iqe,je->ijq", F.normalize(zq, dim=-1), F.normalize(zt, dim=-1))  # (3, 2, 4)
    if torch.allclose(got, cos.mean(-1), atol=1e-5):
        raise Wrong("the cosines are averaged over the queries", "BLIP-2 takes the largest: s = max_k cos(z_k, t)")
    if torch.allclose(got, torch.einsum("iqe,je->ijq", zq, zt).amax(-1), atol=1e-4):
        raise Wrong("these are dot products of unnormalized vectors", "normalize both sides to unit length first")
    close(got, cos.amax(-1), "the similarity", tol=1e-5, hint="normalize, all cosines (B_img, B_txt, Q), max over Q")
    return "max over the queries of the cosine"


# ----------------------------------------------------------------------------------------------- 24.8.3


@checker("24.8.3", "CoCa's loss: contrastive + 2 × captioning")
def check_coca_loss(fn) -> str:
    g = torch.Generator().manual_seed(3)
    img, txt = F.normalize(torch.randn(3, 4, generator=g), dim=-1), F.normalize(torch.randn(3, 4, generator=g), dim=-1)
    logits = torch.randn(3, 5, 7, generator=g)
    tokens = torch.tensor([[1, 4, 5, 2, 0], [1, 6, 2, 0, 0], [1, 3, 4, 5, 2]])  # <bos>=1 ... <eos>=2, <pad>=0
    tau = 0.1
    got = call(fn, img, txt, logits, tokens, tau)
    if not torch.is_tensor(got) or got.numel() != 1:
        raise Wrong(f"coca_loss returned {type(got).__name__}, expected a scalar tensor")
    con, cap = contrastive_loss(img @ txt.T / tau), next_token_loss(logits, tokens, 0)
    target = torch.arange(3)
    if abs(got.item() - (con + cap).item()) < 1e-5:
        raise Wrong("the captioning loss has weight 1", f"CoCa weighs captioning {CAPTION_WEIGHT:g} × the contrastive "
                    "loss")
    if abs(got.item() - (F.cross_entropy(img @ txt.T / tau, target) + CAPTION_WEIGHT * cap).item()) < 1e-5:
        raise Wrong("the contrastive loss runs only image → text", "average both directions: logits and logits.T")
    unshifted = F.cross_entropy(logits.reshape(-1, 7), tokens.reshape(-1), ignore_index=0)
    if abs(got.item() - (con + CAPTION_WEIGHT * unshifted).item()) < 1e-5:
        raise Wrong("each output is scored against its own token", "the output at t predicts token t + 1: compare "
                    "logits[:, :-1] with tokens[:, 1:]")
    with_pad = F.cross_entropy(logits[:, :-1].reshape(-1, 7), tokens[:, 1:].reshape(-1))
    if abs(got.item() - (con + CAPTION_WEIGHT * with_pad).item()) < 1e-5:
        raise Wrong("padding is counted as a word to predict", "ignore_index=pad_id (0) in the cross-entropy")
    close(got, con + CAPTION_WEIGHT * cap, "the loss", tol=1e-5,
          hint="symmetric InfoNCE on img @ txt.T / tau, plus 2 × the next-token cross-entropy without padding")
    return f"contrastive {con.item():.4f} + 2 × captioning {cap.item():.4f}"


# ----------------------------------------------------------------------------------------------- 24.8.4


@checker("24.8.4", "image-text matching labels when a swapped image may still fit the caption")
def check_itm_labels(fn) -> str:
    truth = torch.tensor([[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 1, 1]], dtype=torch.bool)
    source = torch.tensor([2, 1, 3, 0])  # text j is shown with image source[j]
    got = call(fn, truth, source)
    want = torch.tensor([1, 1, 1, 0])  # text 0 is true of image 2; text 2 true of image 3; text 3 not of image 0
    if not torch.is_tensor(got) or tuple(got.shape) != (4,):
        raise Wrong(f"itm_labels returned {getattr(got, 'shape', type(got).__name__)}, expected (B,) = (4,)")
    got = got.long()
    if torch.equal(got, (source == torch.arange(4)).long()):
        raise Wrong("only unswapped pairs are labelled 1", "a swapped image can still be described by the caption "
                    "(two images of a red circle): read truth[source[j], j]")
    if torch.equal(got, truth[torch.arange(4), source].long()):
        raise Wrong("truth is read as [text, image]", "truth[i, j] = caption j is true of image i: the image index "
                    "comes first")
    if not torch.equal(got, want):
        raise Wrong(f"got {got.tolist()}, expected {want.tolist()}", "label_j = truth[source[j], j]")
    return "a swapped image keeps label 1 when the caption still describes it"
