"""Specifications of course_utils.nn.diffusion and nn.unet against diffusers: both schedules' ᾱ_t, add_noise, the DDPM
step (same generator), the DDIM step (η = 0 and η > 0), a whole 20-step guided sampling loop, the batched guidance,
the timestep embedding; the ε-loss by hand; the UNet's use of the text; and the errors for bad input."""
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler, UNet2DConditionModel
from diffusers.models.embeddings import get_timestep_embedding

from course_utils.nn.diffusion import NoiseSchedule, drop_condition, epsilon_loss, guided_eps, sample
from course_utils.nn.unet import UNet, UNetConfig, timestep_embedding
from course_utils.tasks.text_to_image import DiffusersDenoiser

DIFFUSERS_SCHEDULE = {"linear": "linear", "cosine": "squaredcos_cap_v2"}


def small_unet() -> UNet:
    torch.manual_seed(0)
    unet = UNet(UNetConfig(image_size=8, in_channels=3, channels=(16, 32), attention_levels=(1,), context_dim=12,
                           heads=2, time_dim=32))
    torch.nn.init.normal_(unet.conv_out.weight, std=0.01)  # the zero-initialized output would hide every difference
    return unet.eval()


@pytest.fixture
def context():
    g = torch.Generator().manual_seed(2)
    return torch.randn(3, 5, 12, generator=g), torch.randn(3, 5, 12, generator=g)  # prompts, empty prompt


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_alphas_cumprod_match_diffusers(kind):
    ours = NoiseSchedule(1000, kind)
    theirs = DDPMScheduler(num_train_timesteps=1000, beta_schedule=DIFFUSERS_SCHEDULE[kind])
    assert torch.allclose(ours.betas, theirs.betas, atol=1e-7)
    assert torch.allclose(ours.alphas_cumprod, theirs.alphas_cumprod, atol=1e-7)


def test_cosine_betas_are_capped_and_snr_falls():
    s = NoiseSchedule(1000, "cosine")
    assert float(s.betas.max()) == pytest.approx(0.999)  # the last step, capped
    snr = s.snr(torch.arange(1000))
    assert bool((snr[1:] < snr[:-1]).all())


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_add_noise_matches_diffusers(kind):
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.rand(4, 3, 8, 8, generator=g) * 2 - 1, torch.randn(4, 3, 8, 8, generator=g)
    t = torch.tensor([0, 10, 500, 999])
    theirs = DDPMScheduler(beta_schedule=DIFFUSERS_SCHEDULE[kind]).add_noise(x0, noise, t)
    assert torch.allclose(NoiseSchedule(1000, kind).add_noise(x0, noise, t), theirs, atol=1e-5)


