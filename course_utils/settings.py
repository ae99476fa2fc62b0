"""Mode, device, CPU threads, seeds, paths and the offline environment, read once at import.

Every notebook starts with::

    SEED = 0                          # every experiment of the notebook derives its seed from this one
    rng = settings.seed_everything(SEED)
    settings.describe()

Thread policy: torch uses ``THREADS`` CPU threads (``COURSE_THREADS``, default 1) in every notebook, test and
script. The small models of this course run as fast on one thread as on two, and a CPU result depends on the thread
count (the order of floating-point sums changes), so one fixed count is what makes a re-run give the committed
numbers. ``COURSE_THREADS=4 make lab`` is faster on a big model and gives slightly different numbers.
"""
from __future__ import annotations

import os
import platform
import random
from pathlib import Path

import numpy as np
import torch

# Offline always: nothing downloads weights or data at run time (DESIGN.md §3).
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "DIFFUSERS_OFFLINE"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
CHECKPOINT_DIR = DATA_DIR / "checkpoints"
NOTEBOOK_DIR = ROOT / "notebooks"


def _read_fast() -> bool:
    value = os.environ.get("COURSE_FAST", "0").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"COURSE_FAST={value!r} is not understood; use 1 (fast) or 0 (full)")


FAST: bool = _read_fast()
MODE: str = "fast" if FAST else "full"


def pick(fast, full):
    """The fast-mode value in COURSE_FAST=1, else the full-mode value: ``steps = pick(20, 2000)``."""
    return fast if FAST else full


def _pick_device() -> torch.device:
    wanted = os.environ.get("COURSE_DEVICE")
    if wanted:
        return torch.device(wanted)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


DEVICE: torch.device = _pick_device()


def _read_threads() -> int:
    value = os.environ.get("COURSE_THREADS", "1").strip() or "1"
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"COURSE_THREADS={value!r} is not understood; use a positive number of CPU threads, e.g. 1")
    return int(value)


THREADS: int = _read_threads()
torch.set_num_threads(THREADS)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, str(THREADS))  # libraries loaded later, and processes started from here, agree


def _limit_loaded_thread_pools() -> None:
    """numpy's BLAS is already loaded (it reads its environment only once): limit it too, for sklearn's probes."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # comes with scikit-learn; without it numpy keeps its own default
        return
    threadpool_limits(limits=THREADS)


_limit_loaded_thread_pools()

SEED: int = 0  # the seed last given to seed_everything: experiments derive theirs from it (``seeds``)


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed python, numpy and torch (all devices) and remember ``seed`` as ``SEED``; returns a numpy Generator."""
    global SEED
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed {seed!r} must be a non-negative integer")
    SEED = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return np.random.default_rng(seed)


def seeds(n: int, base: int | None = None) -> list[int]:
    """``n`` seeds for repeated runs of one experiment: ``base`` (default ``SEED``), base + 1, …, base + n − 1.

    In fast mode only ``[base]``: fast mode checks that the code runs, and the spread over seeds is a full-mode
    result (claims over seeds are not checked in fast mode)."""
    if n < 1:
        raise ValueError(f"n {n!r} must be a positive number of seeds")
    base = SEED if base is None else base
    return [base + k for k in range(1 if FAST else n)]


def seeded(build, seed: int):
    """``build()`` with its random initial weights drawn under torch seed ``seed`` (what ``torch.manual_seed(seed);
    build()`` would draw), leaving the global random state as it was: no hidden reseeding of later cells."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build()


def autocast():
    """bf16 autocast on CUDA, a no-op context elsewhere."""
    if DEVICE.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


def device_name() -> str:
    if DEVICE.type == "cuda":
        return torch.cuda.get_device_name(DEVICE)
    if DEVICE.type == "mps":
        return "Apple MPS"
    return platform.processor() or platform.machine() or "CPU"


RUN_MIME = "application/vnd.course.run+json"


def run_info() -> dict:
    """What a result depends on besides the code: mode, device, CPU threads, torch version, seed."""
    return {"mode": MODE, "device": f"{DEVICE.type} ({device_name()})", "threads": torch.get_num_threads(),
            "torch": torch.__version__, "seed": SEED}


def describe() -> None:
    """One summary line for the first cell of every notebook (kept machine-readable for ``make execute``)."""
    info = run_info()
    line = (f"course_utils | mode: {MODE} (COURSE_FAST={int(FAST)}) | device: {info['device']} | "
            f"torch {info['torch']}, {info['threads']} CPU thread{'s' * (info['threads'] > 1)} (COURSE_THREADS) | "
            f"seed {SEED} | offline: HF_HUB_OFFLINE={os.environ['HF_HUB_OFFLINE']}")
    try:
        from IPython import get_ipython
        from IPython.display import display

        in_kernel = get_ipython() is not None
    except ImportError:
        in_kernel = False
    if in_kernel:
        display({"text/plain": line, RUN_MIME: info}, raw=True)
    else:
        print(line)
