"""Mode, device, seeds, paths and the offline environment, read once at import.

Every notebook starts with ``from course_utils import settings; settings.describe()``.
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


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed python, numpy and torch (all devices); returns a fresh numpy Generator with that seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return np.random.default_rng(seed)


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


def describe() -> None:
    """One summary line for the first cell of every notebook."""
    threads = torch.get_num_threads()
    print(
        f"course_utils | mode: {MODE} (COURSE_FAST={int(FAST)}) | device: {DEVICE.type} ({device_name()}) | "
        f"torch {torch.__version__}, {threads} CPU threads | offline: HF_HUB_OFFLINE={os.environ['HF_HUB_OFFLINE']}"
    )
