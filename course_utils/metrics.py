"""Metrics shared by the notebooks: accuracy, recall@K, alignment and uniformity, and the COCO caption metrics
BLEU-1…4 and CIDEr-D.

The caption metrics take the interface of ``pycocoevalcap``'s scorers: ``gts`` maps an image id to its reference
captions, ``res`` maps the same ids to a one-element list with the candidate, all lower-case and space-tokenized
(Chinese: one token per character, spaces between them).
"""
from __future__ import annotations

import math
from collections import Counter

import torch


def accuracy(logits: torch.Tensor, target: torch.Tensor) -> float:
    """Share of rows whose arg-max equals the target, in [0, 1]."""
    if logits.shape[0] != target.shape[0]:
        raise ValueError(f"logits have {logits.shape[0]} rows but target has {target.shape[0]}")
    return (logits.argmax(-1) == target).float().mean().item()


def recall_at_k(sim: torch.Tensor, relevant: torch.Tensor, ks=(1, 5, 10)) -> dict[str, float]:
    """Recall@K for queries (rows of ``sim``, (Q, G)) where ``relevant`` (Q, G) bool marks correct gallery items."""
    if sim.shape != relevant.shape:
        raise ValueError(f"sim has shape {tuple(sim.shape)} but relevant has {tuple(relevant.shape)}")
    order = sim.argsort(dim=1, descending=True)  # (Q, G)
    hits = relevant.gather(1, order)  # (Q, G) relevance in ranked order
    return {f"R@{k}": hits[:, :k].any(dim=1).float().mean().item() for k in ks}


def alignment(x: torch.Tensor, y: torch.Tensor, alpha: float = 2.0) -> float:
    """Wang & Isola (2020): E ||f(x) - f(y)||^alpha over positive pairs (rows of x, y L2-normalized)."""
    return (x - y).norm(dim=1).pow(alpha).mean().item()


def uniformity(x: torch.Tensor, t: float = 2.0) -> float:
    """Wang & Isola (2020): log E exp(-t ||f(x) - f(y)||^2) over all pairs."""
    return torch.pdist(x, p=2).pow(2).mul(-t).exp().mean().log().item()


# ----------------------------------------------------------------------------------------------- caption metrics

BLEU_TINY, BLEU_SMALL = 1e-15, 1e-9  # the COCO code's smoothing: (matches + tiny) / (n-grams + small)


def check_captions(gts: dict, res: dict) -> None:
    """The scorers' input: the same image ids in both, at least one reference per image, exactly one candidate."""
    missing = [k for k in res if k not in gts]
    if missing:
        raise ValueError(f"image ids {missing[:5]} of res are missing from gts")
    extra = [k for k in gts if k not in res]
    if extra:
        raise ValueError(f"image ids {extra[:5]} of gts have no candidate in res")
    for k, refs in gts.items():
        if isinstance(refs, str) or len(refs) == 0:
            raise ValueError(f"image {k!r} needs a non-empty list of reference captions, got {refs!r}")
    for k, cand in res.items():
        if isinstance(cand, str) or len(cand) != 1:
            raise ValueError(f"image {k!r} needs a list with exactly one candidate caption, got {cand!r}")


def ngram_counts(words: list[str], n: int) -> Counter:
    """Counts of every 1- … n-gram of a token list (tuples as keys)."""
    return Counter(tuple(words[i:i + k]) for k in range(1, n + 1) for i in range(len(words) - k + 1))


def bleu(gts: dict, res: dict, n: int = 4) -> list[float]:
    """Corpus BLEU-1 … BLEU-n (Papineni et al. 2002), as the COCO evaluation code computes it.

    p_k = Σ clipped k-gram matches / Σ candidate k-grams over the corpus, a match clipped at the largest count of that
    k-gram in any one reference; BLEU-k = BP · (p_1 ⋯ p_k)^(1/k); the brevity penalty BP = exp(1 − r/c) when the
    total candidate length c is below r, the sum over images of the reference length closest to the candidate's
    (ties: the shorter). The smoothing constants ``BLEU_TINY`` / ``BLEU_SMALL`` are the COCO code's, so an order with
    no match gives a tiny positive score rather than 0."""
    check_captions(gts, res)
    if n < 1:
        raise ValueError(f"n {n!r} must be >= 1")
    correct, total = [0] * n, [0] * n
    cand_len = ref_len = 0
    for k in gts:
        cand, refs = res[k][0].split(), [r.split() for r in gts[k]]
        max_ref = Counter()
        for r in refs:
            max_ref |= ngram_counts(r, n)  # element-wise max over the references
        for gram, count in ngram_counts(cand, n).items():
            correct[len(gram) - 1] += min(count, max_ref[gram])
        for order in range(n):
            total[order] += max(0, len(cand) - order)
        cand_len += len(cand)
        ref_len += min((abs(len(r) - len(cand)), len(r)) for r in refs)[1]  # the closest reference length
    scores, product = [], 1.0
    for order in range(n):
        product *= (correct[order] + BLEU_TINY) / (total[order] + BLEU_SMALL)
        scores.append(product ** (1 / (order + 1)))
    ratio = (cand_len + BLEU_TINY) / (ref_len + BLEU_SMALL)
    brevity = math.exp(1 - 1 / ratio) if ratio < 1 else 1.0
    return [s * brevity for s in scores]


def cider_d(gts: dict, res: dict, n: int = 4, sigma: float = 6.0) -> float:
    """CIDEr-D (Vedantam et al. 2015), as the COCO evaluation code computes it.

    Each caption becomes, per order k = 1 … n, a tf-idf vector g_k: the k-gram's count times log(N / df), N the number
    of images and df the number of images among whose references the k-gram occurs. For a candidate c and a reference
    s: clipped cosine Σ min(g_k(c), g_k(s)) · g_k(s) / (‖g_k(c)‖ ‖g_k(s)‖), times the Gaussian length penalty
    exp(−(l_c − l_s)² / 2σ²); averaged over the n orders and over the references, times 10; the mean over images."""
    check_captions(gts, res)
    refs = {k: [ngram_counts(r.split(), n) for r in gts[k]] for k in gts}
    df = Counter(gram for k in gts for gram in set().union(*refs[k]))  # images whose references contain the gram
    log_n = math.log(len(gts))

    def tfidf(counts: Counter) -> tuple[list[dict], list[float], int]:
        vec = [{} for _ in range(n)]
        for gram, tf in counts.items():
            vec[len(gram) - 1][gram] = tf * (log_n - math.log(max(1.0, df[gram])))
        norms = [math.sqrt(sum(v * v for v in order.values())) for order in vec]
        return vec, norms, sum(counts[g] for g in counts if len(g) == 1)  # length in words

    def similarity(cand, ref) -> float:
        (vc, nc, lc), (vr, nr, lr) = cand, ref
        penalty = math.exp(-((lc - lr) ** 2) / (2 * sigma ** 2))
        total = 0.0
        for order in range(n):
            dot = sum(min(w, vr[order].get(g, 0.0)) * vr[order].get(g, 0.0) for g, w in vc[order].items())
            if nc[order] != 0 and nr[order] != 0:
                dot /= nc[order] * nr[order]
            total += dot * penalty
        return total / n

    per_image = []
    for k in gts:
        cand = tfidf(ngram_counts(res[k][0].split(), n))
        per_image.append(10.0 * sum(similarity(cand, tfidf(r)) for r in refs[k]) / len(refs[k]))
    return sum(per_image) / len(per_image)
