"""CLIP beyond one process: every rank contrasts its local pairs against the *global* batch (open_clip's scheme).

Each of W processes encodes its local batch of n pairs. ``gather_features`` all-gathers the features so that the
loss sees all W·n pairs, i.e. W·n - 1 negatives per positive instead of n - 1:

* ``gather_with_grad=False``: the gathered copies carry no gradient; the local slice is replaced by the local
  tensors (``local_loss=False``) so that this rank's encoders still get their gradient. Each rank then holds
  dL/dθ through its own slice only; DDP's gradient *average* gives (1/W)·dL/dθ for the encoder parameters of the
  global loss (``logit_scale``, used directly on every rank, keeps its full dL/d logit_scale).
* ``gather_with_grad=True``: ``torch.distributed.nn.all_gather`` sends gradients back to the rank that owns each
  slice (a sum over ranks), so each rank holds W·dL/dθ|local and DDP's average gives exactly dL/dθ.
* ``local_loss=True`` (needs ``gather_with_grad=True`` for exact gradients): each rank scores only its own n rows
  against all W·n columns, an (n, W·n) instead of (W·n, W·n) logit matrix; the mean of the rank losses is the
  global loss.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F


class AllGatherWithGrad(torch.autograd.Function):
    """y = concat(x_0, …, x_{W-1}) over ranks; backward: rank r receives Σ_s dL_s/dy restricted to its slice r.

    Every rank s computes its own loss L_s from y, so the gradient of x_r is the *sum* over ranks of their gradient
    for slice r: a reduce-scatter (here an all-reduce followed by taking the own slice, which every backend has).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.rank, ctx.world_size = dist.get_rank(), dist.get_world_size()
        parts = [torch.empty_like(x) for _ in range(ctx.world_size)]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts, dim=0)  # (W·n, ...)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)  # Σ over ranks, (W·n, ...)
        n = grad.size(0) // ctx.world_size
        return grad[ctx.rank * n : (ctx.rank + 1) * n]  # (n, ...)


def gather_features(
    z_img: torch.Tensor,
    z_txt: torch.Tensor,
    local_loss: bool = False,
    gather_with_grad: bool = False,
    rank: int = 0,
    world_size: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """All-gather (n, d) features from every rank -> (W·n, d), rank r's rows at [r·n, (r+1)·n)."""
    if world_size == 1:
        return z_img, z_txt
    if not dist.is_available() or not dist.is_initialized():
        raise ValueError(f"world_size={world_size} needs torch.distributed initialised (init_process_group) first")
    if local_loss and not gather_with_grad:  # open_clip: no gradient through any gathered copy
        return gather_tensor(z_img, world_size), gather_tensor(z_txt, world_size)
    return (gather_rows(z_img, rank, world_size, gather_with_grad),
            gather_rows(z_txt, rank, world_size, gather_with_grad))


def gather_rows(x: torch.Tensor, rank: int, world_size: int, with_grad: bool = True) -> torch.Tensor:
    """All-gather (n, ...) -> (W·n, ...). with_grad: gradients flow back to every owner; else only the local slice
    (this rank's own tensor, put back in place) carries a gradient."""
    if world_size == 1:
        return x
    if with_grad:
        return AllGatherWithGrad.apply(x)
    parts = [torch.zeros_like(x) for _ in range(world_size)]
    dist.all_gather(parts, x.contiguous())  # copies without gradient
    parts[rank] = x  # keep this rank's gradient path
    return torch.cat(parts, dim=0)


def distributed_clip_loss(
    z_img: torch.Tensor,
    z_txt: torch.Tensor,
    logit_scale: torch.Tensor,
    *,
    rank: int = 0,
    world_size: int = 1,
    local_loss: bool = False,
    gather_with_grad: bool = False,
    same: torch.Tensor | None = None,
) -> torch.Tensor:
    """Symmetric InfoNCE over the global batch (open_clip's ``ClipLoss``), from this rank's (n, d) features.

    ``same`` optionally gives multi-positive targets for the *global* batch, shape (W·n, W·n) bool (build it from
    gathered labels with ``gather_tensor``); without it the targets are the diagonal.
    """
    from .clip_loss import clip_loss, multi_positive_clip_loss, soft_cross_entropy

    all_img, all_txt = gather_features(z_img, z_txt, local_loss, gather_with_grad, rank, world_size)
    if not local_loss or world_size == 1:
        if same is None:
            return clip_loss(all_img, all_txt, logit_scale)
        return multi_positive_clip_loss(all_img, all_txt, logit_scale, same)
    n = len(z_img)
    logits_i2t = logit_scale * z_img @ all_txt.T  # (n, W·n): my images against all captions
    logits_t2i = logit_scale * z_txt @ all_img.T  # (n, W·n): my captions against all images
    rows = slice(rank * n, (rank + 1) * n)
    if same is None:
        target = torch.arange(n, device=z_img.device) + rank * n  # my positives sit in my slice of the columns
        return (F.cross_entropy(logits_i2t, target) + F.cross_entropy(logits_t2i, target)) / 2
    return (soft_cross_entropy(logits_i2t, same[rows]) + soft_cross_entropy(logits_t2i, same.T[rows])) / 2


def gather_tensor(x: torch.Tensor, world_size: int = 1) -> torch.Tensor:
    """All-gather a tensor without gradient (e.g. class labels) -> concatenated along dim 0 in rank order."""
    if world_size == 1:
        return x
    out = [torch.zeros_like(x) for _ in range(world_size)]
    dist.all_gather(out, x.detach().contiguous())
    return torch.cat(out, dim=0)


def setup_from_env(backend: str | None = None) -> tuple[int, int, torch.device]:
    """Initialise torch.distributed from torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT).

    Backend: nccl when CUDA is available, else gloo. Returns (rank, world_size, device). Without torchrun's
    variables it returns (0, 1, device) and initialises nothing, so the same script also runs as one process.
    """
    import os

    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) == 1:
        return 0, 1, torch.device("cuda" if torch.cuda.is_available() else "cpu")
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    backend = backend or ("nccl" if device.type == "cuda" else "gloo")
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size(), device
