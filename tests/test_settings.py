"""settings: mode parsing, device choice, seeding, offline environment."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from course_utils import settings


def _mode_in_subprocess(value: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COURSE_FAST": value}
    code = "from course_utils import settings; print(settings.MODE, settings.pick('f', 'F'))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


@pytest.mark.parametrize("value,expected", [("1", "fast f"), ("0", "full F"), ("", "full F"), ("true", "fast f")])
def test_course_fast_selects_mode(value, expected):
    result = _mode_in_subprocess(value)
    assert result.stdout.strip() == expected, result.stderr


def test_unknown_course_fast_value_is_a_clear_error():
    result = _mode_in_subprocess("maybe")
    assert result.returncode != 0
    assert "COURSE_FAST='maybe'" in result.stderr


def test_seed_everything_repeats_torch_and_numpy():
    rng = settings.seed_everything(3)
    a, x = torch.randn(4), rng.normal(size=3)
    rng = settings.seed_everything(3)
    assert torch.equal(a, torch.randn(4))
    assert np.array_equal(x, rng.normal(size=3))


def test_offline_environment_is_set():
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_device_is_cpu_without_accelerators():
    if not torch.cuda.is_available():
        assert settings.DEVICE.type in ("cpu", "mps")


def test_describe_prints_mode_and_device(capsys):
    settings.describe()
    out = capsys.readouterr().out
    assert settings.MODE in out and settings.DEVICE.type in out
