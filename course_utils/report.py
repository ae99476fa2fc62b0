"""What a notebook concludes, tied to its numbers.

* ``headline(metrics)``: the notebook's headline results, shown as a table and stored machine-readably for
  ``make bench`` and ``make reproduce``.
* ``claim(condition, text)``: a sentence of the prose that states a result. In full mode a claim that does not hold
  raises :class:`ClaimError`, so re-executing a notebook can never leave prose that contradicts its outputs; in fast
  mode (tiny runs, meaningless numbers) it is printed as unchecked.
* ``Spread`` and ``claim_beats`` / ``claim_tie``: a comparison over several seeds. "A beats B" holds only when every
  seed of A is better than every seed of B (the two ranges do not overlap; for 3 seeds against 3 this is a one-sided
  permutation test at p = 1/20 = 0.05). When the ranges overlap, the gap is inside the seed-to-seed noise and the
  prose must say so instead of ranking: ``claim_tie`` asserts exactly that.
* ``table(rows)``: a list of dicts as a markdown table (floats rounded, chosen columns in %, spreads as mean ± sd).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

MIME = "application/vnd.course.headline+json"
CLAIM_MIME = "application/vnd.course.claim+json"


class ClaimError(AssertionError):
    """A conclusion of the notebook's prose that its own numbers do not support."""


def _mode() -> str:
    from . import settings

    return settings.MODE


def _display(bundle: dict) -> None:
    """Show a mime bundle in a kernel, or print its text elsewhere (scripts, tests)."""
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(bundle, raw=True)
            return
    except ImportError:
        pass
    print(bundle.get("text/plain", ""))


# ----------------------------------------------------------------------------------------------- headlines


def headline(metrics: dict[str, float | str], title: str = "Headline results") -> None:
    """Display ``metrics`` as a markdown table; the executed notebook keeps them as JSON for the benchmark."""
    values = {k: (v.mean if isinstance(v, Spread) else v) for k, v in metrics.items()}
    rows = "\n".join(f"| {k} | {_fmt(v, 4)} |" for k, v in metrics.items())
    text = f"**{title}** ({_mode()})\n\n| metric | value |\n|---|---|\n{rows}"
    _display({"text/markdown": text, "text/plain": text, MIME: {"mode": _mode(), "metrics": values}})


def read_headlines(notebook_path) -> dict:
    """The last headline metrics stored in an executed notebook (empty when none)."""
    return _read_outputs(notebook_path, MIME, lambda data, found: found.update(data.get("metrics", {})), {})


def read_claims(notebook_path) -> list[dict]:
    """Every claim stored in an executed notebook: {"text", "holds", "mode", "evidence"}."""
    return _read_outputs(notebook_path, CLAIM_MIME, lambda data, found: found.append(data), [])


