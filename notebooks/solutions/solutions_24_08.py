"""Reference solutions of notebook 24.8's exercises, checked by course_utils.exercises in tests/test_exercises.py."""
import torch
import torch.nn.functional as F


def itg_mask(n_queries, T):
    # exercise 1: queries see queries; text sees every query and the words up to itself
    Q = n_queries
    mask = torch.zeros(Q + T, Q + T, dtype=torch.bool)
    mask[:Q, :Q] = True
    mask[Q:, :Q] = True
    mask[Q:, Q:] = torch.ones(T, T, dtype=torch.bool).tril()
    return mask


def itc_similarity(zq, zt):
    # exercise 2: zq (B_img, Q, e), zt (B_txt, e) -> (B_img, B_txt), the best query for each pair
    zq, zt = F.normalize(zq, dim=-1), F.normalize(zt, dim=-1)
    return torch.einsum("iqe,je->ijq", zq, zt).amax(dim=-1)


def coca_loss(image_embed, text_embed, logits, tokens, tau, pad_id=0):
    # exercise 3: symmetric InfoNCE + 2 × next-token cross-entropy (output t predicts token t + 1, padding ignored)
    sim = image_embed @ text_embed.T / tau
    target = torch.arange(len(sim))
    contrastive = (F.cross_entropy(sim, target) + F.cross_entropy(sim.T, target)) / 2
    captioning = F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), tokens[:, 1:].reshape(-1),
                                 ignore_index=pad_id)
    return contrastive + 2 * captioning


def itm_labels(truth, source):
    # exercise 4: text j shown with image source[j] matches when caption j is true of that image
    return truth[source, torch.arange(len(source))].long()


SOLUTIONS = {"24.8.1": itg_mask, "24.8.2": itc_similarity, "24.8.3": coca_loss, "24.8.4": itm_labels}
