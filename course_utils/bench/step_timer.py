"""Wall-clock time of one training step (forward + backward + AdamW step), to compare implementations fairly."""

from __future__ import annotations

import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


def time_train_step(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int = 10,
    warmup: int = 2,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
    lr: float = 1e-3,
    num_threads: int | None = None,
) -> float:
    """Median seconds per step of forward + backward + AdamW on the batch (x, y). Updates the model's weights.

    ``num_threads`` sets torch's intra-op threads for the measurement only (None = leave as is).
    """
    old_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=lr)
        sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
        times = []
        for i in range(warmup + steps):
            sync()
            t0 = time.perf_counter()
            loss = loss_fn(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sync()
            if i >= warmup:
                times.append(time.perf_counter() - t0)
        return sorted(times)[len(times) // 2]
    finally:
        torch.set_num_threads(old_threads)
