"""The sound of a scene: every object hums a note, and the notes are mixed.

color -> pitch (a pentatonic scale, so mixtures sound consonant), shape -> timbre (circle: pure sine;
square: odd harmonics 1/k, square-wave-like; triangle: all harmonics 1/k, sawtooth-like),
size -> loudness (large twice as loud as small). Harmonics above the Nyquist frequency are left out.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np
import torch

from .scene import Obj, RngLike, Scene, as_rng

PITCH_HZ = {"red": 261.63, "orange": 293.66, "yellow": 329.63, "green": 392.00, "blue": 440.00, "purple": 523.25}
LOUDNESS = {"small": 0.1, "large": 0.2}
N_HARMONICS = 8
FADE_S = 0.01          # fade in/out, avoids clicks at the edges
N_FFT = 256            # STFT window length of spectrogram(): 32 ms at 8 kHz, bins 31.25 Hz apart
HOP = 64               # STFT hop (samples between frames): 8 ms at 8 kHz
N_FREQ = N_FFT // 2 + 1  # frequency bins of a spectrogram (129): its number of rows


def _check(sr, duration):
    if not isinstance(sr, (int, np.integer)) or sr < 1000:
        raise ValueError(f"sample rate {sr!r} must be an int >= 1000 Hz")
    if not duration > 0:
        raise ValueError(f"duration {duration!r} must be > 0 seconds")


def harmonics(shape: str) -> list[tuple[int, float]]:
    """(harmonic number k, amplitude) pairs of a shape's timbre."""
    if shape == "circle":
        return [(1, 1.0)]
    if shape == "square":
        return [(k, 1.0 / k) for k in range(1, 2 * N_HARMONICS, 2)]
    if shape == "triangle":
        return [(k, 1.0 / k) for k in range(1, N_HARMONICS + 1)]
    raise ValueError(f"unknown shape {shape!r}; allowed: circle, square, triangle")


@lru_cache(maxsize=256)
def _tone(color: str, shape: str, size: str, sr: int, duration: float) -> np.ndarray:
    n = int(round(sr * duration))
    t = np.arange(n) / sr
    f0 = PITCH_HZ[color]
    wave = np.zeros(n)
    for k, a in harmonics(shape):
        if k * f0 < sr / 2:
            wave += a * np.sin(2 * np.pi * k * f0 * t)
    wave *= LOUDNESS[size] / np.abs(wave).max()          # peak amplitude = loudness, whatever the timbre
    fade = min(int(FADE_S * sr), n // 2)
    if fade:
        ramp = np.linspace(0, 1, fade)
        wave[:fade] *= ramp
        wave[n - fade:] *= ramp[::-1]
    wave = wave.astype(np.float32)
    wave.flags.writeable = False
    return wave


def sonify_object(obj: Obj, sr: int = 8000, duration: float = 0.5) -> torch.Tensor:
    """Waveform (n_samples,) of one object: pitch from color, timbre from shape, peak amplitude from size."""
    _check(sr, duration)
    return torch.from_numpy(_tone(obj.color, obj.shape, obj.size, int(sr), float(duration)).copy())


def sonify(scene: Scene, sr: int = 8000, duration: float = 0.5, *, noise: float = 0.0,
           rng: RngLike = None) -> torch.Tensor:
    """Waveform (n_samples,) of a scene: the sum of its objects' tones, plus optional Gaussian noise."""
    _check(sr, duration)
    n = int(round(sr * duration))
    wave = np.zeros(n, dtype=np.float32)
    for o in scene.objects:
        wave += _tone(o.color, o.shape, o.size, int(sr), float(duration))
    if noise > 0:
        wave += noise * as_rng(rng).standard_normal(n, dtype=np.float32)
    return torch.from_numpy(wave)


def sonify_batch(scenes: Sequence[Scene], sr: int = 8000, duration: float = 0.5) -> torch.Tensor:
    """Waveforms (B, n_samples) of many scenes."""
    return torch.stack([sonify(s, sr, duration) for s in scenes]) if scenes else torch.zeros(0, int(sr * duration))


def spectrogram(wave: torch.Tensor, n_fft: int = N_FFT, hop: int = HOP) -> torch.Tensor:
    """Log-magnitude spectrogram log(|STFT| + 1e-3) with a Hann window: (F, T) or (B, F, T), F = n_fft // 2 + 1."""
    if wave.dim() not in (1, 2):
        raise ValueError(f"wave must have shape (n_samples,) or (B, n_samples), got {tuple(wave.shape)}")
    if wave.shape[-1] < n_fft:
        raise ValueError(f"wave of {wave.shape[-1]} samples is shorter than n_fft={n_fft}")
    spec = torch.stft(wave, n_fft, hop_length=hop, window=torch.hann_window(n_fft, device=wave.device),
                      return_complex=True)
    return torch.log(spec.abs() + 1e-3)
