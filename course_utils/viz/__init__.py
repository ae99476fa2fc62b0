"""Static plots and the widgets built on them; importing this package applies the course's figure style."""
from .plots import attention_overlay, embedding_plot, show_images, show_scene, similarity_matrix, to_hwc
from .style import MAX_WIDTH, apply, world_color, world_palette
from .widgets import interactive_plot

apply()

__all__ = [
    "MAX_WIDTH", "apply", "attention_overlay", "embedding_plot", "interactive_plot", "show_images", "show_scene",
    "similarity_matrix", "to_hwc", "world_color", "world_palette",
]
