"""Draw a sketch, see the picture: a live pix2pix pad (your sketch | its translation).

    pad = SketchPad(load_pretrained_translator("sketch2mnist"), images=test.images[:20])
    pad.widget          # display it, then draw on the left with the mouse

Drag on the sketch to draw 1-pixel lines (right button, or the "eraser" mode, rubs out), pick a
test image to start from its sketch, "clear" for a blank page. The translation on the right is
``translator.translate(pad.sketch[None])[0]`` (:mod:`ganlab.tasks.translation`), redone after
every change. From Python: ``pad.stroke(points)``, ``pad.clear()``, ``pad.show(i)``.

The sketch is an ipympl canvas made explicitly, so the mouse works whatever the notebook's
matplotlib backend is; the translation is an ``ipywidgets.Image`` of one PNG pixel per image
pixel, enlarged by the browser (a second panel in the same figure, with titles, took 3x as
long to draw: ``bench/bench_sketch_pad.py``). A mouse event only edits the sketch and asks the
browser for a frame (``draw_idle``); the browser asks back once it has shown the previous frame,
and only then does the pad translate the *latest* sketch and draw. A fast drag therefore costs
one translation per frame the browser can show, not one per mouse event.
"""

from __future__ import annotations

import io
import time

import ipywidgets as widgets
import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from ganlab.core.validate import count
from ganlab.tasks.inputs import image_batch
from ganlab.tasks.translation import Translator
from ganlab.ui.sampling_widgets import PIXELATED, pixel_style


