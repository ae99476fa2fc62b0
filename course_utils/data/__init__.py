"""The toy multimodal world: scenes rendered as images, depth maps and masks, described in English and Chinese,
asked about, heard as sounds and animated as short videos. Deterministic from a seed; see DESIGN.md section 4."""
from .audio import LOUDNESS, PITCH_HZ, sonify, sonify_batch, sonify_object, spectrogram
from .datasets import AudioVisualDataset, CaptionDataset, RGBDDataset, VQADataset, WorldDataset, pair_ids
from .language import CAPTION_TEMPLATES, LANGS, all_captions, caption, describe_object, region, relation
from .photos import PHOTOS, photo
from .qa import (
                        ANSWER_ZH,
                        ANSWERS,
                        FAMILIES,
                        QA,
                        QUESTION_VECTOR_SIZE,
                        TWO_HOP_KINDS,
                        WORLD_FAMILIES,
                        answer_index,
                        answer_text,
                        questions,
                        sort_of_clevr_vector,
)
from .rendering import DEPTH_STEP, Rendered, render, render_batch, render_rate
from .scene import (
                        COLOR_RGB,
                        COLOR_ZH,
                        COLORS,
                        MAX_OBJECTS,
                        SHAPE_ZH,
                        SHAPES,
                        SIZE_ZH,
                        SIZES,
                        Obj,
                        Scene,
                        allowed_pairs,
                        as_rng,
                        sample_scene,
                        sort_of_clevr_scene,
)
from .splits import HELD_OUT_COMBOS, PAIRS, SPLITS, has_held_out, sample_split_scene, sample_split_scenes
from .tokenizer import SPECIALS, Tokenizer
from .video import animate, animate_batch, trajectory

__all__ = [
    # scene
    "SHAPES", "COLORS", "SIZES", "COLOR_RGB", "COLOR_ZH", "SHAPE_ZH", "SIZE_ZH", "MAX_OBJECTS",
    "Obj", "Scene", "sample_scene", "sort_of_clevr_scene", "allowed_pairs", "as_rng",
    # render
    "Rendered", "render", "render_batch", "render_rate", "DEPTH_STEP",
    # language
    "LANGS", "CAPTION_TEMPLATES", "caption", "all_captions", "describe_object", "relation", "region",
    "QA", "ANSWERS", "ANSWER_ZH", "FAMILIES", "WORLD_FAMILIES", "TWO_HOP_KINDS", "QUESTION_VECTOR_SIZE", "questions",
    "answer_index", "answer_text", "sort_of_clevr_vector",
    "Tokenizer", "SPECIALS",
    # audio, video, photos
    "PITCH_HZ", "LOUDNESS", "sonify", "sonify_object", "sonify_batch", "spectrogram",
    "animate", "animate_batch", "trajectory", "PHOTOS", "photo",
    # splits and datasets
    "HELD_OUT_COMBOS", "PAIRS", "SPLITS", "has_held_out", "sample_split_scene", "sample_split_scenes",
    "WorldDataset", "CaptionDataset", "VQADataset", "AudioVisualDataset", "RGBDDataset", "pair_ids",
]
