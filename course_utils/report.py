"""Headline results of a notebook: shown as a table, stored machine-readably for ``make bench``."""
from __future__ import annotations

MIME = "application/vnd.course.headline+json"


def headline(metrics: dict[str, float | str], title: str = "Headline results") -> None:
    """Display ``metrics`` as a markdown table; the executed notebook keeps them as JSON for the benchmark."""
    from IPython.display import display

    rows = "\n".join(f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in metrics.items())
    table = f"**{title}** ({_mode()})\n\n| metric | value |\n|---|---|\n{rows}"
    display({"text/markdown": table, "text/plain": table, MIME: {"mode": _mode(), "metrics": dict(metrics)}}, raw=True)


def _mode() -> str:
    from . import settings

    return settings.MODE


def read_headlines(notebook_path) -> dict:
    """The last headline metrics stored in an executed notebook (empty when none)."""
    import nbformat

    nb = nbformat.read(str(notebook_path), as_version=4)
    found: dict = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if MIME in data:
                found.update(data[MIME].get("metrics", {}))
    return found
