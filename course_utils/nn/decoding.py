"""Decoding a caption token by token from a model's next-token logits."""
from __future__ import annotations

from typing import Callable

import torch


@torch.no_grad()
def greedy_decode(next_logits: Callable[[torch.Tensor], torch.Tensor], n: int, *, bos_id: int, eos_id: int,
                  pad_id: int, max_len: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Greedy decoding of n sequences from <bos>: at each step append the argmax of ``next_logits(tokens (n, t))
    -> (n, t, V)`` at the last position; a sequence that produced <eos> continues with <pad>. Stops when every
    sequence has ended or at ``max_len`` tokens. Returns token ids (n, t)."""
    if n < 1 or max_len < 2:
        raise ValueError(f"need n >= 1 sequences and max_len >= 2, got n={n}, max_len={max_len}")
    seq = torch.full((n, 1), bos_id, dtype=torch.long, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    for _ in range(max_len - 1):
        nxt = next_logits(seq)[:, -1].argmax(-1)  # (n,)
        nxt = torch.where(done, torch.full_like(nxt, pad_id), nxt)
        seq = torch.cat([seq, nxt[:, None]], 1)
        done |= nxt == eos_id
        if bool(done.all()):
            break
    return seq


def _select(state: dict, index: torch.Tensor) -> dict:
    """The rows ``index`` of every tensor of a decoding state (beams are reordered after each step)."""
    return {k: v.index_select(0, index) for k, v in state.items()}


@torch.no_grad()
def beam_search(step: Callable[[torch.Tensor, dict], tuple[torch.Tensor, torch.Tensor, dict]], state: dict, n: int, *,
                beam_size: int, bos_id: int, eos_id: int, pad_id: int, max_len: int,
                length_penalty: float = 1.0) -> dict:
    """Beam search for n sequences at once: after each word keep the ``beam_size`` prefixes of highest total
    log-probability Σ_t log p(y_t | y_<t) of each sequence.

    ``step(tokens (N, t), state) -> (log-probs of the next word (N, V), attention (N, L), new state)``, every tensor
    of ``state`` with N rows. A prefix that produced <eos> stays in the beam with its score frozen (it continues
    with <pad> at no cost). At the end each sequence keeps the hypothesis with the best length-normalized score
    log p / |y|^α, |y| the words including <eos>, α = ``length_penalty`` (0: raw log-probability, which favours short
    captions). ``beam_size=1`` is greedy decoding. Returns "tokens" (n, t), "attention" (n, t-1, L), the attention
    of each generated word, and "score" (n,)."""
    if not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam size {beam_size!r} must be an integer >= 1")
    if n < 1 or max_len < 2:
        raise ValueError(f"need n >= 1 sequences and max_len >= 2, got n={n}, max_len={max_len}")
    if length_penalty < 0:
        raise ValueError(f"length_penalty {length_penalty!r} must be >= 0")
    K = beam_size
    device = next(iter(state.values())).device
    state = _select(state, torch.arange(n, device=device).repeat_interleave(K))  # (n·K, ...): K copies each
    tokens = torch.full((n * K, 1), bos_id, dtype=torch.long, device=device)  # (n·K, 1)
    score = torch.full((n, K), float("-inf"), device=device)
    score[:, 0] = 0.0  # at the first step only one copy expands, or the beam would hold K equal prefixes
    score = score.view(-1)  # (n·K,)
    done = torch.zeros(n * K, dtype=torch.bool, device=device)
    length = torch.zeros(n * K, device=device)
    attention = None
    for _ in range(max_len - 1):
        logp, alpha, state = step(tokens, state)  # (n·K, V), (n·K, L)
        V = logp.size(-1)
        ended = torch.full((V,), float("-inf"), device=device)
        ended[pad_id] = 0.0  # a finished hypothesis can only continue with <pad>, at no cost
        logp = torch.where(done[:, None], ended, logp)
        top, flat = (score[:, None] + logp).view(n, K * V).topk(K, dim=1)  # (n, K): best of the K·V extensions
        origin = (torch.arange(n, device=device)[:, None] * K + flat // V).view(-1)  # (n·K,) the prefix extended
        word = (flat % V).view(-1)  # (n·K,)
        tokens = torch.cat([tokens[origin], word[:, None]], 1)  # (n·K, t+1)
        step_attention = alpha[origin][:, None]  # (n·K, 1, L)
        attention = step_attention if attention is None else torch.cat([attention[origin], step_attention], 1)
        state = _select(state, origin)
        length = length[origin] + (~done[origin]).float()
        done = done[origin] | (word == eos_id)
        score = top.view(-1)
        if bool(done.all()):
            break
    normalized = score / length.clamp(min=1) ** length_penalty  # (n·K,)
    pick = torch.arange(n, device=device) * K + normalized.view(n, K).argmax(1)  # (n,)
    return {"tokens": tokens[pick], "attention": attention[pick], "score": normalized[pick]}


__all__ = ["beam_search", "greedy_decode"]
