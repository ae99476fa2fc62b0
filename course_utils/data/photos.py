"""Real photographs that ship with scikit-image (no download), as float tensors (3, H, W) in [0, 1]."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "cat", "camera", "moon", "coins", "immunohistochemistry")


def photo(name: str = "astronaut", size: Optional[int] = None) -> torch.Tensor:
    """The skimage.data photo `name` as (3, H, W) float in [0, 1]; gray photos are repeated on 3 channels.
    size: resize (bilinear, antialiased) so that the image is size x size."""
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; allowed: {', '.join(PHOTOS)}")
    try:
        import skimage.data
    except ImportError as e:  # pragma: no cover - skimage is a dependency of the course
        raise ImportError("photo() needs scikit-image: pip install scikit-image") from e
    img = torch.from_numpy(getattr(skimage.data, name)().copy())
    img = img.float() / 255.0 if img.dtype == torch.uint8 else img.float()
    if img.dim() == 2:
        img = img[None].expand(3, -1, -1)                                             # (3, H, W)
    else:
        img = img[..., :3].permute(2, 0, 1)                                           # (H, W, C) -> (3, H, W)
    img = img.contiguous()
    if size is not None:
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size {size!r} must be a positive int")
        img = F.interpolate(img[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
        img = img.clamp(0, 1)
    return img
