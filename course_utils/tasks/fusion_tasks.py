"""The two fusion tasks of notebook 24.6 and every fusion level on them, as ``scripts/fusion_converged.py`` repeats
them over seeds at a converged number of steps (the notebook writes each model out in its cells first and checks
that its cells and this module compute the same thing).

- task "depth" (RGB + depth): is the object of color A in front of the object of color B? Each model scores how
  near each color is (6 scores) and the question reads out s_A − s_B as the logit of "A in front".
- task "question" (image + question): what shape is the object of the color the question names? (24.1's
  complementary task, three objects, ``typical_prob`` 0.6.)

Every model is ``model(x, y, q=None) -> logits``: x the image (B, 3, 32, 32), y the depth map (B, 1, 32, 32) or the
question tokens (B, T), q the two colors (B, 2) of the depth question.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import settings
from ..data import COLORS, DEPTH_STEP, Tokenizer
from ..nn import fusion
from ..train import fit, predict
from . import complementary as comp
from . import pairs

D = 32  # width of every token and feature vector
BATCH, LR = 64, 6e-3
TASKS = ("depth", "question")
QTASK = comp.ComplementaryTask(typical_prob=0.6, n_objects=3)
P_DROP = 0.3  # modality dropout of the "+ dropout" rows
NOISE = 0.3  # std of the pixel noise of the "image noisy" test
TOK = Tokenizer.for_world()


# --- data -------------------------------------------------------------------------------------------------------------


def make_data(task: str, n: int, seed: int, split: str) -> dict:
    """One split as a dict: x (N, 3, 32, 32) image; y depth (N, 1, 32, 32) scaled to about [0, 1], or question
    tokens (N, T); label (N,); for the depth task also q (N, 2), the colors (A, B) the question names; for the
    question task also texts and scenes."""
    if task == "depth":
        d = pairs.depth_order_data(n, seed, split)
        return {"x": d["rgb"], "y": d["depth"] / (4 * DEPTH_STEP), "q": d["query"], "label": d["label"].long()}
    if task != "question":
        raise ValueError(f"unknown fusion task {task!r}; allowed: {', '.join(TASKS)}")
    d = QTASK.sample(n, rng=np.random.default_rng((seed, 1 if split == "train" else 2)), tokenizer=TOK)
    return {"x": d.image, "y": d.tokens, "label": d.label, "texts": d.texts, "scenes": d.scenes}


# --- encoders and the fusion levels -----------------------------------------------------------------------------------


class ImageTokens(nn.Module):
    """(B, C, 32, 32) -> (B, 64, D): conv-BN-ReLU x3 with two 2x2 max-pools; one token per 4x4-pixel patch."""

    def __init__(self, in_channels: int, width: int = 16):
        super().__init__()

        def block(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
        self.net = nn.Sequential(*block(in_channels, width), nn.MaxPool2d(2), *block(width, width), nn.MaxPool2d(2),
                                 *block(width, D))
        self.pos = nn.Parameter(torch.zeros(64, D))  # position embedding of the 8x8 grid

    def forward(self, image):
        return self.net(image).flatten(2).transpose(1, 2) + self.pos  # (B, 64, D)


class WordTokens(nn.Module):
    """(B, T) token ids -> (B, T, D): word embedding + position embedding."""

    def __init__(self, max_len: int = 16):
        super().__init__()
        self.emb, self.pos = nn.Embedding(len(TOK), D, padding_idx=TOK.pad_id), nn.Parameter(torch.zeros(max_len, D))

    def forward(self, tokens):
        return self.emb(tokens) + self.pos[: tokens.size(1)]  # (B, T, D)


def pool(tokens, pad=None):
    """(B, T, D) -> (B, D): max over image patches, mean over the real (non-<pad>) words."""
    if pad is None:
        return tokens.amax(1)
    keep = (~pad).float()[..., None]  # (B, T, 1)
    return (tokens * keep).sum(1) / keep.sum(1).clamp(min=1)


class TwoModalNet(nn.Module):
    """Shared plumbing: the output size and the read-out of the depth task."""

    def __init__(self, task):
        super().__init__()
        self.task, self.text = task, task == "question"
        self.n_out = 3 if self.text else len(COLORS)  # shapes, or one nearness score per color

    def tokens_y(self, enc, y):
        return (enc(y), y == TOK.pad_id) if self.text else (enc(y), None)  # (B, T, D) and the padding mask

    def readout(self, s, q):
        if q is None:
            return s  # (B, 3) shape logits
        near = s.gather(1, q)  # (B, 2) nearness of A and B
        return torch.stack([torch.zeros_like(near[:, 0]), near[:, 0] - near[:, 1]], 1)  # (B, 2): "A in front"


def y_encoder(task):
    return WordTokens() if task == "question" else ImageTokens(1)


class Unimodal(TwoModalNet):
    """One modality only (the experts of decision fusion)."""

    def __init__(self, task, which):
        super().__init__(task)
        self.which = which
        self.enc = ImageTokens(3) if which == "x" else y_encoder(task)
        self.head = nn.Linear(D, self.n_out)

    def forward(self, x, y, q=None):
        t, pad = (self.enc(x), None) if self.which == "x" else self.tokens_y(self.enc, y)
        return self.readout(self.head(pool(t, pad)), q)


class EarlyFusion(TwoModalNet):
    """Input level: RGB-D stacked as 4 channels; or a bag-of-words question vector copied onto every pixel."""

    def __init__(self, task, d_q: int = 8):
        super().__init__(task)
        self.words = nn.Embedding(len(TOK), d_q, padding_idx=TOK.pad_id) if self.text else None
        self.enc = ImageTokens(3 + (d_q if self.text else 1))
        self.head = nn.Linear(D, self.n_out)

    def forward(self, x, y, q=None):
        if self.text:
            bag = pool(self.words(y), y == TOK.pad_id)  # (B, d_q)
            inp = torch.cat([x, bag[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)  # (B, 3 + d_q, H, W)
        else:
            inp = fusion.stack_rgbd(x, y)  # (B, 4, H, W)
        return self.readout(self.head(pool(self.enc(inp))), q)


class FeatureFusion(TwoModalNet):
    """Middle level: h_x, h_y pooled vectors -> fusion layer (concat / sum / bilinear / film) -> ReLU -> head."""

    def __init__(self, task, kind):
        super().__init__(task)
        self.enc_x, self.enc_y = ImageTokens(3), y_encoder(task)
        self.fuse = fusion.feature_fusion(kind, D, D, D)  # FiLM: y modulates the channels of x
        self.head = nn.Linear(D, self.n_out)

    def forward(self, x, y, q=None):
        h_x, h_y = pool(self.enc_x(x)), pool(*self.tokens_y(self.enc_y, y))  # (B, D) each
        return self.readout(self.head(torch.relu(self.fuse(h_x, h_y))), q)


class CrossAttentionNet(TwoModalNet):
    """Attention level: the tokens of the `query` modality attend to the other's; residual, pool, head."""

    def __init__(self, task, query, heads: int = 1):
        super().__init__(task)
        self.query = query
        self.enc_x, self.enc_y = ImageTokens(3), y_encoder(task)
        self.attn = fusion.CrossAttentionFusion(D, D, heads)
        self.norm, self.head = nn.LayerNorm(D), nn.Linear(D, self.n_out)

    def forward(self, x, y, q=None):
        t_x, (t_y, pad) = self.enc_x(x), self.tokens_y(self.enc_y, y)
        if self.query == "y":  # words (or depth patches) ask the image
            fused, self.weights = self.attn(t_y, t_x)  # (B, T, D), (B, h, T, 64)
            z = pool(self.norm(t_y + fused), pad)
        else:  # image patches ask the words (or depth patches)
            fused, self.weights = self.attn(t_x, t_y, context_padding_mask=pad)  # (B, 64, D), (B, h, 64, T)
            z = pool(self.norm(t_x + fused))
        return self.readout(self.head(z), q)


