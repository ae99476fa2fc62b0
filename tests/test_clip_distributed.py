"""Contrasting against the global batch on two processes (gloo) gives the single-process loss and gradients."""
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from course_utils.nn.clip_loss import clip_loss
from course_utils.nn.distributed import gather_features

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "train_clip_ddp.py"
sys.path.insert(0, str(SCRIPT.parent))
import train_clip_ddp  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gather_features_on_one_process_returns_the_inputs():
    a, b = torch.randn(4, 8), torch.randn(4, 8)
    all_a, all_b = gather_features(a, b, rank=0, world_size=1)
    assert all_a is a and all_b is b


def test_gather_features_without_process_group_raises_value_error():
    with pytest.raises(ValueError, match="world_size=2 needs torch.distributed initialised"):
        gather_features(torch.randn(4, 8), torch.randn(4, 8), rank=0, world_size=2)


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory):
    """torchrun with 2 CPU processes (gloo): one step per gather mode on the fixed check batch."""
    out = tmp_path_factory.mktemp("ddp") / "check.pt"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           f"--master_port={free_port()}", str(SCRIPT), "--check", str(out)]
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [torch.load(out.with_name(f"check.rank{r}.pt")) for r in range(2)]


@pytest.fixture(scope="module")
def single_process():
    """The same model and the whole global batch of 8 pairs on one process."""
    model = train_clip_ddp.check_model()
    loss = clip_loss(*model(*train_clip_ddp.check_batch()))
    loss.backward()
    return loss.item(), {k: p.grad.clone() for k, p in model.named_parameters()}


@pytest.mark.parametrize("mode", ["grad_gather", "grad_gather_local_loss"])
def test_two_process_gather_matches_single_process(two_process_run, single_process, mode):
    loss, grads = single_process
    for rank in two_process_run:  # DDP leaves the same averaged gradient on every rank
        assert abs(rank[mode]["loss"] - loss) < 1e-5
        for name, g in grads.items():
            assert torch.allclose(rank[mode]["grads"][name], g, atol=1e-5), (mode, name)


def test_two_process_gather_without_grad_halves_the_encoder_gradients(two_process_run, single_process):
    # open_clip's default: each rank back-propagates through its own slice only, and DDP averages over the
    # 2 ranks, so encoder gradients are 1/2 of the global-batch gradient; logit_scale is used directly on
    # every rank and keeps its full gradient.
    loss, grads = single_process
    for rank in two_process_run:
        run = rank["no_grad_gather"]
        assert abs(run["loss"] - loss) < 1e-5
        for name, g in grads.items():
            factor = 1 if name == "logit_scale" else 2
            assert torch.allclose(run["grads"][name] * factor, g, atol=1e-5), name


def test_local_loss_of_each_rank_scores_its_own_rows_against_the_global_batch(two_process_run):
    # open_clip's local_loss: rank r's loss is the cross-entropy of its own 4 rows of the 8×8 logit matrix
    # (images -> all captions and captions -> all images); their mean is the global loss.
    model = train_clip_ddp.check_model()
    with torch.no_grad():
        z_img, z_txt, scale = model(*train_clip_ddp.check_batch())
    logits = scale * z_img @ z_txt.T  # (8, 8)
    target = torch.arange(8)
    for r, rank in enumerate(two_process_run):
        rows = slice(4 * r, 4 * r + 4)
        expected = (F.cross_entropy(logits[rows], target[rows]) + F.cross_entropy(logits.T[rows], target[rows])) / 2
        assert abs(rank["grad_gather_local_loss"]["rank_loss"] - expected.item()) < 1e-5


def test_global_truth_on_one_process_is_the_batch_truth():
    import numpy as np

    from course_utils.data.clip_batches import make_batch

    batch = make_batch(np.random.default_rng(2), 48, "all")
    assert torch.equal(train_clip_ddp.global_truth(batch, 1), batch["truth"])
