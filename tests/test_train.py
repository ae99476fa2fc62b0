"""train.fit: learns a separable problem, records history, validates its arguments."""
import pytest
import torch
import torch.nn.functional as F

from course_utils.train import History, fit, to_device


def _problem(n=256):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 2, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x, y


def _loss(model, batch):
    x, y = batch
    logits = model(x)
    return F.cross_entropy(logits, y), {"acc": (logits.argmax(1) == y).float().mean()}


def test_fit_learns_and_records_history():
    torch.manual_seed(0)
    x, y = _problem()
    model = torch.nn.Linear(2, 2)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)
    evals = lambda m: {"acc": (m(x).argmax(1) == y).float().mean()}
    hist = fit(model, loader, _loss, epochs=5, lr=0.1, eval_fn=evals, eval_every=10, plot=False, progress=False)
    assert len(hist.loss) == 5 * len(loader)
    assert hist.last("acc") > 0.95
    assert hist.loss[-1] < hist.loss[0]
    assert hist.metric("acc")[0] == sorted(hist.metric("acc")[0])


def test_fit_accepts_a_batch_function_and_warmup():
    x, y = _problem()
    model = torch.nn.Linear(2, 2)
    hist = fit(model, lambda step: (x, y), _loss, steps=30, lr=0.1, warmup=5, plot=False, progress=False)
    assert len(hist.step) == 30


@pytest.mark.parametrize("kwargs,message", [({}, "steps=... or epochs=..."), ({"steps": 0}, "steps must be positive"),
                                            ({"steps": 3, "schedule": "linear"}, "schedule 'linear'")])
def test_fit_rejects_bad_arguments(kwargs, message):
    x, y = _problem()
    with pytest.raises(ValueError, match=message):
        fit(torch.nn.Linear(2, 2), lambda s: (x, y), _loss, plot=False, progress=False, **kwargs)


def test_to_device_moves_nested_tensors():
    batch = {"a": torch.zeros(1), "b": [torch.ones(1), "text"]}
    moved = to_device(batch, torch.device("cpu"))
    assert moved["b"][1] == "text" and torch.equal(moved["b"][0], torch.ones(1))


def test_history_last_names_missing_metric():
    with pytest.raises(KeyError, match="acc"):
        History().last("acc")
