"""The scene explorer widget of notebook 24.2 (course_utils.viz.explorer)."""
import io
import wave

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from course_utils.viz import explorer  # noqa: E402  (importing viz applies the course figure style)


def test_scene_modalities_are_deterministic_and_complete():
    a, b = explorer.scene_modalities(5), explorer.scene_modalities(5)
    assert a.captions == b.captions and (a.rgb == b.rgb).all()
    assert a.rgb.shape == (3, 64, 64) and a.depth.shape == (1, 64, 64) and a.mask.shape == (64, 64)
    assert len(a.captions["en"]) == len(a.captions["zh"]) >= 1
    assert a.video.shape[0] == 6 and a.spec.shape[0] == 129 and a.wave.dim() == 1
    assert all(qa_en.answer and qa_zh.answer for qa_en, qa_zh in a.qas)


def test_wav_bytes_is_a_readable_wav_file():
    m = explorer.scene_modalities(0)
    with wave.open(io.BytesIO(explorer.wav_bytes(m.wave, m.sr))) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (m.sr, 1, len(m.wave))


def test_negative_seed_is_refused():
    with pytest.raises(ValueError, match="seed"):
        explorer.scene_modalities(-1)


def test_explorer_builds_and_updates_when_the_seed_changes():
    box = explorer.scene_explorer(seed=2, static=False, display_widget=False)
    text, audio = box.text.value, box.audio.value
    assert box.modalities.seed == 2 and "中文" in text and audio[:4] == b"RIFF"
    box.slider.value = 7
    assert box.modalities.seed == 7 and box.text.value != text and box.audio.value != audio
    box.button.click()
    assert box.slider.value == 8 and box.modalities.seed == 8


def test_static_figure_has_image_depth_mask_spectrogram_and_frames_numbered_from_1():
    fig = explorer.draw_modalities(explorer.scene_modalities(1))
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:4] == ["image", "depth (nearness)", "instance mask", "sound: log |STFT|"]
    assert [t for t in titles if t.startswith("frame")] == [f"frame {t}" for t in range(1, 7)]


def test_static_figure_is_readable_when_projected():
    from course_utils.viz import MAX_WIDTH

    fig = explorer.draw_modalities(explorer.scene_modalities(1, frames=12))
    assert fig.get_figwidth() <= MAX_WIDTH and fig.dpi >= 100
    texts = [t for ax in fig.axes for t in (ax.title, ax.xaxis.label, ax.yaxis.label,
                                          *ax.get_xticklabels(), *ax.get_yticklabels()) if t.get_text()]
    assert texts and min(t.get_fontsize() for t in texts) >= 10


def test_seed_must_be_given():
    with pytest.raises(TypeError):
        explorer.scene_modalities()
