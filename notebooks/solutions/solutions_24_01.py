"""Reference solutions of notebook 24.1's exercises, checked by course_utils.exercises in tests/test_exercises.py."""
import numpy as np
import torch
from torch import nn

from course_utils.data import Tokenizer
from course_utils.tasks.complementary import ComplementaryTask


def entropy(p) -> float:
    # H = -sum p log2 p over all entries of a probability table, eq. (24.1.4)
    p = np.asarray(p, dtype=np.float64).ravel()
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def pure_synergy_terms() -> dict:
    # exercise 1: typical_prob = 1/3, the question alone says nothing about the shape
    p, _ = ComplementaryTask(typical_prob=1 / 3).exact_joint()              # (Y, V, T)
    h_yv, h_vt, h_v = entropy(p.sum(2)), entropy(p.sum(0)), entropy(p.sum((0, 2)))
    return {
        "I(Y;T)": entropy(p.sum((1, 2))) + entropy(p.sum((0, 1))) - entropy(p.sum(1)),
        "I(Y;T|V)": h_yv + h_vt - h_v - entropy(p),
        "text Bayes accuracy": float(p.sum(1).max(0).sum()),
        "image Bayes accuracy": float(p.sum(2).max(0).sum()),
    }


class GRUEncoder(nn.Module):
    """Exercise 2: (B, T) token ids -> (B, dim), the GRU's hidden state at each question's last real token."""

    def __init__(self, vocab_size, dim, pad_id=Tokenizer.pad_id):
        super().__init__()
        self.pad_id = pad_id
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.gru = nn.GRU(dim, dim, batch_first=True)

    def forward(self, tokens):
        h, _ = self.gru(self.embed(tokens))                                  # (B, T, dim)
        last = (tokens != self.pad_id).sum(1).clamp(min=1) - 1               # (B,) index of the last real token
        return h[torch.arange(len(tokens)), last]                            # (B, dim)


def make_gru_encoder(vocab_size, dim):
    return GRUEncoder(vocab_size, dim)


def drop_features(z_img, z_txt, p_drop, generator):
    # exercise 3: eq. (24.1.14) at the feature level, a missing modality's features set to zero
    u = torch.rand(len(z_img), generator=generator)                          # (B,)
    keep_img = ~(u < p_drop / 2)
    keep_txt = ~((u >= p_drop / 2) & (u < p_drop))
    z_img = z_img * keep_img.view(-1, *[1] * (z_img.dim() - 1))
    z_txt = z_txt * keep_txt.view(-1, *[1] * (z_txt.dim() - 1))
    return z_img, z_txt


def bayes_accuracy_images_shuffled(p_yvt, s):
    # exercise 5: mixture (1 - s) p(y, v, t) + s p(y, t) p(v); Bayes-optimal prediction scored on aligned pairs
    p_s = (1 - s) * p_yvt + s * p_yvt.sum(1)[:, None, :] * p_yvt.sum((0, 2))[None, :, None]
    y_hat = p_s.argmax(0)                                                    # (V, T)
    return float(np.take_along_axis(p_yvt, y_hat[None], 0).sum())


def cmi_vt_given_y(p_yvt):
    # exercise 6: I(V;T|Y) = H(Y,V) + H(Y,T) - H(Y) - H(Y,V,T)
    return entropy(p_yvt.sum(2)) + entropy(p_yvt.sum(1)) - entropy(p_yvt.sum((1, 2))) - entropy(p_yvt)


SOLUTIONS = {
    "24.1.1": pure_synergy_terms,
    "24.1.2": make_gru_encoder,
    "24.1.3": drop_features,
    "24.1.5": bayes_accuracy_images_shuffled,
    "24.1.6": cmi_vt_given_y,
}
