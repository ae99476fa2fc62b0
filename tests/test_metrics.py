"""metrics: accuracy, recall@K, alignment and uniformity on cases computed by hand."""
import math

import pytest
import torch

from course_utils import metrics


def test_accuracy_counts_argmax_hits():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, 4.0], [1.0, 1.5]])
    assert metrics.accuracy(logits, torch.tensor([0, 1, 1, 1])) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="4 rows but target has 3"):
        metrics.accuracy(logits, torch.tensor([0, 1, 1]))


def test_recall_at_k_by_hand():
    sim = torch.tensor([[0.9, 0.1, 0.5],   # query 0: ranking 0, 2, 1; relevant {1} -> rank 3
                        [0.2, 0.8, 0.3],   # query 1: ranking 1, 2, 0; relevant {1} -> rank 1
                        [0.7, 0.6, 0.1]])  # query 2: ranking 0, 1, 2; relevant {1, 2} -> best rank 2
    relevant = torch.tensor([[False, True, False], [False, True, False], [False, True, True]])
    r = metrics.recall_at_k(sim, relevant, ks=(1, 2, 3))
    assert r == pytest.approx({"R@1": 1 / 3, "R@2": 2 / 3, "R@3": 1.0})
    with pytest.raises(ValueError, match="relevant has"):
        metrics.recall_at_k(sim, relevant[:2])


def test_alignment_and_uniformity_by_hand():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    # ||x0 - y0||^2 = 0, ||x1 - y1||^2 = 2 -> mean 1
    assert metrics.alignment(x, y) == pytest.approx(1.0)
    # one pair at squared distance 2: log exp(-2 * 2)
    assert metrics.uniformity(x) == pytest.approx(-4.0)
    pts = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    expected = math.log((math.exp(-8) + 2 * math.exp(-4)) / 3)
    assert metrics.uniformity(pts) == pytest.approx(expected)
