"""One training loop for every notebook: progress bar, history, evaluation, device moves, AMP, loss plot."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch
from tqdm.auto import tqdm

from . import settings


def to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor inside a (nested) tuple / list / dict to ``device``."""
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


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

    def smoothed_loss(self, window: int = 20) -> list[float]:
        out, acc = [], 0.0
        for i, v in enumerate(self.loss):
            acc += v
            if i >= window:
                acc -= self.loss[i - window]
            out.append(acc / min(i + 1, window))
        return out

    def plot(self, title: str = "", axes=None):
        """Loss curve (raw and smoothed) beside every evaluated metric."""
        import matplotlib.pyplot as plt

        names = sorted(self.metric_names())
        if axes is None:
            fig, axes = plt.subplots(1, 1 + bool(names), figsize=(4.5 * (1 + bool(names)), 3.2), squeeze=False)
            axes = axes[0]
        ax = axes[0]
        ax.plot(self.step, self.loss, alpha=0.3, color="C0", label="loss")
        ax.plot(self.step, self.smoothed_loss(), color="C0", label="smoothed")
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.set_title(title or "training loss")
        ax.legend(frameon=False)
        if names:
            for i, name in enumerate(names):
                xs, ys = self.metric(name)
                axes[1].plot(xs, ys, marker="o", ms=3, color=f"C{i + 1}", label=name)
            axes[1].set_xlabel("step")
            axes[1].set_title("evaluation")
            axes[1].legend(frameon=False)
        plt.tight_layout()
        return axes


def _lr_factor(step: int, total: int, warmup: int, schedule: str) -> float:
    if warmup and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant" or total <= warmup:
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


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


def fit(
    model: torch.nn.Module,
    data: Iterable | Callable[[int], Any],
    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor | tuple[torch.Tensor, dict[str, float]]],
    *,
    steps: int | None = None,
    epochs: int | None = None,
    lr: float = 1e-3,
    weight_decay: float = 0.01,
    warmup: int = 0,
    schedule: str = "cosine",
    optimizer: torch.optim.Optimizer | None = None,
    eval_fn: Callable[[torch.nn.Module], dict[str, float]] | None = None,
    eval_every: int | None = None,
    clip_grad: float | None = 1.0,
    time_limit: float | None = None,
    device: torch.device | str | None = None,
    desc: str = "train",
    plot: bool = True,
    progress: bool = True,
) -> History:
    """Train ``model`` with AdamW (or ``optimizer``) and return its :class:`History`.

    ``loss_fn(model, batch)`` returns the loss, or ``(loss, {"acc": ...})`` to log metrics per step.
    Give ``steps`` or ``epochs`` (of a sized DataLoader); ``time_limit`` (seconds) stops early.
    ``eval_fn(model)`` runs under ``no_grad`` in eval mode every ``eval_every`` steps and at the end.
    """
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"schedule {schedule!r} is not known; use 'cosine' or 'constant'")
    if steps is None:
        if epochs is None:
            raise ValueError("give steps=... or epochs=...")
        if not hasattr(data, "__len__"):
            raise ValueError("epochs=... needs data with a length (a DataLoader); give steps=... instead")
        steps = epochs * len(data)
    if steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}")
    device = torch.device(device) if device is not None else settings.DEVICE
    model.to(device)
    if optimizer is None:
        params = [p for p in model.parameters() if p.requires_grad]
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=lr
        )
    base_lrs = [g["lr"] for g in optimizer.param_groups]
    eval_every = eval_every or max(1, steps // 10)
    history = History()
    start = time.perf_counter()

    def run_eval(step: int) -> None:
        if eval_fn is None:
            return
        model.eval()
        with torch.no_grad(), settings.autocast():
            metrics = eval_fn(model)
        model.train()
        history.evals.append({"step": step, **{k: float(v) for k, v in metrics.items()}})

    model.train()
    bar = tqdm(total=steps, desc=desc, disable=not progress, leave=False, mininterval=0.5)
    stream = _batches(data)
    step = 0
    for step in range(steps):
        factor = _lr_factor(step, steps, warmup, schedule)
        for group, base in zip(optimizer.param_groups, base_lrs):
            group["lr"] = base * factor
        batch = to_device(next(stream), device)
        with settings.autocast():
            out = loss_fn(model, batch)
        loss, logs = (out if isinstance(out, tuple) else (out, {}))
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {step}; lower the learning rate")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip_grad:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
        optimizer.step()
        history.step.append(step)
        history.loss.append(loss.item())
        bar.update(1)
        if step % 10 == 0:
            shown = {k: f"{float(v):.3f}" for k, v in logs.items()}
            bar.set_postfix(loss=f"{history.smoothed_loss()[-1]:.4f}", **shown)
        if (step + 1) % eval_every == 0 and step + 1 < steps:
            run_eval(step + 1)
        if time_limit is not None and time.perf_counter() - start > time_limit:
            break
    bar.close()
    run_eval(step + 1)
    model.eval()
    history.seconds = time.perf_counter() - start
    if plot:
        import matplotlib.pyplot as plt

        history.plot(title=desc)
        plt.show()
    return history


@torch.no_grad()
def predict(model: torch.nn.Module, inputs: torch.Tensor, batch_size: int = 512, device=None) -> torch.Tensor:
    """Model outputs for a tensor of inputs, in batches, on CPU."""
    device = torch.device(device) if device is not None else settings.DEVICE
    model.eval().to(device)
    outs = []
    for i in range(0, len(inputs), batch_size):
        with settings.autocast():
            outs.append(model(inputs[i : i + batch_size].to(device)).float().cpu())
    return torch.cat(outs)


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
