"""One training loop for every notebook, and the batched evaluation helper.

Notebook 24.1 writes this loop out by hand (forward, loss, backward, step, progress bar); ``fit`` is that loop plus
the plumbing every later notebook needs: AdamW with weight decay on matrices only, linear warmup then cosine decay,
gradient clipping, device moves, bf16 autocast on CUDA, a history of losses and evaluations, and a loss plot.
``predict`` runs a model (or one of its encoders) over many inputs in batches, in eval mode, without gradients.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch
from tqdm.auto import tqdm

from . import settings

SMOOTHING = 20  # window (in steps) of the exponential moving average drawn over noisy loss curves


def to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor inside a (nested) tuple / list / dict to ``device``."""
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def ema(values: list[float], window: int = SMOOTHING) -> list[float]:
    """Exponential moving average with smoothing α = 2 / (window + 1), bias-corrected at the start (as Adam's
    moments), so a short curve is not pulled towards 0 and the first points are not a flat copy of the first value."""
    if window < 1:
        raise ValueError(f"window {window!r} must be >= 1")
    alpha, avg, out = 2.0 / (window + 1), 0.0, []
    for i, v in enumerate(values):
        avg = (1 - alpha) * avg + alpha * v
        out.append(avg / (1 - (1 - alpha) ** (i + 1)))
    return out