def line_pixels(points, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the pixels on the polyline through ``points`` ``[n, 2]`` (row, col
    floats), clipped to ``shape``: each segment is sampled at most one pixel apart along its
    longer axis and rounded half up, so the line is 8-connected and one pixel wide."""
    points = np.asarray(points, np.float64).reshape(-1, 2)
    pieces = [points[:1]] if len(points) == 1 else []
    for start, end in zip(points[:-1], points[1:]):
        n = int(np.ceil(np.abs(end - start).max())) + 1
        pieces.append(start + np.linspace(0, 1, n)[:, None] * (end - start))
    pixels = np.floor(np.concatenate(pieces) + 0.5).astype(int)
    rows = np.clip(pixels[:, 0], 0, shape[0] - 1)
    return rows, np.clip(pixels[:, 1], 0, shape[1] - 1)


class SketchPad:
    """A sketch you draw with the mouse and its live translation by ``translator``.

    Args:
        translator: a :class:`ganlab.tasks.translation.Translator`.
        images: optional test images ``[N, H, W, C]`` in [-1, 1] of the translator's shape; a
            slider picks one and the pad starts from its sketch (``translator.sketch``).
        index: the image shown first.
        eraser: the eraser's width in pixels (odd; the pen is always 1 pixel).
        scale: screen pixels per image pixel.
    """

    def __init__(self, translator, images=None, *, index: int = 0, eraser: int = 3,
                 scale: int = 9):
        if not isinstance(translator, Translator):
            raise ValueError("translator must be a ganlab Translator, e.g. translation."
                             "load_pretrained_translator('sketch2mnist') (got "
                             f"{type(translator).__name__})")
        if count("eraser", eraser, 1, "; an odd width in pixels such as 3") % 2 == 0:
            raise ValueError(f"eraser must be an odd width in pixels (got {eraser}); try 3")
        count("scale", scale, 1, "; screen pixels per image pixel, e.g. 9")
        self.translator, self.eraser = translator, eraser
        self.images = self.sketches = None
        if images is not None:
            self.images = image_batch("images", images, translator.shape,
                                      whose=f" for this {translator.config.data} translator")
            self.sketches = translator.sketch(self.images)  # [N, H, W, 1]
        h, w, _ = translator.shape
        self._sketch = np.full((h, w, 1), -1.0, np.float32)  # [H, W, 1], +1 lines on -1
        self._output, self._pressed, self._erasing, self._last = None, False, False, None
        self.last_redraw_ms, self.redraws = float("nan"), 0

        self.mode = widgets.ToggleButtons(options=["pen", "eraser"], description="draw with")
        self.clear_button = widgets.Button(description="clear", icon="eraser")
        self.reset_button = widgets.Button(description="reset to image", icon="undo",
                                           disabled=images is None)
        self.clear_button.on_click(lambda _: self.clear())
        self.reset_button.on_click(lambda _: self.show(self.picker.value))
        last = 0 if images is None else len(self.images) - 1
        self.picker = widgets.IntSlider(0, 0, last, description="test image",
                                        disabled=images is None)
        self.picker.observe(lambda change: self.show(change.new), "value")
        self.image = widgets.Image(format="png", width=str(w * scale), height=str(h * scale))
        self.image.add_class(PIXELATED)
        self._build_canvas(scale)
        label = lambda text: widgets.HTML(f"<b>{text}</b>")  # noqa: E731
        self.widget = widgets.VBox([
            pixel_style(), widgets.HBox([self.mode, self.clear_button, self.reset_button]),
            self.picker, widgets.HBox([widgets.VBox([label("your sketch"), self.canvas]),
                                       widgets.VBox([label("translation"), self.image])])])
        if images is None:
            self.redraw()
        else:
            self.show(index)

    def _build_canvas(self, scale: int) -> None:
        """The sketch: one image artist filling an ipympl canvas (no header, toolbar, footer)."""
        from ipympl.backend_nbagg import new_figure_manager_given_figure
        from matplotlib.figure import Figure

        h, w, _ = self.translator.shape
        with matplotlib.rc_context({"interactive": False}):  # not queued for plt.show()
            fig = Figure(figsize=(w * scale / 72, h * scale / 72), dpi=72)
            self.ax = fig.add_axes((0, 0, 1, 1))
            self.ax.set_axis_off()
            self._sketch_artist = self.ax.imshow(self._sketch[..., 0], cmap="gray", vmin=-1,
                                                 vmax=1, interpolation="nearest")
            self.canvas = new_figure_manager_given_figure(id(self), fig).canvas
        self.canvas.header_visible = self.canvas.footer_visible = False
        self.canvas.toolbar_visible = self.canvas.resizable = False
        for event in ("button_press_event", "motion_notify_event", "button_release_event"):
            self.canvas.mpl_connect(event, self.on_mouse)
        # The browser asks for a frame (after draw_idle) only when it has shown the last one:
        # that is when to translate, and only the latest sketch.
        self.canvas.handle_draw = lambda event: self.redraw()

    # -- the sketch ---------------------------------------------------------------------------
    @property
    def sketch(self) -> np.ndarray:
        """The current sketch ``[H, W, 1]``: +1 lines on a -1 background."""
        return self._sketch.copy()

    @property
    def output(self) -> np.ndarray:
        """The translation of the current sketch ``[H, W, C]`` in [-1, 1]."""
        if self._output is None:  # mouse edits not drawn yet
            self._output = self.translator.translate(self._sketch[None])[0]
        return self._output.copy()

    def _draw_line(self, points, erase: bool) -> None:
        rows, cols = line_pixels(points, self._sketch.shape[:2])
        if erase:
            h, w, _ = self._sketch.shape
            for dr in range(-(self.eraser // 2), self.eraser // 2 + 1):
                for dc in range(-(self.eraser // 2), self.eraser // 2 + 1):
                    self._sketch[np.clip(rows + dr, 0, h - 1), np.clip(cols + dc, 0, w - 1)] = -1
        else:
            self._sketch[rows, cols] = 1.0
        self._output = None

    def stroke(self, points, erase: bool = False) -> None:
        """Draw (or with ``erase`` rub out) the line through ``points`` ``[n, 2]`` (row, col),
        as a mouse drag through them does, and redraw."""
        self._draw_line(points, erase)
        self.redraw()

    def clear(self) -> None:
        """A blank page."""
        self._sketch[:] = -1.0
        self._output = None
        self.redraw()

    def show(self, index: int) -> None:
        """Start again from the sketch of ``images[index]``."""
        if self.sketches is None:
            raise ValueError("this pad has no images; make it with SketchPad(translator, images)")
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) \
                or not 0 <= index < len(self.sketches):
            raise ValueError(f"index must be in [0, {len(self.sketches) - 1}] (got {index!r})")
        if self.picker.value != index:
            self.picker.value = int(index)  # its observer comes back here
            return
        self._sketch[:] = self.sketches[index]
        self._output = None
        self.redraw()

    # -- mouse and drawing --------------------------------------------------------------------
    def on_mouse(self, event) -> None:
        """Press and drag draw (right button or eraser mode: erase) between successive mouse
        positions; the frame is requested with ``draw_idle`` (coalesced by the browser)."""
        if event.name == "button_release_event":
            self._pressed, self._last = False, None
            return
        if event.name == "button_press_event":
            self._pressed, self._last = True, None
            self._erasing = event.button == 3 or self.mode.value == "eraser"
        elif not self._pressed:
            return
        elif getattr(event, "buttons", None) is not None and not event.buttons:
            self._pressed, self._last = False, None  # released outside the canvas
            return
        if event.inaxes is not self.ax or event.xdata is None or event.ydata is None:
            self._last = None  # left the sketch: do not join across the outside
            return
        point = (event.ydata, event.xdata)
        self._draw_line([point] if self._last is None else [self._last, point], self._erasing)
        self._last = point
        self.canvas.draw_idle()

    def redraw(self) -> None:
        """Translate the sketch, update both pictures and draw the canvas; times it all."""
        start = time.perf_counter()
        output = self.output
        self._sketch_artist.set_data(self._sketch[..., 0])
        pixels = np.round((np.clip(output, -1, 1) + 1) * 127.5).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(
            buffer, format="PNG", compress_level=1)
        self.image.value = buffer.getvalue()
        if self.canvas.syncing_data_url:  # no page has set the canvas up yet: render only.
            # Sending now would store a bare base64 PNG as its data URL (ipympl 0.10), which
            # breaks the page's canvas (a 0x0 canvas, "drawImage ... 'broken' state").
            FigureCanvasAgg.draw(self.canvas)
        else:
            self.canvas.draw()  # render, send the diff PNG
        self.last_redraw_ms = 1e3 * (time.perf_counter() - start)
        self.redraws += 1