class DecisionFusion(nn.Module):
    """Late level: two unimodal experts, combined by averaged logits (24.6.5) or a product of experts (24.6.6)."""

    def __init__(self, expert_x, expert_y, rule, log_prior):
        super().__init__()
        self.experts, self.rule, self.log_prior = nn.ModuleList([expert_x, expert_y]), rule, log_prior

    def forward(self, x, y, q=None):
        logits = [e(x, y, q) for e in self.experts]  # two (B, K)
        if self.rule == "average":
            return fusion.average_logits(logits)
        return fusion.product_of_experts(logits, self.log_prior)


LEVELS = {  # name -> (level, builder(task)); decision fusion is assembled from the two unimodal models
    "early: stacked inputs": ("early", lambda t: EarlyFusion(t)),
    "feature: concat": ("feature", lambda t: FeatureFusion(t, "concat")),
    "feature: sum": ("feature", lambda t: FeatureFusion(t, "sum")),
    "feature: low-rank bilinear": ("feature", lambda t: FeatureFusion(t, "bilinear")),
    "feature: FiLM": ("feature", lambda t: FeatureFusion(t, "film")),
    "cross-attention: x asks y": ("attention", lambda t: CrossAttentionNet(t, query="x")),
    "cross-attention: y asks x": ("attention", lambda t: CrossAttentionNet(t, query="y")),
}
DROP_TOO = ("early: stacked inputs", "feature: FiLM", "cross-attention: y asks x")  # also trained with dropout
ORDER = ["x only", "y only", "early: stacked inputs", "feature: concat", "feature: sum", "feature: low-rank bilinear",
         "feature: FiLM", "decision: averaged logits", "decision: product of experts", "cross-attention: x asks y",
         "cross-attention: y asks x"]


