"""A widget to choose which pixels to hide for image completion: a preset mask or one drawn.

    editor = MaskEditor(image, on_complete=lambda mask: ...)   # image [H, W, 1] in [-1, 1]
    editor.widget                                              # display it

The masks themselves (and the completion they feed) are :mod:`ganlab.tasks.completion`'s:
``make_mask`` for the presets and ``paint`` for the brush.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from ganlab.tasks.completion import MASKS, make_mask, paint


class MaskEditor:
    """Choose a mask for ``image`` ``[H, W, 1]``: a preset (``kind`` + ``size``) or drawn.

    ``editor.widget`` shows buttons for the kind, a slider for the hidden fraction, a brush size,
    "clear" and "complete" buttons, and the image with hidden pixels in red. With kind "drawn",
    clicking or dragging on the image hides pixels (under ``%matplotlib widget``); from Python,
    ``editor.paint(row, col)`` does the same. ``editor.mask`` is the current mask; pressing
    "complete" calls ``on_complete(mask)``.
    """

    def __init__(self, image, on_complete: Callable[[np.ndarray], None] | None = None,
                 kind: str = "centre", size: float = 0.4):
        self.image = np.asarray(image, np.float32)
        if self.image.ndim != 3:
            raise ValueError(f"image must have shape [H, W, C] (got {self.image.shape})")
        self.on_complete = on_complete
        self.drawn = np.ones(self.image.shape[:2] + (1,), np.float32)
        self.kind = widgets.ToggleButtons(options=[*MASKS, "drawn"], value=kind,
                                          description="mask")
        self.size = widgets.FloatSlider(value=size, min=0.0, max=1.0, step=0.05,
                                        description="hidden")
        self.brush = widgets.FloatSlider(value=1.5, min=0.5, max=5.0, step=0.5,
                                         description="brush")
        self.clear = widgets.Button(description="clear drawing")
        self.run_button = widgets.Button(description="complete", button_style="primary")
        self.clear.on_click(lambda _: self.reset())
        self.run_button.on_click(lambda _: self.on_complete and self.on_complete(self.mask))
        for control in (self.kind, self.size):
            control.observe(lambda _: self._redraw(), "value")
        with plt.ioff():
            self.figure, self.ax = plt.subplots(figsize=(2.6, 2.6))
        self.ax.set_axis_off()
        self.artist = self.ax.imshow(self._picture(), vmin=0, vmax=1)
        self.ax.set_title("hidden pixels in red", fontsize=9)
        self.figure.canvas.mpl_connect("button_press_event", self._on_mouse)
        self.figure.canvas.mpl_connect("motion_notify_event", self._on_mouse)
        canvas = self.figure.canvas
        self.view = canvas if isinstance(canvas, widgets.DOMWidget) else widgets.Output()
        self.widget = widgets.VBox([self.kind, widgets.HBox([self.size, self.brush]),
                                    widgets.HBox([self.clear, self.run_button]), self.view])
        self._redraw()

    @property
    def mask(self) -> np.ndarray:
        """The current mask ``[H, W, 1]`` (1 = visible)."""
        if self.kind.value == "drawn":
            return self.drawn.copy()
        return make_mask(self.kind.value, self.image.shape[:2], size=self.size.value)

    def paint(self, row: float, col: float) -> None:
        """Hide the pixels within the brush radius of ``(row, col)``; switches to "drawn"."""
        self.drawn = paint(self.drawn, row, col, self.brush.value)
        if self.kind.value != "drawn":
            self.kind.value = "drawn"  # redraws
        else:
            self._redraw()

    def reset(self) -> None:
        """Forget the drawing (everything visible)."""
        self.drawn = np.ones_like(self.drawn)
        self._redraw()

    def _on_mouse(self, event) -> None:
        if event.inaxes is self.ax and event.button is not None and event.xdata is not None:
            self.paint(event.ydata, event.xdata)

    def _picture(self) -> np.ndarray:
        grey = np.repeat((np.clip(self.image, -1, 1) + 1) / 2, 3, axis=-1)
        hidden = self.mask[..., 0] == 0
        grey[hidden] = 0.5 * grey[hidden] + 0.5 * np.array([1.0, 0.0, 0.0])
        return grey

    def _redraw(self) -> None:
        self.artist.set_data(self._picture())
        if self.view is self.figure.canvas:
            self.figure.canvas.draw_idle()
        else:
            from IPython.display import display

            self.view.clear_output(wait=True)
            with self.view:
                display(self.figure)
