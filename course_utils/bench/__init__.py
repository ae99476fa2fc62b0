"""``make bench``: time every notebook (fast / full, peak memory), read its headline metrics, and time our
from-scratch parts against the reference libraries. ``scripts/bench.py`` is the command; this package is the logic."""
from .machine import machine_info
from .notebook_runs import NotebookRun, discover_notebooks, headline_modes, run_notebook, served_copy
from .reproduce import TOLERANCE, compare
from .speed_ratios import SPEED_ROWS, speed_rows
from .table import to_markdown

__all__ = [
    "NotebookRun", "SPEED_ROWS", "TOLERANCE", "compare", "discover_notebooks", "headline_modes", "machine_info",
    "run_notebook", "served_copy", "speed_rows", "to_markdown",
]