# --- corruption, training, evaluation ---------------------------------------------------------------------------------


def destroy(task, which, t, g, sigma=1.0):
    """Corrupt modality `which` of a batch: images and depth maps get Gaussian noise of std sigma (sigma = 1 leaves
    almost nothing), words all become <unk> (a missing question)."""
    if which == "y" and task == "question":
        return comp.mask_tokens(t, 1.0, g)
    return comp.add_pixel_noise(t, sigma, g)


def modality_dropout(task, x, y, p_drop, g):
    """Each example loses x with probability p_drop / 2 or y with probability p_drop / 2, never both."""
    u = torch.rand(len(x), generator=g)  # (B,)
    no_x, no_y = u < p_drop / 2, (u >= p_drop / 2) & (u < p_drop)
    x = torch.where(no_x[:, None, None, None], destroy(task, "x", x, g), x)
    y = torch.where(no_y.view(-1, *[1] * (y.dim() - 1)), destroy(task, "y", y, g), y)
    return x, y


def batches(task, d, seed, p_drop=0.0):
    """step -> (x, y, q, label): BATCH random training examples, with modality dropout p_drop."""
    g = torch.Generator().manual_seed(seed)

    def batch(step):
        i = torch.randint(len(d["label"]), (BATCH,), generator=g)  # (B,)
        x, y = modality_dropout(task, d["x"][i], d["y"][i], p_drop, g) if p_drop else (d["x"][i], d["y"][i])
        return x, y, (d["q"][i] if "q" in d else None), d["label"][i]
    return batch


def loss_fn(model, batch):
    x, y, q, label = batch
    return F.cross_entropy(model(x, y, q), label)


