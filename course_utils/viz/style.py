"""One look for every figure of the course: readable when projected, the world's colors drawn in their own colors.

Importing ``course_utils.viz`` applies ``STYLE`` (fonts of at least 10 pt, 100 dpi). A figure is shown at its natural
size up to the width of a notebook cell (about 1000 px), so keep figures at most ``MAX_WIDTH`` inches wide or their
fonts shrink below 10 pt on screen.
"""
from __future__ import annotations

import matplotlib as mpl

from ..data import COLOR_RGB, COLORS

MAX_WIDTH = 10.0  # inches at 100 dpi = 1000 px, about the width of a JupyterLab cell
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "figure.titlesize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
}

# The world's colors as drawn on a white figure: its own RGB, except yellow, darkened a little so that lines and
# markers stay visible on white (it is still unmistakably yellow, never brown).
_ON_WHITE = {**COLOR_RGB, "yellow": (0.93, 0.80, 0.0)}


def apply() -> None:
    """Set the course's matplotlib defaults (called on import of ``course_utils.viz``)."""
    mpl.rcParams.update(STYLE)


def world_color(name: str) -> tuple[float, float, float]:
    """The RGB color to draw the world's color ``name`` with ('red', 'yellow', …), the same in every figure."""
    if name not in _ON_WHITE:
        raise ValueError(f"unknown world color {name!r}; the world's colors are {', '.join(COLORS)}")
    return _ON_WHITE[name]


def world_palette() -> dict[str, tuple[float, float, float]]:
    """{color name: RGB} for every color of the world, in the world's order."""
    return {c: world_color(c) for c in COLORS}
