"""Execute notebooks in place in full mode (``make execute``), storing outputs and widget state.

Usage: python scripts/execute_notebooks.py [NOTEBOOK ...]   (default: every notebook under notebooks/)
Also fills in slide metadata on cells that lack it, records what the results depend on (mode, device, CPU threads,
torch version, seed: the line ``settings.describe()`` prints) in the notebook's metadata under "course", and records
each notebook's wall time in ``data/bench/execute_times.json``. Threads follow ``course_utils.settings``
(COURSE_THREADS, default 1), so a re-run gives the committed numbers.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course_utils import settings  # noqa: F401  (sets the thread variables the kernels inherit)

ROOT = Path(__file__).resolve().parent.parent
TIMES = ROOT / "data" / "bench" / "execute_times.json"


def record_time(key: str, entry: dict) -> None:
    """Add one notebook's run to data/bench/execute_times.json: read, update and replace the file under a lock, so
    two `make execute` running at once both keep their entries."""
    import fcntl

    TIMES.parent.mkdir(parents=True, exist_ok=True)
    with open(TIMES.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        times = json.loads(TIMES.read_text()) if TIMES.exists() else {}
        times[key] = entry
        tmp = TIMES.with_suffix(".tmp")
        tmp.write_text(json.dumps(times, indent=2, sort_keys=True) + "\n")
        tmp.replace(TIMES)


def slide_type(cell) -> str:
    if cell.cell_type == "markdown":
        first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
        if first.startswith("# ") or first.startswith("## "):
            return "slide"
        if first.startswith("### "):
            return "subslide"
    return "-"


def add_slide_metadata(nb) -> None:
    for cell in nb.cells:
        cell.metadata.setdefault("slideshow", {"slide_type": slide_type(cell)})


def run_metadata(nb) -> dict:
    """The run information ``settings.describe()`` displayed (its machine-readable copy), or {}."""
    from course_utils.settings import RUN_MIME

    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if RUN_MIME in out.get("data", {}):
                return dict(out["data"][RUN_MIME])
    return {}


def execute(path: Path, fast: bool = False, timeout: int = 900, write_to: Path | None = None) -> float:
    """Execute the notebook at ``path``; in full mode write it (outputs, widget state, metadata) to ``write_to``
    (default: in place). Returns the wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    add_slide_metadata(nb)
    env_fast = os.environ.get("COURSE_FAST")
    os.environ["COURSE_FAST"] = "1" if fast else "0"
    start = time.perf_counter()
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
    finally:
        if env_fast is None:
            os.environ.pop("COURSE_FAST", None)
        else:
            os.environ["COURSE_FAST"] = env_fast
    seconds = time.perf_counter() - start
    if not fast:
        nb.metadata["course"] = {**run_metadata(nb), "executed": time.strftime("%Y-%m-%d"),
                                 "full_seconds": round(seconds, 1)}
        nbformat.write(nb, write_to or path)
    return seconds


def main(argv: list[str]) -> None:
    paths = [Path(a).resolve() for a in argv] or sorted(
        p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
    )
    for path in paths:
        if not path.exists():
            raise SystemExit(f"no notebook at {path}")
        seconds = execute(path)
        key = str(path.relative_to(ROOT))
        record_time(key, {"full_seconds": round(seconds, 1), "date": time.strftime("%Y-%m-%d")})
        print(f"{key}: executed in full mode in {seconds:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
