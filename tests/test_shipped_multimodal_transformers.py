"""The shipped weights of notebook 24.8 (ViLT, Q-Former, CoCa) load with their sha256 and still meet their targets on
held-out data the recipes never evaluated on (a different seed)."""
import numpy as np
import pytest

from course_utils import metrics, pretrained
from course_utils.data import caption_pairs as P
from course_utils.data import clip_batches as B
from course_utils.recipes import clip_world, coca_world, qformer_world, vilt_world
from course_utils.train import predict

SEED = 11


@pytest.mark.parametrize("name", [vilt_world.NAME, qformer_world.NAME, coca_world.NAME])
def test_shipped_weights_are_registered_and_load(name):
    assert name in pretrained.recipes()
    assert pretrained.status(name) == "ok"


def test_vilt_matches_held_out_pairs():
    model = pretrained.get(vilt_world.NAME, train=False, verbose=False)
    s = P.itm_set(300, SEED)
    assert metrics.accuracy(predict(model, s["images"], s["tokens"], fn=model.itm_logits), s["labels"]) >= 0.93


@pytest.mark.parametrize("recipe", [qformer_world, coca_world])
def test_dual_encoder_retrieval_and_captions(recipe):
    model = pretrained.get(recipe.NAME, train=False, verbose=False)
    encoder = clip_world.frozen_grid_encoder()
    rs = P.retrieval_set(300, SEED)
    r = qformer_world.retrieval_scores(model.similarity(encoder(rs.images), B.tokenizer().batch(rs.captions)), rs)
    assert r["R@1 i2t"] >= 0.9
    cs = P.pairs(np.random.default_rng(SEED), 40, "test")
    assert P.caption_accuracy(qformer_world.captions(model, encoder(cs["images"])), cs["scenes"]) >= 0.2
