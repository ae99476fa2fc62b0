"""Run one notebook on a temporary copy (the committed file is never touched), timing it and its kernel's memory."""
from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator


@dataclass
class NotebookRun:
    notebook: str  # path relative to the repository root
    fast_s: float | None = None
    fast_peak_mb: float | None = None
    full_s: float | None = None
    full_peak_mb: float | None = None
    full_source: str = "not run"  # "measured now" | "recorded <date> by make execute" | "not run" | "failed: ..."
    headlines: dict = field(default_factory=dict)
    headline_source: str = ""  # which executed notebook the metrics were read from
    reproduced: int | None = None  # headlines compared with the committed notebook (full mode run here)
    differences: list[str] = field(default_factory=list)  # those beyond the tolerance (bench/reproduce.py)
    errors: list[str] = field(default_factory=list)


def discover_notebooks(notebook_dir: Path, only: list[str] | None = None) -> list[Path]:
    """Every notebook under ``notebook_dir`` (homework/ too); ``only`` keeps those whose path contains a pattern."""
    paths = sorted(p for p in notebook_dir.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if only:
        paths = [p for p in paths if any(o in p.relative_to(notebook_dir).as_posix() for o in only)]
    return paths


@contextlib.contextmanager
def served_copy(notebook_dir: Path, data_dir: Path) -> Iterator[Path]:
    """A temporary copy of the notebooks folder, with ``../data`` pointing at the real data folder."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        copy = Path(tmp) / notebook_dir.name
        shutil.copytree(notebook_dir, copy, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        (Path(tmp) / "data").symlink_to(data_dir.resolve())
        yield copy


def headline_modes(path: Path) -> list[str]:
    """The modes ("fast" / "full") in which the notebook's stored headline results were computed."""
    import nbformat

    from course_utils.report import MIME

    nb = nbformat.read(str(path), as_version=4)
    modes = {out["data"][MIME].get("mode", "?") for cell in nb.cells for out in cell.get("outputs", [])
             if MIME in out.get("data", {})}
    return sorted(modes)


class PeakRSS:
    """Largest summed RSS of this process's children (the kernel and anything it starts), polled from a thread."""

    def __init__(self, interval: float = 0.1):
        self.interval, self.peak_bytes = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 2**20


def run_notebook(path: Path, execute: Callable[..., float], fast: bool) -> tuple[float, float]:
    """Run ``execute(path, fast=...)`` on a temporary copy; returns (seconds, peak kernel RSS in MB)."""
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        seconds = execute(path, fast=fast)
        wall = time.perf_counter() - t0
    return (seconds if seconds is not None else wall), mem.peak_mb
