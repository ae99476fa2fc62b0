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


def _in_subprocess(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True)


def test_one_thread_by_default_and_course_threads_overrides():
    code = "from course_utils import settings; import torch; print(settings.THREADS, torch.get_num_threads())"
    env = {k: v for k, v in os.environ.items() if k != "COURSE_THREADS"}
    default = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert default.stdout.split() == ["1", "1"], default.stderr
    assert _in_subprocess(code, COURSE_THREADS="2").stdout.split() == ["2", "2"]
    bad = _in_subprocess(code, COURSE_THREADS="many")
    assert bad.returncode != 0 and "COURSE_THREADS='many'" in bad.stderr


def test_seed_everything_records_the_seed_and_seeds_derive_from_it(monkeypatch):
    settings.seed_everything(7)
    assert settings.SEED == 7 and settings.run_info()["seed"] == 7
    assert settings.seeds(3) == [7, 8, 9]
    assert settings.seeds(2, base=100) == [100, 101]
    monkeypatch.setattr(settings, "FAST", True)  # fast mode checks that the code runs: one seed
    assert settings.seeds(3) == [7]
    monkeypatch.setattr(settings, "FAST", False)
    settings.seed_everything(0)
    with pytest.raises(ValueError, match="seed -1"):
        settings.seed_everything(-1)
    with pytest.raises(ValueError, match="positive number of seeds"):
        settings.seeds(0)


def test_run_info_names_what_results_depend_on():
    info = settings.run_info()
    assert set(info) == {"mode", "device", "threads", "torch", "seed"}
    assert info["threads"] == torch.get_num_threads()


def test_seeded_builds_the_same_weights_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = settings.seeded(lambda: torch.nn.Linear(4, 4), 5)
    assert torch.equal(torch.rand(3), expected)
    b, c = settings.seeded(lambda: torch.nn.Linear(4, 4), 5), settings.seeded(lambda: torch.nn.Linear(4, 4), 6)
    assert torch.equal(a.weight, b.weight) and not torch.equal(a.weight, c.weight)