@dataclass
class History:
    """Losses per step and metrics per evaluation, kept for plots and tables."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)  # each has "step" and the metrics
    seconds: float = 0.0

    def metric(self, name: str) -> tuple[list[int], list[float]]:
        rows = [e for e in self.evals if name in e]
        return [int(e["step"]) for e in rows], [e[name] for e in rows]

    def last(self, name: str) -> float:
        steps, values = self.metric(name)
        if not values:
            raise KeyError(f"no evaluation recorded metric {name!r}; recorded: {sorted(self.metric_names())}")
        return values[-1]

    def metric_names(self) -> set[str]:
        return {k for e in self.evals for k in e if k != "step"}

    def smoothed_loss(self, window: int = SMOOTHING) -> list[float]:
        """The training loss as an exponential moving average over about ``window`` steps (:func:`ema`)."""
        return ema(self.loss, window)

    def plot(self, title: str = "", axes=None):
        """Loss curve (raw, and its EMA) beside every evaluated metric."""
        import matplotlib.pyplot as plt

        from .viz.style import MAX_WIDTH

        names = sorted(self.metric_names())
        if axes is None:
            width = min(MAX_WIDTH, 5.0 * (1 + bool(names)))
            fig, axes = plt.subplots(1, 1 + bool(names), figsize=(width, 3.6), squeeze=False)
            axes = axes[0]
        ax = axes[0]
        ax.plot(self.step, self.loss, alpha=0.3, color="C0", label="loss per step")
        ax.plot(self.step, self.smoothed_loss(), color="C0", label=f"EMA over {SMOOTHING} steps")
        ax.set(xlabel="step", ylabel="training loss", title=title or "training loss")
        ax.legend(frameon=False)
        if names:
            for i, name in enumerate(names):
                xs, ys = self.metric(name)
                axes[1].plot(xs, ys, marker="o", ms=3, color=f"C{i + 1}", label=name)
            axes[1].set(xlabel="step", title="evaluation")
            axes[1].legend(frameon=False)
        plt.tight_layout()
        return axes


# ----------------------------------------------------------------------------------------------- optimizer


def make_optimizer(model: torch.nn.Module, lr: float = 1e-3, weight_decay: float = 0.01,
                   betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only: biases, LayerNorm gains, 1/τ and other vectors are not decayed."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters (every requires_grad is False)")
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=betas)


def lr_factor(step: int, total: int, warmup: int = 0, schedule: str = "cosine") -> float:
    """Learning-rate multiplier at ``step`` of ``total``: linear warmup to 1, then cosine decay to 0 (or constant)."""
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"schedule {schedule!r} is not known; use 'cosine' or 'constant'")
    if warmup and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant" or total <= warmup:
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


# ----------------------------------------------------------------------------------------------- the loop


def _batches(data: Iterable | Callable[[int], Any]):
    """Endless stream of batches from a DataLoader/iterable (re-iterated each epoch) or a ``step -> batch`` function."""
    if callable(data) and not hasattr(data, "__iter__"):
        step = 0
        while True:
            yield data(step)
            step += 1
    while True:
        empty = True
        for batch in data:
            empty = False
            yield batch
        if empty:
            raise ValueError("the training data yielded no batch; expected a non-empty DataLoader or iterable")


def _total_steps(data, steps: int | None, epochs: int | None) -> int:
    if steps is None:
        if epochs is None:
            raise ValueError("give steps=... or epochs=...")
        if not hasattr(data, "__len__"):
            raise ValueError("epochs=... needs data with a length (a DataLoader); give steps=... instead")
        steps = epochs * len(data)
    if steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}")
    return steps


def train_step(model, batch, loss_fn, optimizer, clip_grad: float | None, step: int) -> tuple[float, dict]:
    """Forward, loss, backward, (clip), step: the five lines of notebook 24.1. Returns (loss, logged metrics)."""
    with settings.autocast():
        out = loss_fn(model, batch)
    loss, logs = out if isinstance(out, tuple) else (out, {})
    if not torch.isfinite(loss):
        raise FloatingPointError(f"loss became {loss.item()} at step {step}; lower the learning rate")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if clip_grad:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
    optimizer.step()
    return loss.item(), logs


def evaluate_into(history: History, model, eval_fn, step: int) -> None:
    """Run ``eval_fn(model)`` in eval mode without gradients and append its metrics at ``step``."""
    if eval_fn is None:
        return
    model.eval()
    with torch.no_grad(), settings.autocast():
        metrics = eval_fn(model)
    model.train()
    history.evals.append({"step": step, **{k: float(v) for k, v in metrics.items()}})


def fit(
    model: torch.nn.Module,
    data: Iterable | Callable[[int], Any],
    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor | tuple[torch.Tensor, dict[str, float]]],
    *,
    steps: int | None = None,
    epochs: int | None = None,
    lr: float = 1e-3,
    weight_decay: float = 0.01,
    betas: tuple[float, float] = (0.9, 0.999),
    warmup: int = 0,
    schedule: str = "cosine",
    eval_fn: Callable[[torch.nn.Module], dict[str, float]] | None = None,
    eval_every: int | None = None,
    clip_grad: float | None = 1.0,
    device: torch.device | str | None = None,
    desc: str = "train",
    plot: bool = True,
    progress: bool = True,
) -> History:
    """Train ``model`` with AdamW (:func:`make_optimizer`) and :func:`lr_factor`'s schedule; return its History.

    ``data`` is a DataLoader / iterable or a ``step -> batch`` function; ``loss_fn(model, batch)`` returns the loss,
    or ``(loss, {"acc": ...})`` to show metrics in the progress bar. Give ``steps`` or ``epochs``.
    ``eval_fn(model)`` runs under ``no_grad`` in eval mode every ``eval_every`` steps and at the end.
    The number of steps never depends on the clock, so a run gives the same result on a fast and a slow machine.
    """
    lr_factor(0, 1, 0, schedule)  # validates schedule before any work
    steps = _total_steps(data, steps, epochs)
    device = torch.device(device) if device is not None else settings.DEVICE
    model.to(device)
    optimizer = make_optimizer(model, lr, weight_decay, betas)
    eval_every = eval_every or max(1, steps // 10)
    history, stream = History(), _batches(data)
    start = time.perf_counter()
    model.train()
    bar = tqdm(total=steps, desc=desc, disable=not progress, leave=False, mininterval=0.5)
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr * lr_factor(step, steps, warmup, schedule)
        loss, logs = train_step(model, to_device(next(stream), device), loss_fn, optimizer, clip_grad, step)
        history.step.append(step)
        history.loss.append(loss)
        bar.update(1)
        if step % 10 == 0:
            recent = ema(history.loss[-3 * SMOOTHING:])[-1]
            bar.set_postfix(loss=f"{recent:.4f}", **{k: f"{float(v):.3f}" for k, v in logs.items()})
        if (step + 1) % eval_every == 0 and step + 1 < steps:
            evaluate_into(history, model, eval_fn, step + 1)
    bar.refresh()  # the last throttled update may lag: show the final count before closing
    bar.close()
    evaluate_into(history, model, eval_fn, steps)
    model.eval()
    history.seconds = time.perf_counter() - start
    if plot:
        import matplotlib.pyplot as plt

        history.plot(title=desc)
        plt.show()
    return history


# ----------------------------------------------------------------------------------------------- evaluation


@torch.no_grad()
def predict(model: torch.nn.Module, *inputs: torch.Tensor, fn: Callable[..., torch.Tensor] | None = None,
            batch_size: int = 512) -> torch.Tensor:
    """``fn(*chunks)`` (default ``model(*chunks)``) over the rows of ``inputs`` in batches: in eval mode (the model's
    mode is restored afterwards), without gradients, on the model's device; returned as float on the CPU.

    ``predict(model, x)`` gives logits; ``predict(clip, images, fn=clip.encode_image)`` gives image features."""
    if not inputs:
        raise ValueError("predict needs at least one input tensor")
    n = len(inputs[0])
    if any(len(x) != n for x in inputs):
        raise ValueError(f"inputs have different lengths {[len(x) for x in inputs]}; they must pair row by row")
    fn = fn or model
    was_training = model.training
    device = next(model.parameters()).device
    model.eval()
    try:
        outs = []
        for i in range(0, n, batch_size):
            with settings.autocast():
                outs.append(fn(*(x[i:i + batch_size].to(device) for x in inputs)).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(outs) if outs else torch.empty(0)


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
