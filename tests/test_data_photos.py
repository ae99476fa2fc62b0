"""Real photos from scikit-image as (3, H, W) float tensors."""
import pytest

pytest.importorskip("skimage")

from course_utils.data import PHOTOS, photo  # noqa: E402


def test_color_photo_is_a_float_tensor_in_unit_range():
    img = photo("astronaut")
    assert img.shape == (3, 512, 512) and img.dtype.is_floating_point
    assert 0 <= img.min() and img.max() <= 1 and img.std() > 0.1


def test_gray_photo_has_three_equal_channels_and_resizes():
    img = photo("camera", size=64)
    assert img.shape == (3, 64, 64) and (img[0] == img[1]).all() and (img[1] == img[2]).all()


def test_every_listed_photo_loads():
    for name in PHOTOS:
        assert photo(name, size=32).shape == (3, 32, 32)
