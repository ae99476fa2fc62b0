"""Static plots and the widgets built on them."""
from .plots import attention_overlay, embedding_plot, show_images, show_scene, similarity_matrix, to_hwc
from .widgets import interactive_plot

__all__ = [
    "attention_overlay", "embedding_plot", "interactive_plot", "show_images", "show_scene", "similarity_matrix",
    "to_hwc",
]
