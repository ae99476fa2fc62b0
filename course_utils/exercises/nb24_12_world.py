"""Checker of notebook 24.12's world-model exercise (24.12.4: the autoregressive rollout). Runs in milliseconds."""
from __future__ import annotations

import torch

from .core import Wrong, call, checker, close

B, C, SIZE = 2, 2, 4


def _predict(window: torch.Tensor) -> torch.Tensor:
    """A toy world model with context 2: x̂_{t+1} = 2 x_t − x_{t−1} + 0.1 (order matters, so do fed-back frames)."""
    if window.dim() != 5 or window.size(1) != C:
        raise ValueError(f"the window has shape {tuple(window.shape)}; the model reads exactly (B, {C}, 3, H, W): "
                         "drop the oldest frame when you append a prediction")
    return 2 * window[:, -1] - window[:, -2] + 0.1


def _reference(past: torch.Tensor, horizon: int) -> torch.Tensor:
    window, preds = past, []
    for _ in range(horizon):
        preds.append(_predict(window))
        window = torch.cat([window[:, 1:], preds[-1][:, None]], 1)
    return torch.stack(preds, 1)


def _same(x, y) -> bool:
    return torch.is_tensor(x) and x.shape == y.shape and torch.allclose(x.double(), y.double(), atol=1e-6)


def _check_horizon_error(fn, past) -> None:
    try:
        call(fn, _predict, past.clone(), 0)
    except Wrong as w:
        if "ValueError" in w.what:
            return
        raise
    raise Wrong("horizon 0 returned a result instead of raising ValueError",
                "start with: if horizon < 1: raise ValueError(f\"horizon {horizon} must be >= 1\")")


@checker("24.12.4", "the autoregressive rollout: x̂_{t+k} = f(x̂_{t+k−C}, …, x̂_{t+k−1}), predictions fed back in")
def check_rollout(fn) -> str:
    g = torch.Generator().manual_seed(5)
    past, horizon = torch.rand(B, C, 3, SIZE, SIZE, generator=g), 4
    got = call(fn, _predict, past.clone(), horizon)
    want = _reference(past, horizon)
    if not torch.is_tensor(got):
        raise Wrong(f"rollout returned {type(got).__name__}, expected a tensor of shape {tuple(want.shape)}",
                    "collect the predictions in a list and torch.stack(preds, dim=1)")
    if _same(got, _predict(past)[:, None].expand_as(want)):
        raise Wrong("every step reads the same true past frames: the predictions are never fed back in",
                    "after each step, window = torch.cat([window[:, 1:], pred[:, None]], dim=1)")
    if _same(got, want.flip(1)):
        raise Wrong("the frames come out in reverse order", "append each new prediction at the end of the list")
    if got.shape == want[:, -1].shape:
        raise Wrong(f"rollout returned one frame {tuple(got.shape)}, expected all {horizon}: {tuple(want.shape)}",
                    "return every prediction, stacked along dim 1 (the time axis)")
    if got.shape != want.shape:
        raise Wrong(f"rollout returned shape {tuple(got.shape)}, expected {tuple(want.shape)} = (B, horizon, 3, H, W)",
                    "stack the predictions along dim 1")
    close(got, want, "the rolled-out frames", tol=1e-6,
          hint="the window must stay in time order: oldest frame first, the newest prediction last")
    _check_horizon_error(fn, past)
    return "the rollout matches the hand-unrolled steps, and a horizon below 1 is refused"
