"""make bench without a GPU fills its GPU column from the recorded GPU run (data/bench/gpu_speed.json)."""
import json

from scripts_module import load_script

from course_utils.bench import to_markdown


def load_bench():
    return load_script("bench")


def rows():
    cpu = {"ours_ms": 2.0, "ref_ms": 1.0, "ratio": 2.0}
    return [{"part": "attention fwd+bwd", "config": "c", "reference": "r", "cpu": dict(cpu),
             "gpu": {"status": "not measured (no GPU)"}},
            {"part": "not recorded", "config": "c", "reference": "r", "cpu": dict(cpu),
             "gpu": {"status": "not measured (no GPU)"}}]


def test_gpu_cells_come_from_the_recorded_file_and_the_note_says_so(tmp_path):
    bench = load_bench()
    recorded = {"machine": {"gpu": "NVIDIA H200 (CUDA 13.0)", "cpu": "Xeon", "torch": "2.11", "date": "2026-11-27"},
                "speed": [{"part": "attention fwd+bwd", "gpu": {"ours_ms": 1.0, "ref_ms": 0.5, "ratio": 2.0}}]}
    path = bench.ROOT / "data" / "bench" / "gpu_speed.json"
    fake = tmp_path / "gpu_speed.json"
    fake.write_text(json.dumps(recorded))
    bench.ROOT = tmp_path  # the note names the file relative to ROOT
    r = rows()
    note = bench.fill_gpu_column(r, fake)
    assert r[0]["gpu"]["ratio"] == 2.0 and r[0]["gpu"]["source"] == "gpu_speed.json"
    assert r[1]["gpu"] == {"status": "not measured (no GPU)"}  # a part the file lacks stays unmeasured
    assert "NVIDIA H200" in note and "no GPU in this run" in note
    table = to_markdown({"machine": {"cpu": "x", "cores": 2, "torch_threads": 1, "gpu": "none", "torch": "t",
                                     "python": "3", "platform": "p", "date": "d"},
                         "command": "c", "notebooks": None, "speed": r, "notes": [note]})
    assert "**×2.00**" in table and "NVIDIA H200" in table
    assert path.exists()  # the committed record the real bench reads


def test_a_run_with_its_own_gpu_keeps_its_cells(tmp_path):
    bench = load_bench()
    r = rows()
    r[0]["gpu"] = {"ours_ms": 3.0, "ref_ms": 1.0, "ratio": 3.0}
    fake = tmp_path / "gpu_speed.json"
    fake.write_text(json.dumps({"machine": {}, "speed": [{"part": "attention fwd+bwd", "gpu": {"ratio": 9.0}}]}))
    assert bench.fill_gpu_column(r, fake) is None
    assert r[0]["gpu"]["ratio"] == 3.0


def test_an_only_run_keeps_the_other_notebooks_rows_and_says_from_which_run(tmp_path):
    bench = load_bench()
    previous = {"command": "python scripts/bench.py", "notebooks": [
        {"notebook": "notebooks/24_01_a.ipynb", "fast_s": 1.0}, {"notebook": "notebooks/24_06_b.ipynb", "fast_s": 2.0},
        {"notebook": "notebooks/24_09_c.ipynb", "fast_s": 3.0}]}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(previous))
    runs = [{"notebook": "notebooks/24_06_b.ipynb", "fast_s": 9.0}]
    note = bench.keep_other_rows(runs, path)
    assert [r["notebook"] for r in runs] == ["notebooks/24_01_a.ipynb", "notebooks/24_06_b.ipynb",
                                            "notebooks/24_09_c.ipynb"]
    assert runs[1]["fast_s"] == 9.0                                  # the new measurement wins
    assert "24_01_a" in note and "24_09_c" in note and "24_06_b" not in note
    assert bench.keep_other_rows([], tmp_path / "missing.json") is None
