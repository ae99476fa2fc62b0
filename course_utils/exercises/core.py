"""Checking a student's answer: specific feedback (what is wrong, and a hint), never a bare traceback.

A checker is a function ``answer -> str | None`` registered under the exercise's id ("24.4.2" = notebook 24.4,
exercise 2). It returns a short note on success (or None) and raises :class:`Wrong` with what is wrong and a hint.
A stub that still raises ``NotImplementedError`` (or an answer left as ``...``) is reported as "not done yet".

In a notebook::

    def clip_loss(z_img, z_txt, tau):
        raise NotImplementedError  # your code here
    exercises.check("24.4.1", clip_loss)
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any, Callable

_CHECKERS: dict[str, Checker] = {}


class Wrong(Exception):
    """The answer is wrong: ``what`` says how, ``hint`` what to look at."""

    def __init__(self, what: str, hint: str = ""):
        super().__init__(what)
        self.what, self.hint = what, hint


class NotDone(Exception):
    """The answer is still the stub."""


@dataclass(frozen=True)
class Checker:
    id: str
    title: str
    run: Callable[[Any], str | None]


@dataclass(frozen=True)
class Result:
    id: str
    status: str  # "correct" | "wrong" | "not done"
    message: str
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "correct"

    def __str__(self) -> str:
        mark = {"correct": "✓ correct", "wrong": "✗ not yet right", "not done": "… not done yet"}[self.status]
        text = f"[{self.id}] {mark}: {self.message}"
        return text + (f"\n  hint: {self.hint}" if self.hint else "")


def checker(exercise_id: str, title: str):
    """Register ``fn(answer) -> note | None`` as the checker of ``exercise_id``."""
    def register(fn: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
        if exercise_id in _CHECKERS:
            raise ValueError(f"exercise {exercise_id!r} already has a checker")
        _CHECKERS[exercise_id] = Checker(exercise_id, title, fn)
        return fn
    return register


def checkers() -> dict[str, Checker]:
    """Every registered checker by exercise id."""
    return dict(_CHECKERS)


def call(fn: Callable, *args, **kwargs):
    """Call the student's function; a stub becomes :class:`NotDone`, any other error a :class:`Wrong` that names it."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as e:
        raise NotDone() from e
    except (Wrong, NotDone):
        raise
    except Exception as e:  # the student's code failed: say where, without a wall of traceback
        frame = traceback.extract_tb(e.__traceback__)[-1]
        raise Wrong(f"your function raised {type(e).__name__}: {e} (line {frame.lineno}: {frame.line})",
                    "run it on a small input in a cell of its own and print the shapes") from None


def close(value, expected, what: str, tol: float = 1e-4, hint: str = "") -> None:
    """Raise :class:`Wrong` unless the number or tensor ``value`` equals ``expected`` within ``tol``."""
    import torch

    v = torch.as_tensor(value, dtype=torch.float64) if not torch.is_tensor(value) else value.detach().double()
    e = torch.as_tensor(expected, dtype=torch.float64) if not torch.is_tensor(expected) else expected.detach().double()
    if v.shape != e.shape:
        raise Wrong(f"{what} has shape {tuple(v.shape)}, expected {tuple(e.shape)}", hint)
    diff = (v - e).abs().max().item() if v.numel() else 0.0
    if not diff <= tol:
        shown = f"{v.item():.5g}, expected {e.item():.5g}" if v.numel() == 1 else f"max difference {diff:.3g}"
        raise Wrong(f"{what} is off: {shown} (tolerance {tol:g})", hint)


def result(exercise_id: str, answer: Any) -> Result:
    """Check ``answer`` and return the :class:`Result` (nothing printed)."""
    if exercise_id not in _CHECKERS:
        known = ", ".join(sorted(_CHECKERS)) or "none"
        raise ValueError(f"no exercise {exercise_id!r}; known exercises: {known}")
    if answer is ... or answer is None:
        return Result(exercise_id, "not done", "the answer is still empty: replace `...` with your answer")
    try:
        note = _CHECKERS[exercise_id].run(answer)
    except NotDone:
        return Result(exercise_id, "not done", "the function still raises NotImplementedError: write its body")
    except Wrong as w:
        return Result(exercise_id, "wrong", w.what, w.hint)
    return Result(exercise_id, "correct", note or _CHECKERS[exercise_id].title)


def check(exercise_id: str, answer: Any) -> None:
    """Check ``answer`` and print the feedback (never raises for a wrong answer; ``result`` returns it instead)."""
    print(result(exercise_id, answer))
