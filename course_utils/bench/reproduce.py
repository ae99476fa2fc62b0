"""Does a re-run give the committed numbers? Compare the headline metrics of a fresh full-mode execution with the
ones stored in the committed notebook.

A notebook run is deterministic for a fixed thread count (``settings.THREADS``), torch version and CPU, so on the
machine that executed it the headlines come back exactly; ``TOLERANCE`` only absorbs the printing of floats.
Wall times are not results and are not compared.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

TOLERANCE = 1e-3  # |new - committed| <= TOLERANCE * max(1, |committed|)
_TIMING = re.compile(r"\b(seconds|time|minutes|ms)\b|\(s\)")  # whole words: "MSE" is not "ms"


@dataclass(frozen=True)
class Difference:
    metric: str
    committed: float | str | None
    rerun: float | str | None

    def __str__(self) -> str:
        return f"{self.metric}: committed {self.committed!r}, re-run {self.rerun!r}"


def is_timing(name: str) -> bool:
    """Metrics that measure the machine, not the model (wall times): never compared."""
    return _TIMING.search(name.lower()) is not None


def same(a, b, tolerance: float = TOLERANCE) -> bool:
    """Equal strings, or numbers within the tolerance (NaN equals NaN)."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= tolerance * max(1.0, abs(a))
    return a == b


def compare(committed: dict, rerun: dict, tolerance: float = TOLERANCE) -> tuple[int, list[Difference]]:
    """(number of headlines compared, differences beyond the tolerance), timings left out."""
    keys = [k for k in dict.fromkeys([*committed, *rerun]) if not is_timing(k)]
    diffs = [Difference(k, committed.get(k), rerun.get(k)) for k in keys
             if not same(committed.get(k), rerun.get(k), tolerance)]
    return len(keys), diffs
