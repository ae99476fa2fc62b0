"""make reproduce compares every headline except timings; a timing is named by a whole word (seconds, time, ms, …)."""
import pytest

from course_utils.bench.reproduce import is_timing


@pytest.mark.parametrize("name", ["ms / query", "train seconds", "wall time", "time per step (s)", "DDPM minutes"])
def test_timings_are_not_compared(name):
    assert is_timing(name)


@pytest.mark.parametrize("name", ["world model MSE h=1", "world model copy-last MSE h=5", "timestep accuracy",
                                  "mini-LLaVA answer accuracy", "R@1 mean"])
def test_model_metrics_are_compared(name):
    assert not is_timing(name)
