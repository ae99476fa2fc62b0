"""Scene explorer: every modality of one scene of the toy world at once, with a seed slider and a "new scene" button.

``scene_modalities(seed)`` computes them (image, depth, mask, captions in English and Chinese, questions with
answers, the sound and its spectrogram, the video frames); ``draw_modalities`` draws the pictures,
``describe_html`` writes the text as HTML (browsers render Chinese, matplotlib fonts may not), and
``scene_explorer`` puts it all in a widget that first leaves a static copy for readers without a kernel.
"""
from __future__ import annotations

import html
import io
import wave as wavfile
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap

from .. import data as D
from .plots import to_hwc
from .style import MAX_WIDTH


@dataclass
class SceneModalities:
    """One scene in every modality of the world."""

    seed: int
    scene: D.Scene
    rgb: torch.Tensor                 # (3, H, W)
    depth: torch.Tensor               # (1, H, W) nearness
    mask: torch.Tensor                # (H, W) instance ids
    captions: dict                    # lang -> list of captions, one per template
    qas: list = field(default_factory=list)   # (QA in English, the same QA in Chinese)
    wave: torch.Tensor = None         # (n_samples,)
    sr: int = 8000
    spec: torch.Tensor = None         # (F, T) log-magnitude
    video: torch.Tensor = None        # (frames, 3, H, W)


def _pick_questions(q_en: list, q_zh: list, n: int) -> list:
    """Up to n (en, zh) question pairs, taking the families in turn so that every family shows up."""
    by_family = {f: [(a, b) for a, b in zip(q_en, q_zh) if a.family == f] for f in D.FAMILIES}
    out, k = [], 0
    while len(out) < n and any(k < len(v) for v in by_family.values()):
        out += [v[k] for v in by_family.values() if k < len(v)][: n - len(out)]
        k += 1
    return out


