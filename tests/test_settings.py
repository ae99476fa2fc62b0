"""settings: mode parsing, device choice, seeding, offline environment."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from course_utils import settings


@pytest.mark.parametrize("value,fast", [("1", True), ("0", False), ("", False), ("true", True), (" Yes ", True)])
def test_course_fast_selects_mode(monkeypatch, value, fast):
    monkeypatch.setenv("COURSE_FAST", value)
    assert settings._read_fast() is fast


def test_unknown_course_fast_value_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "maybe")
    with pytest.raises(ValueError, match="COURSE_FAST='maybe'"):
        settings._read_fast()


@pytest.mark.parametrize("value,threads", [(None, 1), ("", 1), ("2", 2), (" 3 ", 3)])
def test_one_thread_by_default_and_course_threads_overrides(monkeypatch, value, threads):
    if value is None:
        monkeypatch.delenv("COURSE_THREADS", raising=False)
    else:
        monkeypatch.setenv("COURSE_THREADS", value)
    assert settings._read_threads() == threads


@pytest.mark.parametrize("value", ["many", "0", "-1"])
def test_unknown_course_threads_value_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("COURSE_THREADS", value)
    with pytest.raises(ValueError, match=f"COURSE_THREADS={value!r}"):
        settings._read_threads()


def _settings_in_subprocess(**env) -> subprocess.CompletedProcess:
    code = ("from course_utils import settings; import torch; "
            "print(settings.MODE, settings.pick('f', 'F'), settings.THREADS, torch.get_num_threads())")
    base = {k: v for k, v in os.environ.items() if k not in ("COURSE_FAST", "COURSE_THREADS")}
    return subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True)


def test_importing_settings_reads_the_environment_and_sets_torch_threads():
    # One interpreter per environment: the variables are read once, when course_utils is imported.
    assert _settings_in_subprocess().stdout.split() == ["full", "F", "1", "1"]
    assert _settings_in_subprocess(COURSE_FAST="1", COURSE_THREADS="2").stdout.split() == ["fast", "f", "2", "2"]
    bad = _settings_in_subprocess(COURSE_FAST="maybe")
    assert bad.returncode != 0 and "COURSE_FAST='maybe'" in bad.stderr


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
