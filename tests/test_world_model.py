"""The world model of notebook 24.12: video batches, the next-frame predictor, its rollout, the baselines, and the
shipped ``world_model_video`` weights (sha256, and beating copy-last-frame at horizons 1 … 5 on unseen videos)."""
import numpy as np
import pytest
import torch

from course_utils import pretrained
from course_utils.data import video_prediction as V
from course_utils.data.scene import Obj, Scene
from course_utils.data.video import trajectory
from course_utils.nn import world_model as W
from course_utils.recipes import world_model_video as R


def small_model(context=2):
    torch.manual_seed(0)
    return W.FramePredictor(W.WorldModelConfig(context=context, width=4)).eval()


def test_sample_videos_shapes_range_and_determinism():
    v = V.sample_videos(np.random.default_rng(0), 3, frames=6)
    assert v.frames.shape == (3, 6, 3, 32, 32) and v.bounced.shape == (3, 6)
    assert v.frames.min() >= 0 and v.frames.max() <= 1
    assert not v.bounced[:, 0].any()                      # frame 0 has no move into it
    assert torch.equal(v.frames, V.sample_videos(np.random.default_rng(0), 3, frames=6).frames)


def test_bounce_flag_marks_the_frame_after_the_wall():
    scene = Scene([Obj("circle", "red", "small", x=0.85, y=0.5)])
    _, vel = trajectory(scene, 4, velocities=np.array([[0.06, 0.0]]))
    assert vel[1, 0, 0] < 0 < vel[0, 0, 0]                 # the move into frame 1 hits the right wall
    flags = V.sample_videos(np.random.default_rng(3), 64, frames=12).bounced
    assert 0 < flags.float().mean() < 0.5


def test_split_context_and_bad_input():
    frames = torch.zeros(2, 5, 3, 32, 32)
    past, future = V.split_context(frames, 2)
    assert past.shape == (2, 2, 3, 32, 32) and future.shape == (2, 3, 3, 32, 32)
    with pytest.raises(ValueError, match="context 5 is not shorter than the video"):
        V.split_context(frames, 5)
    with pytest.raises(ValueError, match="context 0"):
        V.split_context(frames, 0)
    with pytest.raises(ValueError, match="horizon 0"):
        V.training_batch(np.random.default_rng(0), 2, 2, 0)
    with pytest.raises(ValueError, match="expected \\(B, T, 3, H, W\\)"):
        V.split_context(torch.zeros(5, 3, 32, 32), 2)


def test_predictor_shapes_and_wrong_context():
    model = small_model()
    assert model(torch.rand(4, 2, 3, 32, 32)).shape == (4, 3, 32, 32)
    with pytest.raises(ValueError, match="expected \\(B, 2, 3, H, W\\)"):
        model(torch.rand(4, 3, 3, 32, 32))
    with pytest.raises(ValueError, match="context 0"):
        W.WorldModelConfig(context=0)


def test_rollout_equals_hand_unrolled_steps():
    model, past = small_model(), torch.rand(3, 2, 3, 32, 32)
    with torch.no_grad():
        x2 = model(past)                                                       # x̂_{t+1}
        x3 = model(torch.stack([past[:, 1], x2], 1))                           # fed back in
        x4 = model(torch.stack([x2, x3], 1))
        out = W.rollout(model, past, 3)
    assert out.shape == (3, 3, 3, 32, 32)
    assert torch.allclose(out, torch.stack([x2, x3, x4], 1), atol=1e-6)


@pytest.mark.parametrize("horizon", [0, -1, 1.5, True])
def test_rollout_rejects_a_bad_horizon(horizon):
    with pytest.raises(ValueError, match="horizon"):
        W.rollout(small_model(), torch.rand(1, 2, 3, 32, 32), horizon)


def test_baselines_on_an_analytic_case():
    a, b = torch.full((1, 3, 4, 4), 0.2), torch.full((1, 3, 4, 4), 0.3)
    past = torch.stack([a, b], 1)                                              # (1, 2, 3, 4, 4)
    assert torch.equal(W.copy_last(past, 3), b[:, None].expand(1, 3, 3, 4, 4))
    lin = W.linear_extrapolation(past, 3)
    assert torch.allclose(lin[0, :, 0, 0, 0], torch.tensor([0.4, 0.5, 0.6]))
    assert W.linear_extrapolation(past, 20).max() == 1.0                       # clipped to the pixel range
    future = torch.ones(1, 3, 3, 4, 4)
    assert torch.allclose(W.mse_per_horizon(W.copy_last(past, 3), future), torch.full((3,), 0.49))
    with pytest.raises(ValueError, match="horizon 0"):
        W.copy_last(past, 0)


def test_one_training_step_lowers_the_loss_on_its_batch():
    model = small_model().train()
    batch = V.training_batch(np.random.default_rng(0), 8, 2, 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = W.rollout_loss(model, batch["past"], batch["future"])
    for _ in range(3):
        opt.zero_grad()
        W.rollout_loss(model, batch["past"], batch["future"]).backward()
        opt.step()
    assert W.rollout_loss(model, batch["past"], batch["future"]) < before


def test_shipped_weights_load_with_their_sha256():
    assert R.NAME in pretrained.recipes()
    assert pretrained.status(R.NAME) == "ok"


def test_shipped_model_beats_copy_last_up_to_five_frames():
    model = pretrained.get(R.NAME, train=False, verbose=False)
    scores = R.evaluate(model, R.held_out(n=64, horizon=5, seed=77), horizon=5)  # a seed the recipe never used
    for k in range(1, 6):
        assert scores[f"model h={k}"] < 0.8 * scores[f"copy-last h={k}"], (k, scores)


def test_wall_approach_bounces_on_the_third_frame():
    w = V.wall_approach(np.random.default_rng(0), 16)
    assert w["past"].shape == (16, 2, 3, 32, 32) and w["bounced"].shape == w["straight"].shape == (16, 3, 32, 32)
    differ = (w["bounced"] - w["straight"]).abs().flatten(1).amax(1) > 0
    assert differ.float().mean() >= 0.8                    # the wall changes the frame (a few hit at sub-pixel depth)
    assert torch.equal(w["past"], V.wall_approach(np.random.default_rng(0), 16)["past"])
    with pytest.raises(ValueError, match="n 0"):
        V.wall_approach(0, 0)