@pytest.mark.parametrize("t", [999, 500, 1, 0])
def test_ddpm_step_matches_diffusers_with_the_same_generator(t):
    g = torch.Generator().manual_seed(3)
    x_t, eps = torch.randn(2, 3, 8, 8, generator=g) * 1.5, torch.randn(2, 3, 8, 8, generator=g)
    theirs = DDPMScheduler().step(eps, t, x_t, generator=torch.Generator().manual_seed(7)).prev_sample
    ours = NoiseSchedule().ddpm_step(eps, t, x_t, generator=torch.Generator().manual_seed(7))
    assert torch.allclose(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("eta", [0.0, 0.7])
@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_ddim_step_matches_diffusers_after_set_timesteps(eta, kind):
    sched = DDIMScheduler(beta_schedule=DIFFUSERS_SCHEDULE[kind], clip_sample=False, set_alpha_to_one=True)
    sched.set_timesteps(20)
    ours = NoiseSchedule(1000, kind)
    assert ours.ddim_timesteps(20) == sched.timesteps.tolist()
    g = torch.Generator().manual_seed(4)
    x_t, eps = torch.randn(2, 3, 8, 8, generator=g), torch.randn(2, 3, 8, 8, generator=g)
    ts = ours.ddim_timesteps(20)
    for t, t_prev in [(ts[0], ts[1]), (ts[10], ts[11]), (ts[-1], -1)]:
        theirs = sched.step(eps, t, x_t, eta=eta, generator=torch.Generator().manual_seed(5)).prev_sample
        mine = ours.ddim_step(eps, t, t_prev, x_t, eta=eta, generator=torch.Generator().manual_seed(5))
        assert torch.allclose(mine, theirs, atol=1e-5)


def test_twenty_step_guided_sampling_loop_matches_a_diffusers_driven_loop(context):
    unet, (c, null) = small_unet(), context
    ours = sample(unet, NoiseSchedule(1000, "cosine"), c, null, (3, 3, 8, 8), guidance=4.0, steps=20,
                  generator=torch.Generator().manual_seed(9), clip=False)
    sched = DDIMScheduler(beta_schedule="squaredcos_cap_v2", clip_sample=False, set_alpha_to_one=True)
    sched.set_timesteps(20)
    x = torch.randn((3, 3, 8, 8), generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        for t in sched.timesteps:
            ts = torch.full((3,), int(t))
            eps_u, eps_c = unet(x, ts, null), unet(x, ts, c)  # two forwards, as written in the paper
            x = sched.step(eps_u + 4.0 * (eps_c - eps_u), t, x).prev_sample
    assert torch.allclose(ours, x, atol=1e-5)


def test_batched_guidance_equals_two_separate_forwards(context):
    unet, (c, null) = small_unet(), context
    x = torch.randn(3, 3, 8, 8)
    with torch.no_grad():
        batched = guided_eps(unet, x, 500, c, null, 3.0)
        t = torch.full((3,), 500)
        eps_u, eps_c = unet(x, t, null), unet(x, t, c)
    assert torch.allclose(batched, eps_u + 3.0 * (eps_c - eps_u), atol=1e-5)
    with torch.no_grad():
        assert torch.allclose(guided_eps(unet, x, 500, c, null, 0.0), eps_u, atol=1e-5)  # g = 0: unconditional
        assert torch.allclose(guided_eps(unet, x, 500, c, null, 1.0), eps_c, atol=1e-5)  # g = 1: conditional


def test_timestep_embedding_matches_diffusers():
    t = torch.tensor([0, 1, 17, 999])
    theirs = get_timestep_embedding(t, 32, flip_sin_to_cos=True, downscale_freq_shift=0)
    assert torch.allclose(timestep_embedding(t, 32), theirs, atol=1e-6)


def test_epsilon_loss_is_the_formula_by_hand(context):
    unet, (c, _) = small_unet(), context
    s = NoiseSchedule(1000, "linear")
    x0 = torch.rand(3, 3, 8, 8) * 2 - 1
    loss = epsilon_loss(unet, s, x0, c, generator=torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(1)
    t = torch.randint(0, 1000, (3,), generator=g)
    eps = torch.randn(x0.shape, generator=g)
    a = s.alphas_cumprod[t].view(-1, 1, 1, 1)
    by_hand = ((eps - unet(a.sqrt() * x0 + (1 - a).sqrt() * eps, t, c)) ** 2).mean()
    assert torch.allclose(loss, by_hand, atol=1e-6)


def test_unet_reads_the_text_and_ignores_padding(context):
    unet, (c, _) = small_unet(), context
    x, t = torch.randn(3, 3, 8, 8), torch.tensor([5, 500, 900])
    with torch.no_grad():
        out = unet(x, t, c)
        assert out.shape == x.shape
        assert not torch.allclose(out, unet(x, t, c.flip(0)))  # another prompt, another ε̂
        mask = torch.zeros(3, 5, dtype=torch.bool)
        mask[:, 3:] = True  # the last two tokens are padding
        c2 = c.clone()
        c2[:, 3:] = 100.0
        assert torch.allclose(unet(x, t, c, mask), unet(x, t, c2, mask), atol=1e-5)


def test_diffusers_unet_trains_in_our_loop(context):
    torch.manual_seed(0)
    their = UNet2DConditionModel(sample_size=8, in_channels=3, out_channels=3, block_out_channels=(16, 32),
                                 down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                 up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), layers_per_block=1,
                                 cross_attention_dim=12, attention_head_dim=8, norm_num_groups=8)
    model, (c, _) = DiffusersDenoiser(their), context
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    x0 = torch.rand(3, 3, 8, 8) * 2 - 1
    losses = []
    for step in range(30):
        loss = epsilon_loss(model, NoiseSchedule(), x0, c, generator=torch.Generator().manual_seed(step % 3))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_condition_dropout_replaces_captions_with_the_empty_prompt():
    import numpy as np

    out = drop_condition(["a"] * 1000, 0.1, np.random.default_rng(0))
    assert 60 < out.count("") < 140 and set(out) == {"", "a"}
    with pytest.raises(ValueError, match="condition dropout"):
        drop_condition(["a"], 1.5, np.random.default_rng(0))


def test_bad_input_is_a_value_error(context):
    s, unet, (c, null) = NoiseSchedule(), small_unet(), context
    x = torch.zeros(3, 3, 8, 8)
    with pytest.raises(ValueError, match="timestep"):
        s.add_noise(x, x, torch.tensor([0, 1, 1000]))
    with pytest.raises(ValueError, match="timestep"):
        s.ddpm_step(x, -1, x)
    with pytest.raises(ValueError, match="guidance scale"):
        guided_eps(unet, x, 10, c, null, -1.0)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        epsilon_loss(unet, s, x + 2, c)
    with pytest.raises(ValueError, match="unknown noise schedule"):
        NoiseSchedule(1000, "quadratic")
    with pytest.raises(ValueError, match="sampler"):
        sample(unet, s, c, null, (3, 3, 8, 8), sampler="euler")
    with pytest.raises(ValueError, match="t_prev"):
        s.ddim_step(x, 10, 10, x)
    with pytest.raises(ValueError, match="context of shape"):
        unet(x, torch.zeros(3, dtype=torch.long), torch.zeros(3, 5, 7))
