"""Reference solution of notebook 24.12's world-model exercise, checked by course_utils.exercises in
tests/test_exercises.py."""
import torch


def rollout(predict, past, horizon):
    # exercise 4: past (B, C, 3, H, W) -> (B, horizon, 3, H, W), each prediction fed back in
    if horizon < 1:
        raise ValueError(f"horizon {horizon} must be >= 1")
    window, preds = past, []
    for _ in range(horizon):
        pred = predict(window)                                   # (B, 3, H, W)
        preds.append(pred)
        window = torch.cat([window[:, 1:], pred[:, None]], dim=1)  # drop the oldest frame, append the newest
    return torch.stack(preds, dim=1)


SOLUTIONS = {"24.12.4": rollout}
