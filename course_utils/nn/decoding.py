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


__all__ = ["greedy_decode"]
