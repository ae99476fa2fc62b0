"""Trained weights in ``data/checkpoints/``: safetensors files, a sha256 manifest, train-or-load.

A *recipe* says how to build a model and how to train it. ``get(name)`` loads the shipped weights when the file's
sha256 matches the manifest, and otherwise trains them with the recipe (and saves them, in full mode).
Recipes live in ``course_utils/recipes/`` (one file per model) and register themselves here.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from . import settings

MANIFEST = "manifest.json"


@dataclass
class Recipe:
    name: str
    build: Callable[[], torch.nn.Module]  # the untrained model, same architecture as the saved one
    train: Callable[[torch.nn.Module, bool], dict]  # train(model, fast) -> metrics measured after training
    description: str = ""


_RECIPES: dict[str, Recipe] = {}


def register(name: str, build, train, description: str = "") -> Recipe:
    """Register how to build and train the model called ``name``."""
    recipe = Recipe(name, build, train, description)
    _RECIPES[name] = recipe
    return recipe


def progress_eval(name: str, scores: Callable[[torch.nn.Module], dict], quiet: bool = False):
    """An ``eval_fn`` for ``train.fit`` in a recipe: returns ``scores(model)`` and prints them with the minutes since
    this call ("[name] metric value, … after 3.2 min") unless ``quiet``."""
    start = time.perf_counter()

    def eval_fn(model: torch.nn.Module) -> dict:
        s = scores(model)
        if not quiet:
            print(f"[{name}] " + ", ".join(f"{k} {v:.4f}" for k, v in s.items())
                  + f" after {(time.perf_counter() - start) / 60:.1f} min", flush=True)
        return s
    return eval_fn


def recipes() -> dict[str, Recipe]:
    from . import recipes as _all  # noqa: F401  (importing registers every recipe)

    return dict(_RECIPES)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(directory: Path | None = None) -> dict:
    path = Path(directory or settings.CHECKPOINT_DIR) / MANIFEST
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _write_manifest(manifest: dict, directory: Path) -> None:
    path = directory / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def save(name: str, model: torch.nn.Module, metrics: dict | None = None, seconds: float | None = None,
         directory: Path | None = None) -> Path:
    """Write ``name.safetensors`` and its manifest entry (sha256, metrics, when and where it was trained)."""
    from safetensors.torch import save_model

    directory = Path(directory or settings.CHECKPOINT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.safetensors"
    tmp = path.with_suffix(".tmp")
    save_model(model.cpu(), str(tmp))
    tmp.replace(path)
    manifest = read_manifest(directory)
    manifest[name] = {
        "file": path.name,
        "sha256": sha256(path),
        "parameters": sum(p.numel() for p in model.parameters()),
        "metrics": {k: round(float(v), 4) for k, v in (metrics or {}).items()},
        "trained_seconds": None if seconds is None else round(seconds, 1),
        "trained_on": f"{settings.DEVICE.type} ({settings.device_name()}), torch {torch.__version__}",
        "date": _dt.date.today().isoformat(),
    }
    _write_manifest(manifest, directory)
    return path


def load_into(model: torch.nn.Module, path: Path) -> torch.nn.Module:
    """Load safetensors weights into ``model``; a corrupt or mismatched file gives a clear error."""
    from safetensors.torch import load_model

    try:
        load_model(model, str(path), strict=True)
    except Exception as e:  # safetensors raises several types for truncated or foreign files
        raise RuntimeError(
            f"could not load weights from {path.name}: {e}. The file is corrupt or belongs to another architecture; "
            f"delete it and call get(..., train=True) to retrain it with its recipe"
        ) from e
    return model


def status(name: str, directory: Path | None = None) -> str:
    """'ok', 'missing' or 'hash mismatch' for the shipped file of ``name``."""
    directory = Path(directory or settings.CHECKPOINT_DIR)
    path = directory / f"{name}.safetensors"
    entry = read_manifest(directory).get(name)
    if not path.exists():
        return "missing"
    if entry is None or entry.get("sha256") != sha256(path):
        return "hash mismatch"
    return "ok"


def get(name: str, *, train: bool = True, directory: Path | None = None, verbose: bool = True) -> torch.nn.Module:
    """The trained model ``name`` in eval mode: shipped weights when their hash matches, else trained by its recipe.

    In fast mode a missing model is trained with the recipe's fast variant and not saved.
    """
    known = recipes()
    if name not in known:
        raise ValueError(f"no recipe called {name!r}; known: {sorted(known)}")
    recipe = known[name]
    directory = Path(directory or settings.CHECKPOINT_DIR)
    path = directory / f"{name}.safetensors"
    state = status(name, directory)
    model = recipe.build()
    if state == "ok":
        load_into(model, path)
        if verbose:
            entry = read_manifest(directory)[name]
            print(f"loaded {name} from data/checkpoints/{path.name} (sha256 ok; trained {entry.get('date')} "
                  f"on {entry.get('trained_on')}; metrics {entry.get('metrics')})")
        return model.eval().to(settings.DEVICE)
    if not train:
        raise FileNotFoundError(
            f"weights for {name!r} are {state} in data/checkpoints/; call get({name!r}, train=True)"
        )
    if state == "hash mismatch":
        warnings.warn(f"{path.name}: sha256 does not match the manifest; retraining with the recipe", stacklevel=2)
    if verbose:
        print(f"{name}: weights {state}; training with its recipe ({'fast' if settings.FAST else 'full'} mode)")
    start = time.perf_counter()
    metrics = recipe.train(model, settings.FAST)
    if not settings.FAST:
        save(name, model, metrics, time.perf_counter() - start, directory)
    return model.eval().to(settings.DEVICE)
