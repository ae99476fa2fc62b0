"""train.fit: learns a separable problem, records history, validates its arguments."""
import pytest
import torch
import torch.nn.functional as F

from course_utils.train import History, ema, fit, lr_factor, make_optimizer, predict, to_device


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


def test_make_optimizer_decays_matrices_only():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4))
    opt = make_optimizer(model, lr=0.1, weight_decay=0.05, betas=(0.9, 0.98))
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.05 and [p.shape for p in decay["params"]] == [torch.Size([4, 3])]
    assert no_decay["weight_decay"] == 0.0 and len(no_decay["params"]) == 3  # bias, LN weight, LN bias
    assert decay["betas"] == (0.9, 0.98)


def test_lr_factor_warms_up_linearly_then_decays_to_zero():
    assert [lr_factor(s, 10, 4) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_factor(4, 10, 4) == pytest.approx(1.0)
    assert lr_factor(10, 10, 4) == pytest.approx(0.0)
    assert lr_factor(7, 10, 4, "constant") == 1.0


def test_fit_applies_the_given_weight_decay():
    x, y = _problem()
    model = torch.nn.Linear(2, 2)
    torch.nn.init.constant_(model.weight, 1.0)
    # the loss has zero gradient, so only AdamW's decoupled weight decay can move the weights
    fit(model, lambda s: (x, y), lambda m, b: 0.0 * m(b[0]).sum(), steps=5, lr=0.1, weight_decay=0.5,
        clip_grad=None, plot=False, progress=False)
    assert model.weight.max() < 1.0  # AdamW's decoupled decay shrank the weights


def test_ema_is_bias_corrected_and_follows_a_step():
    assert ema([2.0, 2.0, 2.0], window=20) == pytest.approx([2.0, 2.0, 2.0])
    smooth = ema([0.0] * 10 + [1.0] * 200, window=9)
    assert smooth[9] == 0.0 and smooth[-1] == pytest.approx(1.0, abs=1e-6)
    assert 0.0 < smooth[12] < 1.0


def test_predict_batches_in_eval_mode_and_restores_training():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.9))
    model.train()
    x = torch.randn(1000, 2)
    out = predict(model, x, batch_size=64)
    assert torch.allclose(out, model[0](x).detach(), atol=1e-6)  # dropout off: eval mode
    assert model.training
    z = predict(model, x, x, fn=lambda a, b: a + b, batch_size=100)
    assert torch.equal(z, 2 * x)
    with pytest.raises(ValueError, match="different lengths"):
        predict(model, x, x[:5])


def test_fit_step_count_does_not_depend_on_time():
    import inspect

    assert "time_limit" not in inspect.signature(fit).parameters
