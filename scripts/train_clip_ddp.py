"""Train the toy-world CLIP on several processes; every rank contrasts its pairs against the whole global batch.

    torchrun --nproc_per_node=2 scripts/train_clip_ddp.py --steps 300 --global-batch 256
    python scripts/train_clip_ddp.py --steps 300 --global-batch 256        # one process, the same maths
    torchrun --nproc_per_node=2 scripts/train_clip_ddp.py --check OUT.pt  # one step per gather mode (tests)

Backend: gloo on CPU, nccl on CUDA (one GPU per process). Each rank draws its own n = global_batch / W pairs,
``gather_features`` all-gathers the features, and the loss sees all W·n pairs. With gradient-carrying gathers (the
default here) the gradient DDP leaves on every rank is exactly the single-process gradient of the global batch.
``--no-gather-with-grad`` is open_clip's default: each rank back-propagates only through its own slice, so DDP's
average divides the encoders' gradients by W (``logit_scale``, used directly on every rank, keeps its full
gradient); AdamW is invariant to that per-parameter scale, up to its epsilon and gradient clipping.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course_utils.nn.clip import CLIP, CLIPConfig  # noqa: E402
from course_utils.nn.distributed import (  # noqa: E402
    distributed_clip_loss,
    gather_rows,
    setup_from_env,
)

CHECK_MODES = {  # name -> (gather_with_grad, local_loss)
    "no_grad_gather": (False, False),
    "grad_gather": (True, False),
    "grad_gather_local_loss": (True, True),
}


def check_batch(global_batch: int = 8, seed: int = 1, vocab_size: int = 50, eos_id: int = 2, length: int = 12):
    """A fixed random global batch for the equivalence check: images (G, 3, 32, 32) and token ids (G, length)."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(global_batch, 3, 32, 32, generator=g)
    tokens = torch.randint(3, vocab_size, (global_batch, length), generator=g)
    ends = torch.randint(3, length, (global_batch,), generator=g)
    tokens[torch.arange(global_batch), ends] = eos_id  # one end-of-text token per caption
    return images, tokens


def check_model(seed: int = 0) -> CLIP:
    torch.manual_seed(seed)
    return CLIP(CLIPConfig.fast(vocab_size=50, eos_id=2, context_length=12))


def run_check(out: Path, rank: int, world_size: int) -> None:
    """One forward/backward per gather mode on the check batch; writes loss and DDP gradients of this rank."""
    model = check_model()
    ddp = DDP(model) if world_size > 1 else model
    images, tokens = check_batch()
    n = len(images) // world_size
    mine = slice(rank * n, (rank + 1) * n)
    result = {"world_size": world_size, "rank": rank}
    for name, (with_grad, local) in CHECK_MODES.items():
        model.zero_grad(set_to_none=True)
        z_img, z_txt, scale = ddp(images[mine], tokens[mine])
        loss = distributed_clip_loss(z_img, z_txt, scale, rank=rank, world_size=world_size,
                                     local_loss=local, gather_with_grad=with_grad)
        loss.backward()
        global_loss = loss.detach().clone()
        if world_size > 1 and local:
            dist.all_reduce(global_loss)  # the global loss is the mean of the rank losses
            global_loss /= world_size
        result[name] = {
            "loss": float(global_loss),
            "rank_loss": float(loss.detach()),
            "grads": {k: p.grad.detach().clone() for k, p in model.named_parameters()},
        }
    torch.save(result, out.with_name(f"{out.stem}.rank{rank}{out.suffix}"))