def scene_modalities(seed: int, n_objects=(1, 4), size: int = 64, frames: int = 6, sr: int = 8000,
                     duration: float = 0.6, n_questions: int = 6) -> SceneModalities:
    """Every modality of the scene drawn from ``seed`` (the same seed always gives the same scene)."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed {seed!r} must be an int >= 0")
    rng = np.random.default_rng(int(seed))
    scene = D.sample_scene(rng, n_objects, image_size=size)
    r = D.render(scene, size)
    captions = {lang: D.all_captions(scene, lang) for lang in D.LANGS}
    qas = _pick_questions(D.questions(scene, "en"), D.questions(scene, "zh"), n_questions)  # rng=None: parallel
    sound = D.sonify(scene, sr, duration)
    return SceneModalities(int(seed), scene, r.rgb, r.depth, r.mask, captions, qas, sound, sr,
                           D.spectrogram(sound), D.animate(scene, frames, size, rng))


def draw_modalities(m: SceneModalities, scale: float = 1.35):
    """Top row: image, depth, mask, spectrogram; bottom row: the video frames (numbered from 1). Returns the figure.

    At most ``MAX_WIDTH`` inches wide, so that its 10-pt labels stay 10 pt on screen."""
    frames = len(m.video)
    ncols = max(frames, 6)
    fig = plt.figure(figsize=(min(scale * ncols, MAX_WIDTH), scale * 2.35))
    gs = fig.add_gridspec(2, ncols, height_ratios=[1.15, 1])
    ids = ListedColormap(["black", *plt.get_cmap("tab10").colors[:D.MAX_OBJECTS]])      # 0 = background
    panels = [("image", to_hwc(m.rgb), None, None), ("depth (nearness)", to_hwc(m.depth), "viridis", None),
              ("instance mask", to_hwc(m.mask), ids, D.MAX_OBJECTS)]
    for i, (name, img, cmap, vmax) in enumerate(panels):
        ax = fig.add_subplot(gs[0, i])
        ax.imshow(img, cmap=cmap, interpolation="nearest", vmin=0 if cmap else None, vmax=vmax)
        ax.set_title(name, fontsize=10)
        ax.axis("off")
    ax = fig.add_subplot(gs[0, 3:])
    n_samples = len(m.wave)
    ax.imshow(m.spec.numpy(), origin="lower", aspect="auto", cmap="magma",
              extent=(0, n_samples / m.sr, 0, m.sr / 2 / 1000))
    ax.set_title("sound: log |STFT|", fontsize=10)
    ax.set_xlabel("time (s)", fontsize=10)
    ax.set_ylabel("kHz", fontsize=10)
    for t in range(frames):
        ax = fig.add_subplot(gs[1, t])
        ax.imshow(to_hwc(m.video[t]), interpolation="nearest")
        ax.set_title(f"frame {t + 1}", fontsize=10)
        ax.axis("off")
    fig.suptitle(f"scene seed={m.seed}: {len(m.scene)} object(s)", fontsize=10)
    fig.tight_layout()
    return fig


def describe_html(m: SceneModalities) -> str:
    """Captions (every template, both languages) and questions with answers, as two HTML tables."""
    e = html.escape
    cell = 'style="text-align:left; padding:1px 8px"'
    rows = "".join(f"<tr><td {cell}>{e(t)}</td><td {cell}>{e(en)}</td><td {cell}>{e(zh)}</td></tr>"
                   for t, en, zh in zip(D.CAPTION_TEMPLATES, m.captions["en"], m.captions["zh"]))
    qrows = "".join(f"<tr><td {cell}>{e(a.family)}</td><td {cell}>{e(a.question)}</td><td {cell}><b>{e(a.answer)}</b>"
                    f"</td><td {cell}>{e(b.question)}</td><td {cell}><b>{e(b.answer)}</b></td></tr>" for a, b in m.qas)
    head = f'<tr><th {cell}>{{}}</th><th {cell}>English</th><th {cell}>{{}}</th></tr>'
    return ("<div style='font-size:90%'>"
            f"<b>Captions / 描述</b><table>{head.format('template', '中文')}{rows}</table>"
            f"<b>Questions / 问答</b><table><tr><th {cell}>family</th><th {cell}>question</th><th {cell}>answer</th>"
            f"<th {cell}>问题</th><th {cell}>答案</th></tr>{qrows}</table></div>")


def wav_bytes(wave: torch.Tensor, sr: int = 8000) -> bytes:
    """A mono 16-bit PCM WAV file (bytes) of a waveform in [-1, 1]."""
    x = wave.detach().float().cpu().numpy() if torch.is_tensor(wave) else np.asarray(wave, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"wave must have shape (n_samples,), got {tuple(x.shape)}")
    pcm = (np.clip(x, -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wavfile.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sr))
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def _show_figure(m: SceneModalities) -> None:
    fig = draw_modalities(m)
    plt.show()
    plt.close(fig)


def _explorer_class():
    import ipywidgets as widgets
    from IPython.display import clear_output

    class SceneExplorer(widgets.VBox):
        """A seed slider and a "new scene" button above the sound, the texts and the pictures of that scene."""

        def __init__(self, seed: int, max_seed: int = 999, **kwargs):
            self.options = kwargs
            self.slider = widgets.IntSlider(value=seed, min=0, max=max_seed, description="seed",
                                            continuous_update=False)
            self.button = widgets.Button(description="new scene", icon="refresh", tooltip="next seed")
            self.audio = widgets.Audio(format="wav", autoplay=False, loop=False)
            self.text = widgets.HTML()
            self.figure = widgets.Output(layout=widgets.Layout(min_height="200px"))
            self.modalities: SceneModalities | None = None
            super().__init__([widgets.HBox([self.slider, self.button]),
                              widgets.HBox([widgets.Label("sound:"), self.audio]), self.text, self.figure])
            self.slider.observe(self.update, names="value")
            self.button.on_click(self.next_scene)
            self.update()

        def next_scene(self, _button=None) -> None:
            self.slider.value = (self.slider.value + 1) % (self.slider.max + 1)

        def update(self, change=None) -> None:
            m = scene_modalities(self.slider.value, **self.options)
            self.modalities = m
            self.audio.value = wav_bytes(m.wave, m.sr)
            self.text.value = describe_html(m)
            with self.figure:
                clear_output(wait=True)
                _show_figure(m)

    return SceneExplorer


def scene_explorer(seed: int, static: bool = True, display_widget: bool = True, **kwargs):
    """Show scene ``seed`` statically (figure, texts, audio player), then the live explorer; returns the widget.

    kwargs go to ``scene_modalities`` (n_objects, size, frames, sr, duration, n_questions)."""
    from IPython.display import HTML, Audio, display

    if static:
        m = scene_modalities(seed, **kwargs)
        _show_figure(m)
        display(HTML(describe_html(m)))
        display(Audio(data=wav_bytes(m.wave, m.sr), rate=m.sr))
    box = _explorer_class()(seed, **kwargs)
    if display_widget:
        display(box)
    return box
