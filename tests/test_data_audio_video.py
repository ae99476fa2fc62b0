"""Audio (color -> pitch, shape -> timbre, size -> loudness) and video (objects move and bounce)."""
import numpy as np
import pytest
import torch

from course_utils.data import (
    PITCH_HZ,
    Obj,
    Scene,
    animate,
    animate_batch,
    render,
    sample_scene,
    sonify,
    sonify_object,
    spectrogram,
    trajectory,
)


def peak_hz(wave, sr):
    spec = torch.fft.rfft(wave).abs()
    return float(spec.argmax()) * sr / len(wave)


@pytest.mark.parametrize("color", list(PITCH_HZ))
def test_color_sets_the_pitch(color):
    w = sonify_object(Obj("circle", color), sr=8000, duration=1.0)
    assert abs(peak_hz(w, 8000) - PITCH_HZ[color]) <= 1.0


def test_shape_sets_the_timbre():
    def harmonic_energy(shape):
        w = sonify_object(Obj(shape, "red"), sr=8000, duration=1.0)
        spec = torch.fft.rfft(w).abs()
        f0 = round(PITCH_HZ["red"])
        return [float(spec[k * f0 - 2:k * f0 + 3].max()) / float(spec[f0 - 2:f0 + 3].max()) for k in (2, 3)]

    circle, square, triangle = (harmonic_energy(s) for s in ("circle", "square", "triangle"))
    assert max(circle) < 0.01                              # pure sine
    assert square[0] < 0.05 and square[1] > 0.2            # odd harmonics only
    assert triangle[0] > 0.3 and triangle[1] > 0.2         # all harmonics


def test_size_sets_the_loudness():
    small = sonify_object(Obj("square", "blue", "small"))
    large = sonify_object(Obj("square", "blue", "large"))
    assert torch.allclose(large, 2 * small, atol=1e-6)


def test_scene_sound_is_the_mix_of_its_objects():
    s = sample_scene(0, 3)
    assert torch.allclose(sonify(s), sum(sonify_object(o) for o in s.objects), atol=1e-6)
    assert sonify(s, sr=16000, duration=0.25).shape == (4000,)


def test_spectrogram_shape():
    w = sonify(sample_scene(1))
    assert spectrogram(w).shape == (129, 4000 // 64 + 1)
    assert spectrogram(torch.stack([w, w]), n_fft=128, hop=32).shape == (2, 65, 126)


def test_animation_starts_at_the_scene_and_objects_stay_inside():
    s = sample_scene(2, 3)
    video, scenes = animate(s, frames=30, rng=0, return_scenes=True)
    assert video.shape == (30, 3, 32, 32) and len(scenes) == 30
    assert torch.equal(video[0], render(s).rgb)
    for f, sc in enumerate(scenes):
        assert torch.equal(video[f], render(sc).rgb)
        for o in sc.objects:
            assert o.radius - 1e-9 <= o.x <= 1 - o.radius + 1e-9 and o.radius - 1e-9 <= o.y <= 1 - o.radius + 1e-9


def test_objects_move_with_constant_speed_and_bounce():
    s = Scene([Obj("circle", "red", "small", 0.5, 0.5, 0)])
    scenes, vel = trajectory(s, frames=40, velocities=np.array([[0.05, 0.0]]))
    xs = [sc.objects[0].x for sc in scenes]
    steps = np.abs(np.diff(xs))
    assert np.allclose(steps[steps > 0.049], 0.05) and vel[:, 0, 0].min() < 0 < vel[:, 0, 0].max()
    assert all(sc.objects[0].y == 0.5 for sc in scenes)


def test_animation_is_deterministic():
    s = sample_scene(3)
    assert torch.equal(animate(s, rng=4), animate(s, rng=4))
    assert animate_batch([s, s], frames=4, rng=0).shape == (2, 4, 3, 32, 32)
