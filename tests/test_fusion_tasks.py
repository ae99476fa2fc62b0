"""Specifications of course_utils.tasks.fusion_tasks, the experiment of notebook 24.6 that
scripts/fusion_converged.py repeats over seeds."""
import json

import pytest
import torch

from course_utils.tasks import fusion_tasks as ft

SIZES = {"n_train": 64, "n_test": 32}


@pytest.mark.parametrize("task", ft.TASKS)
def test_every_level_maps_both_modalities_to_the_task_logits(task):
    d = ft.make_data(task, 8, 0, "train")
    q = d.get("q")
    for name, (_, build) in ft.LEVELS.items():
        out = build(task)(d["x"], d["y"], q)
        assert out.shape == ((8, 2) if task == "depth" else (8, 3)), name


def test_unknown_task_is_named():
    with pytest.raises(ValueError, match="unknown fusion task 'audio'"):
        ft.make_data("audio", 8, 0, "train")


def test_run_seed_records_every_model_and_condition_with_curves():
    out = ft.run_seed("question", 0, SIZES, steps=10, curves=True)
    assert set(out) == set(ft.ORDER)
    for name in ft.DROP_TOO:
        assert set(out[name]) == {0.0, ft.P_DROP}
    for name, by_p in out.items():
        for r in by_p.values():
            assert set(r) >= {"clean", "x missing", "y missing", "image noisy", "seconds"}
            assert all(0 <= r[c] <= 1 for c in ("clean", "x missing", "y missing", "image noisy"))
            if not name.startswith("decision"):
                assert [s for s, _ in r["curve"]] == list(range(1, 11))


def test_same_seed_same_results():
    a = ft.run_seed("depth", 3, SIZES, steps=5)
    b = ft.run_seed("depth", 3, SIZES, steps=5)
    assert all(a[n][p]["clean"] == b[n][p]["clean"] for n in a for p in a[n])


def test_modality_dropout_never_removes_both_modalities():
    g = torch.Generator().manual_seed(0)
    x, y = torch.ones(2000, 3, 4, 4), torch.full((2000, 6), 7)
    x2, y2 = ft.modality_dropout("question", x, y, 1.0, g)
    lost_x = (x2 != x).flatten(1).any(1)
    lost_y = (y2 != y).any(1)
    assert not (lost_x & lost_y).any() and (lost_x | lost_y).all()
    assert 0.4 < lost_x.float().mean() < 0.6


def test_recorded_names_the_script_when_the_record_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="fusion_converged.py"):
        ft.recorded(tmp_path / "missing.json")
    rec = {"runs": {"depth": {"0": {"x only": {"0.0": {"clean": 0.5}}}, "1": {"x only": {"0.0": {"clean": 0.7}}}}}}
    path = tmp_path / "rec.json"
    path.write_text(json.dumps(rec))
    assert ft.over_seeds(ft.recorded(path), "depth", "x only") == [0.5, 0.7]
