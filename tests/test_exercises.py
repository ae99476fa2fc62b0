"""Every exercise checker accepts its reference solution (notebooks/solutions/), rejects the stub as "not done",
and rejects typical wrong answers (tests/exercise_cases_*.py) with specific feedback, never a traceback."""
import importlib.util
from pathlib import Path

import pytest

from course_utils import exercises

ROOT = Path(__file__).resolve().parent.parent


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _collect(pattern: str, name: str) -> dict:
    found = {}
    for path in sorted(pattern_paths(pattern)):
        for k, v in getattr(_load(path), name).items():
            assert k not in found, f"{k} appears twice ({path.name})"
            found[k] = v
    return found


def pattern_paths(pattern: str):
    return ROOT.glob(pattern)


SOLUTIONS = _collect("notebooks/solutions/solutions_*.py", "SOLUTIONS")
WRONG = _collect("tests/exercise_cases_*.py", "WRONG")
IDS = sorted(exercises.checkers())


def _stub(*args, **kwargs):
    raise NotImplementedError


def test_every_checker_has_a_solution_and_wrong_answers():
    assert IDS, "no exercise checkers are registered"
    assert set(SOLUTIONS) == set(IDS), f"solutions without checker or checkers without solution: " \
                                       f"{sorted(set(SOLUTIONS) ^ set(IDS))}"
    assert set(WRONG) == set(IDS), f"checkers without wrong answers in tests: {sorted(set(IDS) - set(WRONG))}"


@pytest.mark.parametrize("exercise_id", IDS)
def test_reference_solution_is_accepted(exercise_id):
    r = exercises.result(exercise_id, SOLUTIONS[exercise_id])
    assert r.ok, str(r)


@pytest.mark.parametrize("exercise_id", IDS)
def test_stub_is_not_done(exercise_id):
    for stub in (_stub, ...):
        r = exercises.result(exercise_id, stub)
        assert r.status in ("not done", "wrong"), str(r)
        assert "Traceback" not in r.message


@pytest.mark.parametrize("exercise_id", IDS)
def test_wrong_answers_are_rejected_with_feedback(exercise_id):
    assert len(WRONG[exercise_id]) >= 1
    for answer in WRONG[exercise_id]:
        r = exercises.result(exercise_id, answer)
        assert r.status == "wrong", f"{exercise_id} accepted a wrong answer: {r}"
        assert len(r.message) > 10 and "Traceback" not in r.message


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(ValueError, match="no exercise '99.9'"):
        exercises.result("99.9", 1)


def test_feedback_names_the_error_of_a_crashing_answer():
    @exercises.checker("00.0.1", "demo")
    def _demo(fn):
        exercises.close(exercises.core.call(fn, 2), 4, "f(2)")

    try:
        r = exercises.result("00.0.1", lambda x: x.shape)
        assert r.status == "wrong" and "AttributeError" in r.message
        assert exercises.result("00.0.1", lambda x: 2 * x).ok
        assert not exercises.result("00.0.1", lambda x: x + 3).ok
    finally:
        exercises.core._CHECKERS.pop("00.0.1")
