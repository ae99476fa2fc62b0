"""Reference solutions of notebook 24.12's exercises, checked by course_utils.exercises in tests/test_exercises.py."""
import numpy as np
import torch.nn.functional as F


def answer_loss(logits, ids, answer_mask):
    # exercise 1: logits (B, T, V), ids and answer_mask (B, T) -> scalar
    targets = ids[:, 1:].masked_fill(~answer_mask[:, 1:], -100)  # position t predicts ids[t + 1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100)


def projector(v, W1, b1, W2, b2):
    # exercise 2: v (B, N, C), W1 (D, C), W2 (D, D) -> (B, N, D)
    return F.gelu(v @ W1.T + b1) @ W2.T + b2


def cot_table(rationale_correct, answer_correct):
    # exercise 3: rows rationale right / wrong, columns answer right / wrong
    r, a = np.asarray(rationale_correct, bool), np.asarray(answer_correct, bool)
    return np.array([[np.sum(r & a), np.sum(r & ~a)], [np.sum(~r & a), np.sum(~r & ~a)]])


SOLUTIONS = {"24.12.1": answer_loss, "24.12.2": projector, "24.12.3": cot_table}
