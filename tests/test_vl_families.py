"""Notebook 24.3's retrieval helpers (tasks.vl_families): nested galleries, the three ways to score, the rerank's
placement and its errors."""
import pytest
import torch

from course_utils import metrics, pretrained
from course_utils.tasks import vl_families as V

POOL = 60


@pytest.fixture(scope="module")
def models():
    return pretrained.get("clip_world", verbose=False), pretrained.get("vilt_world", verbose=False)


def test_galleries_are_nested_and_each_query_describes_its_image():
    small, large = V.gallery(20, 5, pool_size=POOL), V.gallery(50, 5, pool_size=POOL)
    assert torch.equal(large.images[:20], small.images)
    assert small.queries == large.queries
    assert small.relevant.shape == (5, 20) and large.relevant.shape == (5, 50)
    assert small.relevant[torch.arange(5), torch.arange(5)].all()
    assert torch.equal(large.relevant[:, :20], small.relevant)


def test_bad_gallery_sizes_name_the_value():
    with pytest.raises(ValueError, match="gallery size 0"):
        V.gallery(0, 1, pool_size=POOL)
    with pytest.raises(ValueError, match="n_queries 30"):
        V.gallery(20, 30, pool_size=POOL)


def test_scores_have_one_row_per_query(models):
    clip, vilt = models
    g = V.gallery(12, 4, pool_size=POOL)
    index = V.embed_images(clip, g.images)
    assert index.shape == (12, clip.embed_dim)
    assert torch.allclose(index.norm(dim=1), torch.ones(12), atol=1e-5)
    assert V.dual_scores(clip, g.queries, index).shape == (4, 12)
    fused = V.fusion_scores(vilt, g.queries, g.images)
    assert fused.shape == (4, 12)
    one = vilt.match_score(g.images[3:4], pretrained_tokens(g.queries[1:2]))
    assert torch.allclose(fused[1, 3], one[0], atol=1e-4)


def pretrained_tokens(captions):
    from course_utils.data import clip_batches as B
    return B.tokenize(captions)


def test_rerank_puts_the_shortlist_on_top_in_the_fusion_order(models):
    clip, vilt = models
    g = V.gallery(15, 3, pool_size=POOL)
    dual = V.dual_scores(clip, g.queries, V.embed_images(clip, g.images))
    fused = V.fusion_scores(vilt, g.queries, g.images)
    k = 4
    ranked = V.rerank(vilt, g.queries, g.images, dual, k).argsort(1, descending=True)
    top = dual.topk(k, 1).indices
    for q in range(3):
        assert set(ranked[q, :k].tolist()) == set(top[q].tolist())
        assert ranked[q, :k].tolist() == top[q][fused[q, top[q]].argsort(descending=True)].tolist()
    # k = N: the rerank is the fusion encoder's own ranking
    full = V.rerank(vilt, g.queries, g.images, dual, 15)
    assert metrics.recall_at_k(full, g.relevant, (1, 5)) == metrics.recall_at_k(fused, g.relevant, (1, 5))


def test_bad_rerank_requests_name_the_value(models):
    clip, vilt = models
    g = V.gallery(10, 2, pool_size=POOL)
    dual = torch.zeros(2, 10)
    with pytest.raises(ValueError, match="k must be an integer >= 1, got 0"):
        V.rerank(vilt, g.queries, g.images, dual, 0)
    with pytest.raises(ValueError, match="query list is empty"):
        V.fusion_scores(vilt, [], g.images)
    with pytest.raises(ValueError, match="query list is empty"):
        V.dual_scores(clip, [], torch.zeros(10, clip.embed_dim))


def test_same_object_ignores_the_place_but_not_color_or_shape():
    g = V.gallery(40, 6, pool_size=POOL)
    assert g.same_object.shape == (6, 40)
    assert (g.same_object | ~g.relevant).all()  # every true caption names the right color and shape
    for q in range(6):
        a = g.scenes[q].objects[0]
        for j in range(40):
            b = g.scenes[j].objects[0]
            assert bool(g.same_object[q, j]) == ((a.color, a.shape) == (b.color, b.shape))
