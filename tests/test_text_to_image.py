"""Specifications of the text-to-image parts around the diffusion maths: the world's prompts and training pairs, the
autoencoders (continuous and vector-quantized), the token prior, the latent diffusion model, and the CLIP judge."""
import numpy as np
import pytest
import torch

from course_utils.data import text_to_image as D
from course_utils.data.splits import HELD_OUT_COMBOS
from course_utils.nn.autoencoder import Autoencoder, DiscreteAutoencoder, VectorQuantizer
from course_utils.nn.token_prior import N_IMAGE_TOKENS, DiscreteTextToImage, TokenPrior, TokenPriorConfig
from course_utils.recipes import text_to_image_world as R
from course_utils.tasks import text_to_image as T


def test_training_batches_are_seen_pairs_in_model_range_with_one_or_two_objects():
    b = D.training_batch(np.random.default_rng(0), 200)
    assert b["images"].shape == (200, 3, 32, 32)
    assert float(b["images"].min()) >= -1 and float(b["images"].max()) <= 1
    assert all(o.pair not in HELD_OUT_COMBOS for s in b["scenes"] for o in s.objects)
    counts = [len(s.objects) for s in b["scenes"]]
    assert set(counts) == {1, 2} and 0.1 < counts.count(2) / 200 < 0.4
    assert any("图" in c for c in b["captions"]) and any(c.startswith("a ") for c in b["captions"])


def test_prompt_sets_name_their_pairs_and_are_reproducible():
    held = D.prompt_set("held_out", 2, seed=3)
    assert sorted(set(held.pairs)) == sorted(HELD_OUT_COMBOS) and len(held.prompts) == 12
    for prompt, (color, shape) in zip(held.prompts, held.pairs):
        assert color in prompt and shape in prompt
    assert D.prompt_set("seen", 2, seed=3).prompts == D.prompt_set("seen", 2, seed=3).prompts
    assert D.count_prompt_set(6).counts == [1, 2, 1, 2, 1, 2]
    with pytest.raises(ValueError, match="prompt split"):
        D.prompt_set("unseen", 2)


def test_autoencoder_shapes_scale_and_errors():
    torch.manual_seed(0)
    ae = Autoencoder(latent_dim=4, width=8)
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    scale = ae.set_scale_(x)
    z = ae.encode(x)
    assert z.shape == (5, 4, 8, 8) and abs(float(z.detach().std()) - 1) < 1e-4 and scale > 0
    assert ae.decode(z).shape == x.shape
    ae.loss(x).backward()
    with pytest.raises(ValueError, match=r"expected \(B, 3, 32, 32\)"):
        ae.encode(torch.zeros(2, 3, 16, 16))


def test_vector_quantizer_picks_the_nearest_code_and_passes_gradients_straight_through():
    vq = VectorQuantizer(5, 3)
    with torch.no_grad():
        vq.codebook.weight.copy_(torch.eye(5, 3) * 10)
    z_e = torch.tensor([[9.0, 0.5, 0.0], [0.2, 0.1, 11.0]]).T.reshape(1, 3, 1, 2).requires_grad_(True)
    z_q, k, loss = vq(z_e)
    assert k.tolist() == [[[0, 2]]]
    assert torch.allclose(z_q, vq.lookup(k))
    z_q.sum().backward()
    assert torch.allclose(z_e.grad, torch.ones_like(z_e))  # straight-through: d z_q / d z_e = I


def test_discrete_autoencoder_round_trips_tokens_and_rejects_bad_ones():
    torch.manual_seed(0)
    dvae = DiscreteAutoencoder(16, code_dim=8, width=8)
    tokens = dvae.encode(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert tokens.shape == (2, 64) and int(tokens.max()) < 16
    assert dvae.decode(tokens).shape == (2, 3, 32, 32)
    loss, logs = dvae.loss(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert loss.requires_grad and 0 < logs["codes"] <= 1
    with pytest.raises(ValueError, match="tokens of shape"):
        dvae.decode(torch.full((2, 64), 16))


def test_token_prior_is_causal_and_teacher_forcing_equals_step_by_step():
    torch.manual_seed(0)
    prior = TokenPrior(TokenPriorConfig.fast(text_vocab=30, codebook_size=16, text_len=6)).eval()
    text = torch.tensor([[1, 7, 8, 2, 0, 0], [1, 9, 2, 0, 0, 0]])
    img = torch.randint(0, 16, (2, N_IMAGE_TOKENS))
    full = prior(text, img)  # (2, 64, 16)
    assert full.shape == (2, 64, 16)
    assert torch.allclose(prior(text, img[:, :10])[:, :11], full[:, :11], atol=1e-5)  # later tokens never leak back
    changed = img.clone()
    changed[:, 20] = (changed[:, 20] + 1) % 16
    assert torch.allclose(prior(text, changed)[:, :21], full[:, :21], atol=1e-5)
    assert not torch.allclose(prior(text, changed)[:, 21:], full[:, 21:], atol=1e-5)
    out = DiscreteTextToImage(DiscreteAutoencoder(16, 8, 8), prior).generate(text, top_k=4,
                                                                             generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 3, 32, 32) and float(out.min()) >= 0 and float(out.max()) <= 1
    with pytest.raises(ValueError, match="temperature"):
        prior.generate(text, temperature=0)


def test_latent_diffusion_trains_and_generates_in_the_latent_space():
    model = R.build("random", fast=True)
    history = R.train_diffusion(model, 2, batch_size=4, progress=False)
    assert len(history.loss) == 2 and all(np.isfinite(history.loss))
    images, path = model.generate(["a large red circle.", "图中有一个蓝色的小三角形。"], guidance=2.0, steps=3,
                                  generator=torch.Generator().manual_seed(0), trajectory=True)
    assert images.shape == (2, 3, 32, 32) and float(images.min()) >= 0 and float(images.max()) <= 1
    assert [t for t, _ in path] == [666, 333, 0]
    with pytest.raises(ValueError, match="unknown text encoder"):
        R.build("t5")


def test_the_judge_scores_real_images_as_right_and_counts_and_places_them():
    judge = R.clip_judge()
    for split in D.PROMPT_SPLITS:
        prompts = D.prompt_set(split, 2, seed=1)
        score = R.faithfulness(judge, R.prompt_images(prompts), prompts)
        assert score["color"] == 1.0 and score["shape"] == 1.0 and score["clip_score"] > 50
    counts = D.count_prompt_set(40)
    assert T.count_accuracy(judge, T.count_classifier(judge), R.prompt_images(counts), counts) >= 0.9
    blank = torch.zeros(2, 3, 32, 32)
    blank[0, 0, 2:6, 2:6] = 1.0  # top left
    blank[1, 1, 26:30, 14:18] = 1.0  # bottom
    assert T.object_region(blank).tolist() == [0, 7]