def train_one(task, build, seed, train, steps, p_drop=0.0, test=None):
    """A model from build(task) with initial weights and batches from `seed`; returns it and the seconds taken.
    With a test split, ``model.curve`` holds [(step, clean test accuracy)] at every tenth of the steps."""
    model = settings.seeded(lambda: build(task), seed)

    def clean_accuracy(m):
        return {"acc": accuracy(m, task, {"clean": (test["x"], test["y"])}, test)["clean"]}
    h = fit(model, batches(task, train, seed, p_drop), loss_fn, steps=steps, lr=LR, plot=False, progress=False,
            eval_fn=None if test is None else clean_accuracy, eval_every=max(1, steps // 10))
    if test is not None:
        model.curve = [(e["step"], e["acc"]) for e in h.evals]
    return model, h.seconds


def test_inputs(task, d, seed):
    """The four test conditions; the corruptions come from a fixed stream, the same for every model of a seed."""
    g = torch.Generator().manual_seed(seed + 1000)
    return {"clean": (d["x"], d["y"]), "x missing": (destroy(task, "x", d["x"], g), d["y"]),
            "y missing": (d["x"], destroy(task, "y", d["y"], g)),
            "image noisy": (destroy(task, "x", d["x"], g, NOISE), d["y"])}


def accuracy(model, task, inputs, d):
    """Accuracy under each test condition."""
    extra = (d["q"],) if "q" in d else ()
    return {cond: (predict(model, x, y, *extra).argmax(-1) == d["label"]).float().mean().item()
            for cond, (x, y) in inputs.items()}


def run_seed(task: str, seed: int, sizes: dict, steps: int, on_run=None, curves: bool = False) -> dict:
    """Every model of one task at one seed: {name: {p_drop: {condition: accuracy, "seconds": s}}}.

    sizes: {"n_train": …, "n_test": …}; on_run(name, p_drop, model) is called after each model (e.g. to keep it);
    curves=True also records each trained model's clean test accuracy at every tenth of the steps ("curve")."""
    train, test = (make_data(task, sizes["n_train" if s == "train" else "n_test"], seed, s) for s in ("train", "test"))
    inputs, out = test_inputs(task, test, seed), {}

    def record(name, p, model, seconds):
        out.setdefault(name, {})[p] = {**accuracy(model, task, inputs, test), "seconds": seconds}
        if curves and hasattr(model, "curve"):
            out[name][p]["curve"] = model.curve
        if on_run is not None:
            on_run(name, p, model)
    experts = {}
    for which in ("x", "y"):
        experts[which], sec = train_one(task, lambda t: Unimodal(t, which), seed, train, steps,
                                        test=test if curves else None)
        record(f"{which} only", 0.0, experts[which], sec)
    counts = torch.bincount(train["label"], minlength=experts["x"].n_out if task == "question" else 2)
    log_prior = (counts.float() / counts.sum()).log()  # log p(y) on the training set
    secs = sum(out[f"{w} only"][0.0]["seconds"] for w in ("x", "y"))  # both experts' training
    for rule, name in (("average", "decision: averaged logits"), ("product", "decision: product of experts")):
        record(name, 0.0, DecisionFusion(experts["x"], experts["y"], rule, log_prior).eval(), secs)
    for name, (_, build) in LEVELS.items():
        for p in (0.0, P_DROP) if name in DROP_TOO else (0.0,):
            model, sec = train_one(task, build, seed, train, steps, p, test=test if curves else None)
            record(name, p, model, sec)
    return out


# --- the recorded converged runs --------------------------------------------------------------------------------------

RECORD = settings.DATA_DIR / "bench" / "fusion_converged.json"


def recorded(path: Path | str = RECORD) -> dict:
    """The record of ``scripts/fusion_converged.py``: {"steps": {task: n}, "sizes": …, "seeds": [...],
    "runs": {task: {seed: {name: {p_drop: {condition: accuracy, "seconds": s}}}}}, "minutes": …}."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run scripts/fusion_converged.py to record it")
    return json.loads(path.read_text(encoding="utf-8"))


def over_seeds(record: dict, task: str, name: str, p_drop: float = 0.0, cond: str = "clean") -> list[float]:
    """One number per recorded seed."""
    return [r[name][str(p_drop)][cond] for r in record["runs"][task].values()]

