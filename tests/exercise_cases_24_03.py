"""Typical wrong answers to notebook 24.3's exercises; each must be rejected with specific feedback."""
import torch


def _sigmoid_gate(x, fx, alpha):
    return x + torch.sigmoid(alpha) * fx


def _linear_gate(x, fx, alpha):
    return x + alpha * fx


def _gates_everything(x, fx, alpha):
    return torch.tanh(alpha) * (x + fx)


def _ascending(scores, relevant, k):
    order = scores.argsort(dim=1)
    return relevant.gather(1, order)[:, :k].any(dim=1).float().mean().item()


def _diagonal_only(scores, relevant, k):
    order = scores.argsort(dim=1, descending=True)
    own = torch.arange(len(scores))[:, None]
    return (order[:, :k] == own).any(dim=1).float().mean().item()


def _precision(scores, relevant, k):
    top = scores.topk(k, dim=1).indices
    return relevant.gather(1, top).float().mean().item()


def _no_dot(c_pair, c_txt, c_dot, k):
    return (c_txt + k * c_pair) / c_pair


def _no_rerank(c_pair, c_txt, c_dot, k):
    return c_txt / (c_pair - c_dot)


def _no_text(c_pair, c_txt, c_dot, k):
    return k * c_pair / (c_pair - c_dot)


WRONG = {
    "24.3.1": [_sigmoid_gate, _linear_gate, _gates_everything],
    "24.3.2": [_ascending, _diagonal_only, _precision],
    "24.3.3": [_no_dot, _no_rerank, _no_text],
}
