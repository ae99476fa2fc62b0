"""Metrics shared by the notebooks: accuracy, recall@K, alignment and uniformity, and the COCO caption metrics
BLEU-1…4, CIDEr-D and METEOR.

The caption metrics take the interface of ``pycocoevalcap``'s scorers: ``gts`` maps an image id to its reference
captions, ``res`` maps the same ids to a one-element list with the candidate, all lower-case and space-tokenized
(Chinese: one token per character, spaces between them).
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import snowballstemmer
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


# ----------------------------------------------------------------------------------------------- METEOR

# Meteor 1.5's parameters for English in its default task "rank" (TASK_DEFAULT): the English rows of PARAM_RANK and
# WEIGHT_RANK in edu.cmu.meteor.util.Constants of meteor-1.5.jar, the jar pycocoevalcap runs.
METEOR_ALPHA, METEOR_BETA, METEOR_GAMMA, METEOR_DELTA = 0.85, 0.20, 0.60, 0.75
METEOR_WEIGHTS = {"exact": 1.0, "stem": 0.6}  # Meteor's synonym (0.8) and paraphrase (0.6) modules are left out

# Meteor 1.5's English function words: the file function/english.words inside meteor-1.5.jar (93 entries, its order).
METEOR_FUNCTION_WORDS = frozenset("""
the , . to of and a in that for " is on 's it with was as said at he by be from have has are his but an this not i
will ’ they ) -rrb- ( -lrb- who their had we which were been more or s its would about new one after you : also up
when there than $ all out her people she year two - can if last first “ over other ” into some what so -- no time
years could ? 't — '
""".split())

_STEMMER = snowballstemmer.stemmer("english")  # the Snowball (Porter 2) English stemmer, as Meteor's stem module


@lru_cache(maxsize=None)
def _stem(word: str) -> str:
    return _STEMMER.stemWord(word)


class MeteorStats(NamedTuple):
    """Meteor's sufficient statistics of one candidate and one reference; a corpus adds them up (see ``meteor``).

    Each word counts δ if it is a content word and 1 − δ if it is a function word; an aligned word also counts the
    weight of the module that aligned it."""
    m_c: float  # weighted aligned words of the candidate: Σ w_module · (δ or 1 − δ)
    m_r: float  # the same for the reference
    l_c: float  # weighted length of the candidate: Σ (δ or 1 − δ) over all its words
    l_r: float
    len_c: int  # words of the candidate
    len_r: int
    matches: int  # aligned word pairs
    chunks: int  # runs of aligned pairs adjacent and in the same order in both captions

    @property
    def one_chunk(self) -> bool:
        """Every word of both captions aligned, in one chunk: Meteor then sets the fragmentation to 0."""
        return self.matches == self.len_c == self.len_r and self.chunks == 1


@dataclass
class MeteorAlignment:
    """One candidate against one reference: the alignment and every number of the METEOR formula."""
    matches: list[tuple[int, int, str]]  # (candidate position, reference position, "exact" | "stem")
    chunks: int
    precision: float
    recall: float
    fmean: float
    penalty: float
    score: float
    stats: MeteorStats


def _meteor_align(cand: list[str], ref: list[str]) -> list[tuple[int, int, str]]:
    """The best alignment by Meteor 1.5's ranking, found exactly: pairs (i, j, module), sorted by j.

    Candidate word i and reference word j may pair if they are the same word ("exact") or else have the same
    Snowball stem ("stem"); a word pairs at most once. Meteor ranks alignments by its search weights (exact 1, other
    modules 0.5) added up in a Java int, so that a stem pair adds 0: the most exact pairs first, then the fewest
    chunks, then (at a tie Meteor's sort keeps a match) the most stem pairs, then the least distance Σ |i − j|.
    Meteor searches with a beam of 40 partial alignments, which on long captions with repeated words can lose the
    best one (it then reports more chunks than needed); this search is exact.

    The most exact pairs are min(count in candidate, count in reference) of every word, however the copies pair up,
    as long as stem pairs take only spare copies. A chunk is a run of pairs (i, j), (i + 1, j + 1), …; a lone pair
    is a chunk of its own, so a lone stem pair costs a chunk and gains nothing. What is left to choose are the
    tiles, runs of two or more pairs: with t tiles holding e exact pairs, chunks = (exact pairs) + t − e. Dynamic
    programming over the reference words picks the tiles with the least t − e, then the most stem pairs, then the
    least distance; a state is (the candidate words that tiles took and a later tile could want, the candidate word
    that a tile running on from j − 1 gives reference word j, the words stem pairs took). The words no tile took
    then pair alone, word by word, at the least distance."""
    if cand == ref:
        return [(i, i, "exact") for i in range(len(ref))]  # as Meteor: identical captions align word by word
    stem_c, stem_r = [_stem(w) for w in cand], [_stem(w) for w in ref]
    count_c, count_r = Counter(cand), Counter(ref)
    spare = {**{("c", w): n - count_r[w] for w, n in count_c.items()},  # copies no exact pair needs
             **{("r", w): n - count_c[w] for w, n in count_r.items()}}
    bigrams = defaultdict(list)  # stem bigram -> candidate positions i where it starts
    for i in range(len(cand) - 1):
        bigrams[stem_c[i], stem_c[i + 1]].append(i)
    starts = [bigrams.get((stem_r[j], stem_r[j + 1]), []) for j in range(len(ref) - 1)] + [[]]  # tiles at (i, j)
    live = [0] * (len(ref) + 1)  # live[j]: bits of the candidate words that a tile at reference words >= j could take
    for j in range(len(ref) - 2, -1, -1):
        live[j] = live[j + 1]
        for i in starts[j]:
            live[j] |= 3 << i  # words i and i + 1

    def add_pair(key, stems, i, j):  # key (t − e, −stem pairs, distance) with pair (i, j) in a tile, or None
        t_e, neg_s, d = key
        if cand[i] == ref[j]:
            return (t_e - 1, neg_s, d + abs(i - j)), stems, "exact"
        took = (("c", cand[i]), ("r", ref[j]))
        if any(stems.count(k) >= spare[k] for k in took):
            return None  # the stem pair would take a copy an exact pair needs
        return (t_e, neg_s - 1, d + abs(i - j)), tuple(sorted(stems + took)), "stem"

    links_from = [0] * (len(ref) + 1)  # links_from[j]: reference pairs (j', j' + 1), j' >= j, that a tile could link
    for j in range(len(ref) - 1, -1, -1):
        links_from[j] = links_from[j + 1] + bool(starts[j])

    def search(beam=None, bound=None):
        """Best (key, path) over the tiles; beam: keep that many states per step; bound: drop a state whose
        t − e cannot come down to it (each link still possible lowers t − e by at most 1)."""
        states = {(0, -1, ()): ((0, 0, 0), None)}  # (used, cur, stems) -> (key, path: tile pairs (i, j, module, rest))
        for j in range(len(ref)):
            nxt = {}

            def keep(state, key, path):
                if (bound is None or key[0] - links_from[j + 1] <= bound) and (state not in nxt or key < nxt[state][0]):
                    nxt[state] = (key, path)

            for (used, cur, stems), (key, path) in states.items():
                keep((used & live[j + 1], -1, stems), key, path)  # no tile runs on from j to j + 1
                for i in ([cur] if cur in starts[j] else []) if cur >= 0 else starts[j]:
                    if used >> (i + 1) & 1 or (cur < 0 and used >> i & 1):
                        continue
                    if cur < 0:  # a new tile: t + 1, pairs (i, j) and (i + 1, j + 1)
                        first = add_pair((key[0] + 1, key[1], key[2]), stems, i, j)
                        if first is None:
                            continue
                        key1, stems1, module = first
                        path1, used1 = (i, j, module, path), used | 1 << i
                    else:  # the tile runs on: (cur, j) is already in it
                        key1, stems1, path1, used1 = key, stems, path, used
                    second = add_pair(key1, stems1, i + 1, j + 1)
                    if second is not None:
                        key2, stems2, module = second
                        keep(((used1 | 1 << (i + 1)) & live[j + 1], i + 1, stems2), key2, (i + 1, j + 1, module, path1))
            if beam is not None and len(nxt) > beam:
                nxt = dict(sorted(nxt.items(), key=lambda kv: (kv[1][0][0] - links_from[j + 1], kv[1][0]))[:beam])
            states = nxt
        return min(states.values(), key=lambda v: v[0])

    # a narrow beam finds a good t − e fast; the exact search then only keeps states that can still reach it
    (bound, _, _), _ = search(beam=8)
    _, path = search(bound=bound)
    pairs = []
    while path is not None:
        i, j, module, path = path
        pairs.append((i, j, module))
    # the words no tile took pair alone: every word its min(count) exact pairs, at the least distance
    in_tile_c, in_tile_r = {i for i, _, _ in pairs}, {j for _, j, _ in pairs}
    free_c, free_r = defaultdict(list), defaultdict(list)
    for i, w in enumerate(cand):
        if i not in in_tile_c:
            free_c[w].append(i)
    for j, w in enumerate(ref):
        if j not in in_tile_r:
            free_r[w].append(j)
    for w in free_c.keys() & free_r.keys():
        pairs += [(i, j, "exact") for i, j in _closest_pairs(free_c[w], free_r[w])]
    return sorted(pairs, key=lambda p: p[1])


def _closest_pairs(xs: list[int], ys: list[int]) -> list[tuple[int, int]]:
    """min(len(xs), len(ys)) pairs (x, y), each x and y in one pair, with the least Σ |x − y| (xs, ys sorted)."""
    if len(xs) == len(ys):
        return list(zip(xs, ys))  # in order: optimal for sorted lists of equal length
    from scipy.optimize import linear_sum_assignment  # here: importing scipy.optimize takes half a second

    rows, cols = linear_sum_assignment([[abs(x - y) for y in ys] for x in xs])
    return [(xs[r], ys[c]) for r, c in zip(rows, cols)]


def _chunks(pairs: list[tuple[int, int, str]]) -> int:
    """Runs of pairs (i, j), (i + 1, j + 1), …: a pair starts a chunk unless (i − 1, j − 1) is a pair too."""
    aligned = {(i, j) for i, j, _ in pairs}
    return sum((i - 1, j - 1) not in aligned for i, j in aligned)


def _meteor_stats(cand: list[str], ref: list[str]) -> tuple[MeteorStats, list[tuple[int, int, str]]]:
    matches = _meteor_align(cand, ref)
    chunks = _chunks(matches)
    weight = lambda w: METEOR_DELTA if w not in METEOR_FUNCTION_WORDS else 1 - METEOR_DELTA  # content δ, function 1−δ
    m_c = sum(METEOR_WEIGHTS[module] * weight(cand[i]) for i, _, module in matches)
    m_r = sum(METEOR_WEIGHTS[module] * weight(ref[j]) for _, j, module in matches)
    stats = MeteorStats(m_c, m_r, sum(map(weight, cand)), sum(map(weight, ref)), len(cand), len(ref),
                        len(matches), chunks)
    return stats, matches


def _meteor_formula(st: MeteorStats) -> tuple[float, float, float, float, float]:
    """(P, R, Fmean, Pen, score) of Meteor 1.5 from sufficient statistics (MeteorScorer.computeMetrics)."""
    if st.matches == 0:
        return 0.0, 0.0, 0.0, 0.0, 0.0  # Meteor's 0/0 gives NaN, which it scores 0
    precision, recall = st.m_c / st.l_c, st.m_r / st.l_r  # P = weighted matches / weighted length; R the same
    fmean = precision * recall / (METEOR_ALPHA * precision + (1 - METEOR_ALPHA) * recall)  # 1/((1−α)/P + α/R)
    frag = 0.0 if st.one_chunk else st.chunks / st.matches  # frag = chunks / matches
    penalty = METEOR_GAMMA * frag ** METEOR_BETA  # Pen = γ (chunks / matches)^β
    return precision, recall, fmean, penalty, max(fmean * (1 - penalty), 0.0)  # score = Fmean (1 − Pen)


def meteor_alignment(candidate: str, reference: str) -> MeteorAlignment:
    """METEOR of one candidate against one reference (lower case, space-tokenized), with its alignment."""
    stats, matches = _meteor_stats(candidate.split(), reference.split())
    precision, recall, fmean, penalty, score = _meteor_formula(stats)
    return MeteorAlignment(matches, stats.chunks, precision, recall, fmean, penalty, score, stats)


def meteor(gts: dict, res: dict) -> float:
    """Corpus METEOR (Banerjee & Lavie 2005; Meteor 1.5, Denkowski & Lavie 2014), as the COCO evaluation code runs it.

    Words align one-to-one in stages, exact match first, then same Snowball stem (``_meteor_align``). With m_c, m_r
    the aligned words weighted by module (exact 1.0, stem 0.6) and by δ (content word) or 1 − δ (function word), and
    l_c, l_r the lengths weighted the same way: P = m_c / l_c, R = m_r / l_r, Fmean = P·R / (α·P + (1 − α)·R),
    Pen = γ·(chunks / matches)^β (0 when every word of both aligns in one chunk), score = Fmean·(1 − Pen), with
    α = 0.85, β = 0.2, γ = 0.6, δ = 0.75. Each image keeps its best reference (the first at a tie). The corpus score is
    the formula on the statistics summed over images (pycocoevalcap sends them all in one EVAL line); an image whose
    candidate and reference align completely in one chunk adds no chunks.

    Left out: Meteor's synonym module (WordNet synsets, weight 0.8) and paraphrase module (its phrase table, 0.6), so
    a pair like "large" / "big" or "is" / "are" aligns in the Java scorer but not here; and Meteor's -norm tokenizer
    (the captions come tokenized and lower case). The alignment search is exact where Meteor's beam search can miss
    the best alignment (``_meteor_align``). METEOR is English only: the stemmer, the function words and the
    parameters are English ones, so it is no metric for the Chinese captions."""
    check_captions(gts, res)
    total = [0.0] * len(MeteorStats._fields)
    for k in gts:
        cand = res[k][0].split()
        best, best_score = None, -1.0
        for ref in gts[k]:
            stats, _ = _meteor_stats(cand, ref.split())
            score = _meteor_formula(stats)[4]
            if score > best_score:
                best, best_score = stats, score
        if best.one_chunk:
            best = best._replace(chunks=0)  # as MeteorStats.addStats: such an image adds no chunks
        total = [t + b for t, b in zip(total, best)]
    return _meteor_formula(MeteorStats(*total))[4]