def train(args, rank: int, world_size: int, device: torch.device) -> None:
    """Train the registered toy-world CLIP recipe with the global batch spread over the ranks.

    The loss is the recipe's loss on the *global* batch: gathered image and caption features, gathered hard
    negatives, and multi-positive targets from the gathered caption meanings.
    """
    import numpy as np

    from course_utils import pretrained
    from course_utils.data import clip_batches as B
    from course_utils.recipes import clip_world as R
    from course_utils.train import lr_factor, make_optimizer

    if args.global_batch % world_size:
        raise ValueError(f"global batch {args.global_batch} is not divisible by {world_size} processes")
    remedies = B.parse_remedy(args.remedy)
    n = args.global_batch // world_size
    model = R.build(seed=args.seed).to(device)  # the same initial weights on every rank (DDP broadcasts rank 0's)
    ddp = DDP(model, device_ids=[device.index] if device.type == "cuda" else None) if world_size > 1 else model
    opt = make_optimizer(model, args.lr, R.WEIGHT_DECAY, R.BETAS)
    rng = np.random.default_rng([args.seed, rank])  # each rank draws different scenes
    start = time.perf_counter()
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = args.lr * lr_factor(step, args.steps, warmup=max(1, args.steps // 20))
        batch = B.make_batch(rng, n, remedies)
        tokens = batch["tokens"]
        if "hard_negatives" in remedies:
            tokens = B.pad_cat(tokens, batch["neg_tokens"])  # captions and their hard negatives in one pass
        z_img, z_all, scale = ddp(batch["images"].to(device), tokens.to(device))  # (n, d), (n or 2n, d), ()
        gather = lambda x: gather_rows(x, rank, world_size, args.gather_with_grad)
        all_img, all_txt = gather(z_img), gather(z_all[:n])  # (W·n, d)
        all_neg = gather(z_all[n:]) if "hard_negatives" in remedies else None
        same = None
        if "multi_positive" in remedies:  # caption j is true of image i, over the global batch
            same = global_truth(batch, world_size).to(device)  # (W·n, W·n)
        loss = R.loss_from_features(all_img, all_txt, scale, same, all_neg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        model.clamp_logit_scale_()
        if rank == 0 and (step % 50 == 0 or step == args.steps - 1):
            print(f"step {step:5d}  loss {loss.item():.4f}  1/tau {scale.item():6.2f}  "
                  f"{time.perf_counter() - start:6.1f}s", flush=True)
    if rank == 0:
        model.eval()
        metrics = {"seen_acc": R.evaluate_zero_shot(model, False, seed=args.seed),
                   "held_out_acc": R.evaluate_zero_shot(model, True, seed=args.seed)}
        print(f"zero-shot top-1: seen {metrics['seen_acc']:.3f}, held-out {metrics['held_out_acc']:.3f}")
        if args.out:
            out = Path(args.out)
            pretrained.save(out.stem, model, metrics, time.perf_counter() - start, out.parent)
            print(f"saved {out}")


def global_truth(batch: dict, world_size: int) -> torch.Tensor:
    """``caption_truth`` over the global batch: every rank's scenes and captions, gathered in rank order."""
    from course_utils.data.clip_batches import caption_truth

    keys = ("scenes", "captions", "cap_kind", "img_keys", "cap_keys", "gray")
    local = [batch[k] for k in keys]
    if world_size == 1:
        return caption_truth(*local) | torch.eye(len(local[1]), dtype=torch.bool)
    parts = [None] * world_size
    torch.distributed.all_gather_object(parts, local)  # small Python objects: scenes and caption strings
    scenes = [s for p in parts for s in p[0]]
    captions = [c for p in parts for c in p[1]]
    tensors = [torch.cat([p[i] for p in parts]) for i in range(2, len(keys))]
    return caption_truth(scenes, captions, *tensors) | torch.eye(len(captions), dtype=torch.bool)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--global-batch", type=int, default=256, help="pairs per step summed over all processes")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--remedy", default="all",
                   help="binding remedies, e.g. 'none', 'all', 'multi_object+hard_negatives'")
    p.add_argument("--gather-with-grad", action=argparse.BooleanOptionalAction, default=True,
                   help="all_gather with gradients: exact global-batch gradients (default on)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="", help="save the trained weights here (safetensors + manifest entry)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per process")
    p.add_argument("--check", default="", help="write one step's loss and gradients per gather mode, then exit")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rank, world_size, device = setup_from_env()
    try:
        if args.check:
            run_check(Path(args.check), rank, world_size)
        else:
            train(args, rank, world_size, device)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