def _read_outputs(notebook_path, mime: str, add, found):
    import nbformat

    nb = nbformat.read(str(notebook_path), as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if mime in out.get("data", {}):
                add(out["data"][mime], found)
    return found


# ----------------------------------------------------------------------------------------------- claims


def claim(condition: bool, text: str, evidence: str = "") -> None:
    """Assert a conclusion of the prose: in full mode raise :class:`ClaimError` when ``condition`` is false.

    ``evidence`` is the numbers behind it, printed beside the claim (e.g. ``f"{acc:.1%} vs {ceiling:.1%}"``).
    Returns nothing, so a claim on a cell's last line leaves no stray ``True`` under it."""
    holds = bool(condition)
    mode = _mode()
    detail = f" ({evidence})" if evidence else ""
    if mode == "fast":
        mark = "unchecked in fast mode"
    elif holds:
        mark = "holds"
    else:
        raise ClaimError(f"claim does not hold: {text}{detail}. The numbers above no longer support this sentence: "
                         "rewrite the prose (and the claim) to say what they show")
    line = f"claim ({mark}): {text}{detail}"
    _display({"text/plain": line, CLAIM_MIME: {"text": text, "holds": holds, "mode": mode, "evidence": evidence}})


@dataclass(frozen=True)
class Spread:
    """One quantity measured over several seeds: the values, their mean, sample sd and range."""

    values: tuple[float, ...]

    def __init__(self, values: Iterable[float]):
        vals = tuple(float(v) for v in values)
        if not vals:
            raise ValueError("a Spread needs at least one value (one per seed)")
        if any(math.isnan(v) for v in vals):
            raise ValueError(f"a Spread got NaN among its values {vals}")
        object.__setattr__(self, "values", vals)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return sum(self.values) / self.n

    @property
    def sd(self) -> float:
        """Sample standard deviation (0 for a single value)."""
        if self.n < 2:
            return 0.0
        m = self.mean
        return math.sqrt(sum((v - m) ** 2 for v in self.values) / (self.n - 1))

    @property
    def lo(self) -> float:
        return min(self.values)

    @property
    def hi(self) -> float:
        return max(self.values)

    def format(self, percent: bool = False, digits: int = 3) -> str:
        """'87.3 ± 1.2 %' or '0.873 ± 0.012' (mean ± sample sd over the seeds)."""
        if percent:
            return f"{100 * self.mean:.1f} ± {100 * self.sd:.1f} %"
        return f"{self.mean:.{digits}f} ± {self.sd:.{digits}f}"

    def __str__(self) -> str:
        return self.format()


def spread(values: Iterable[float] | Spread | float) -> Spread:
    """``values`` as a :class:`Spread` (a single number is a spread of one value)."""
    if isinstance(values, Spread):
        return values
    if isinstance(values, (int, float)):
        return Spread([values])
    return Spread(values)


def _evidence(a: Spread, b: Spread, names: Sequence[str]) -> str:
    def show(name, s):
        if s.n == 1:
            return f"{name} {s.mean:.4g}"
        return f"{name} {s.mean:.4g} ± {s.sd:.2g} (range {s.lo:.4g}–{s.hi:.4g}, {s.n} seeds)"

    return f"{show(names[0], a)}; {show(names[1], b)}; gap {a.mean - b.mean:+.4g}"


def _check_seeds(a: Spread, b: Spread, text: str) -> None:
    if _mode() != "fast" and max(a.n, b.n) < 3:
        raise ClaimError(f"'{text}' compares single runs: measure each side over at least 3 seeds "
                         f"(got {a.n} and {b.n}), or compare against a fixed number")


def beats(a, b, higher_is_better: bool = True) -> bool:
    """Every value of ``a`` is better than every value of ``b`` (the seed ranges do not overlap)."""
    a, b = spread(a), spread(b)
    return a.lo > b.hi if higher_is_better else a.hi < b.lo


def claim_beats(a, b, text: str, names: Sequence[str] = ("A", "B"), higher_is_better: bool = True) -> None:
    """Claim that A beats B beyond the seed-to-seed noise: every seed of A better than every seed of B.

    ``a`` and ``b`` are values over seeds (lists or :class:`Spread`) or a fixed number (e.g. chance, a ceiling).
    With overlapping ranges the gap is inside the noise: use :func:`claim_tie` and say so in the prose."""
    a, b = spread(a), spread(b)
    _check_seeds(a, b, text)
    claim(beats(a, b, higher_is_better), text, _evidence(a, b, names))


def claim_tie(a, b, text: str, names: Sequence[str] = ("A", "B")) -> None:
    """Claim that A and B cannot be ranked with this many seeds: their ranges overlap (neither beats the other)."""
    a, b = spread(a), spread(b)
    _check_seeds(a, b, text)
    claim(not beats(a, b) and not beats(b, a), text, _evidence(a, b, names))


# ----------------------------------------------------------------------------------------------- tables


def _fmt(v, digits: int = 3, percent: bool = False) -> str:
    if isinstance(v, Spread):
        return v.format(percent, digits)
    if isinstance(v, bool) or not isinstance(v, float):
        return str(v)
    if math.isnan(v):
        return "–"
    if percent:
        return f"{100 * v:.1f} %"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.{digits}f}"


def table(rows: list[dict], digits: int = 3, percent: Iterable[str] = (), title: str = "") -> None:
    """Show a list of dicts (same keys) as a markdown table: floats rounded to ``digits``, the columns named in
    ``percent`` as %, :class:`Spread` values as mean ± sd."""
    if not rows:
        raise ValueError("table got no rows")
    keys = list(rows[0])
    percent = set(percent)
    unknown = percent - set(keys)
    if unknown:
        raise ValueError(f"percent names columns {sorted(unknown)} that the rows do not have; columns: {keys}")
    lines = ([f"**{title}**", ""] if title else []) + ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_fmt(r.get(k, ""), digits, k in percent) for k in keys) + " |" for r in rows]
    text = "\n".join(lines)
    _display({"text/markdown": text, "text/plain": text})
