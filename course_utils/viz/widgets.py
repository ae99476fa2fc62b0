"""Widgets that redraw a figure when a control changes, and leave a static figure for readers without a kernel."""
from __future__ import annotations

from typing import Callable

import matplotlib.pyplot as plt


def _value(control):
    return control.value if hasattr(control, "value") else control


def interactive_plot(draw: Callable[..., None], static: bool = True, **controls):
    """Show ``draw(**values)`` once as a static figure, then controls and a live output that redraws on change.

    ``controls`` are ipywidgets (sliders, dropdowns, ...) or fixed values. Returns the ``VBox`` so tests can reach
    the controls (``box.children[:-1]``) and the output (``box.children[-1]``).
    """
    import ipywidgets as widgets
    from IPython.display import clear_output, display

    if static:
        draw(**{k: _value(c) for k, c in controls.items()})
        plt.show()
    out = widgets.Output(layout=widgets.Layout(min_height="60px"))
    active = [c for c in controls.values() if isinstance(c, widgets.Widget)]

    def redraw(change=None):
        with out:
            clear_output(wait=True)
            draw(**{k: _value(c) for k, c in controls.items()})
            plt.show()

    for c in active:
        c.observe(redraw, names="value")
    box = widgets.VBox([*active, out])
    display(box)
    if not static:
        redraw()
    return box
