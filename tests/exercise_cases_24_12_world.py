"""Typical wrong answers to notebook 24.12's world-model exercise; each must be rejected with specific feedback."""
import torch


def _no_feedback(predict, past, horizon):
    return torch.stack([predict(past) for _ in range(horizon)], 1)


def _window_grows(predict, past, horizon):
    window, preds = past, []
    for _ in range(horizon):
        preds.append(predict(window))
        window = torch.cat([window, preds[-1][:, None]], 1)
    return torch.stack(preds, 1)


def _reversed(predict, past, horizon):
    window, preds = past, []
    for _ in range(horizon):
        preds.insert(0, predict(window))
        window = torch.cat([window[:, 1:], preds[0][:, None]], 1)
    return torch.stack(preds, 1)


def _last_only(predict, past, horizon):
    window = past
    for _ in range(horizon):
        pred = predict(window)
        window = torch.cat([window[:, 1:], pred[:, None]], 1)
    return pred


def _wrong_order_in_window(predict, past, horizon):
    window, preds = past, []
    for _ in range(horizon):
        preds.append(predict(window))
        window = torch.cat([preds[-1][:, None], window[:, :-1]], 1)
    return torch.stack(preds, 1)


def _no_horizon_check(predict, past, horizon):
    window, preds = past, []
    for _ in range(horizon):
        preds.append(predict(window))
        window = torch.cat([window[:, 1:], preds[-1][:, None]], 1)
    return torch.stack(preds, 1) if preds else past[:, :0]


WRONG = {"24.12.4": [_no_feedback, _window_grows, _reversed, _last_only, _wrong_order_in_window, _no_horizon_check]}
