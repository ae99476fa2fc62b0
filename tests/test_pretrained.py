"""pretrained: save with a sha256 manifest, load when the hash matches, retrain otherwise, clear error when corrupt."""
import pytest
import torch

from course_utils import pretrained


@pytest.fixture
def toy_recipe():
    calls = []

    def build():
        torch.manual_seed(0)
        return torch.nn.Linear(3, 2)

    def train(model, fast):
        calls.append(fast)
        with torch.no_grad():
            model.weight.fill_(1.0)
        return {"acc": 1.0}

    pretrained.register("toy_linear", build, train, "a test recipe")
    yield calls
    pretrained._RECIPES.pop("toy_linear", None)


def test_save_then_get_loads_the_same_weights(tmp_path, toy_recipe):
    model = torch.nn.Linear(3, 2)
    pretrained.save("toy_linear", model, {"acc": 0.5}, directory=tmp_path)
    manifest = pretrained.read_manifest(tmp_path)
    assert manifest["toy_linear"]["sha256"] == pretrained.sha256(tmp_path / "toy_linear.safetensors")
    loaded = pretrained.get("toy_linear", directory=tmp_path, verbose=False)
    assert torch.equal(loaded.weight.cpu(), model.weight)
    assert toy_recipe == []


def test_missing_weights_are_trained_with_the_recipe(tmp_path, toy_recipe):
    model = pretrained.get("toy_linear", directory=tmp_path, verbose=False)
    assert toy_recipe and torch.all(model.weight == 1.0)


def test_hash_mismatch_retrains(tmp_path, toy_recipe):
    pretrained.save("toy_linear", torch.nn.Linear(3, 2), directory=tmp_path)
    with open(tmp_path / "toy_linear.safetensors", "ab") as f:
        f.write(b"tampered")
    assert pretrained.status("toy_linear", tmp_path) == "hash mismatch"
    with pytest.warns(UserWarning, match="sha256"):
        pretrained.get("toy_linear", directory=tmp_path, verbose=False)
    assert toy_recipe


def test_corrupt_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"not a safetensors file")
    with pytest.raises(RuntimeError, match="broken.safetensors.*corrupt"):
        pretrained.load_into(torch.nn.Linear(3, 2), path)


def test_unknown_name_lists_known_recipes(toy_recipe):
    with pytest.raises(ValueError, match="toy_linear"):
        pretrained.get("no_such_model")


def test_no_training_when_forbidden(tmp_path, toy_recipe):
    with pytest.raises(FileNotFoundError, match="missing"):
        pretrained.get("toy_linear", directory=tmp_path, train=False)


def test_progress_eval_returns_the_scores_and_prints_them_unless_quiet(capsys):
    eval_fn = pretrained.progress_eval("toy", lambda m: {"acc": 0.5})
    assert eval_fn(None) == {"acc": 0.5}
    assert capsys.readouterr().out.startswith("[toy] acc 0.5000 after ")
    assert pretrained.progress_eval("toy", lambda m: {"acc": 1.0}, quiet=True)(None) == {"acc": 1.0}
    assert capsys.readouterr().out == ""
