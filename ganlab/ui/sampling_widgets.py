"""One-cell apps for a trained image generator: latent explorer, interpolation, class picker.

Each app is a class holding its controls (ipywidgets) and an ``image`` (``ipywidgets.Image``,
PNG bytes of the current grid); ``app.widget`` is what a notebook cell displays. Every control
calls ``app.redraw()``, which runs one jit-compiled generator call (see
:class:`ganlab.tasks.sampling.LatentGrid`) and encodes the grid as PNG. Tests and benchmarks drive
the apps from Python by setting ``control.value``.

    explorer = latent_explorer("mnist")          # a pretrained name, or a Run
    explorer.widget                              # display it
"""

from __future__ import annotations

import io

import ipywidgets as widgets
import jax
import numpy as np

from ganlab.core import engine
from ganlab.core.validate import count
from ganlab.tasks.sampling import LatentGrid, generator_fn, latent_directions, lerp, slerp
from ganlab.ui.plots import image_grid


def _run(run_or_name):
    if isinstance(run_or_name, str):
        from ganlab.core.pretrained import open_run

        return open_run(run_or_name)
    return run_or_name


def _grid_png(grid: np.ndarray) -> bytes:
    """A grid from :func:`ganlab.ui.plots.image_grid` (values in [0, 1]) as PNG, 1:1 pixels."""
    from PIL import Image

    grid = (grid * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(
        buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


PIXELATED = "ganlab-pixelated"
"""CSS class of the apps' pictures: the browser enlarges them with crisp pixels."""


def pixel_image() -> widgets.Image:
    """An empty picture widget for :func:`draw`."""
    image = widgets.Image(format="png")
    image.add_class(PIXELATED)
    return image


def pixel_style() -> widgets.HTML:
    """The style sheet that makes :func:`pixel_image` pictures enlarge without blurring."""
    return widgets.HTML(f"<style>.{PIXELATED} {{image-rendering: pixelated;}}</style>")


def draw(image: widgets.Image, images, ncols: int | None = None, scale: int = 3) -> None:
    """Show ``images`` in ``image`` as one grid: the PNG holds one pixel per image pixel (small,
    quick to encode and send) and the browser draws it ``scale`` times larger."""
    grid = image_grid(images, ncols)
    image.width = str(grid.shape[1] * scale)
    image.value = _grid_png(grid)


def _scale(run) -> int:
    return max(1, 96 // run.gan.data.shape[0])  # 8x8 digits drawn larger than 28x28 MNIST


class LatentExplorer:
    """A grid of ``n`` samples redrawn from seed, latent-direction sliders and truncation.

    The directions are the top principal latent directions of the generator
    (:func:`ganlab.tasks.sampling.latent_directions`): moving slider ``i`` adds ``a_i v_i`` to
    every z.
    """

    def __init__(self, run, n: int = 64, n_directions: int = 3, max_offset: float = 3.0):
        self.run = _run(run)
        config = self.run.config
        labels = (np.arange(32) % config.n_classes) if config.n_classes else None
        self.found = latent_directions(generator_fn(self.run), config.latent_dim,
                                       n_directions, n=32, key=0, labels=labels,
                                       codes=config.codes)
        self.grid = LatentGrid(self.run, n, self.found.vectors)
        self.seed = widgets.IntSlider(0, min=0, max=999, description="seed")
        self.seed.add_class("ganlab-redraws")  # the browser test moves it, expects a new grid
        self.offsets = [
            widgets.FloatSlider(0.0, min=-max_offset, max=max_offset, step=0.1,
                                description=f"direction {i + 1}")
            for i in range(n_directions)
        ]
        self.truncation = widgets.FloatSlider(1.0, min=0.0, max=1.0, step=0.05,
                                              description="truncation psi")
        self.image = pixel_image()
        for control in (self.seed, self.truncation, *self.offsets):
            control.observe(lambda _: self.redraw(), names="value")
        help_text = widgets.HTML(
            "<b>seed</b>: which z; <b>direction i</b>: move every z along the i-th direction "
            "that changes the images most; <b>truncation psi</b>: z &rarr; psi z "
            "(lower: more typical, less varied)")
        self.widget = widgets.VBox([help_text, self.seed, *self.offsets, self.truncation,
                                    self.image, pixel_style()])
        self.redraw()

    def images(self) -> np.ndarray:
        """The grid for the current control values, ``[n, H, W, C]``."""
        return self.grid.images(self.seed.value, [s.value for s in self.offsets],
                                self.truncation.value)

    def redraw(self) -> None:
        draw(self.image, self.images(), scale=_scale(self.run))


class Interpolation:
    """Two samples (seeds ``a`` and ``b``) and a slider ``t`` walking from one to the other.

    Shows ``[G(z_a), G(z(t)), G(z_b)]`` with ``z(t)`` linear or spherical
    (:func:`ganlab.tasks.sampling.lerp` / :func:`ganlab.tasks.sampling.slerp`), then the whole
    path in ``steps`` frames with the current one marked by its position.
    """

    def __init__(self, run, steps: int = 9, label: int = 0):
        self.run = _run(run)
        config = self.run.config
        steps = count("steps", steps, 3, "; the path shows both ends and the current point")
        self.labels = np.full((steps + 3,), label, np.int32) if config.n_classes else None
        self.steps = steps
        self.seed_a = widgets.IntSlider(0, min=0, max=999, description="sample a")
        self.seed_b = widgets.IntSlider(1, min=0, max=999, description="sample b")
        self.t = widgets.FloatSlider(0.5, min=0.0, max=1.0, step=0.05, description="t")
        self.kind = widgets.ToggleButtons(options=["linear", "spherical"], description="path")
        self.image = pixel_image()
        self._path = jax.jit(self._frames, static_argnums=3)
        for control in (self.seed_a, self.seed_b, self.t, self.kind):
            control.observe(lambda _: self.redraw(), names="value")
        help_text = widgets.HTML(
            "<b>sample a / b</b>: the two end points (seeds); <b>t</b>: where on the path; "
            "<b>path</b>: straight line or great circle. Top: a, z(t), b; bottom: the path.")
        self.widget = widgets.VBox([help_text, self.seed_a, self.seed_b, self.t, self.kind,
                                    self.image, pixel_style()])
        self.redraw()

    def latent(self, seed: int) -> jax.Array:
        """The latent ``[d]`` of sample ``seed``."""
        return self.run.gan.latent(jax.random.key(seed), 1)[0]

    def _frames(self, params, za, zb, kind, t):
        path = slerp if kind == "spherical" else lerp
        ts = np.linspace(0.0, 1.0, self.steps, dtype=np.float32)
        z = path(za, zb, jax.numpy.concatenate([jax.numpy.stack([0.0, t, 1.0]), ts]))
        return engine.generate(self.run.gan.spec, params, z, self.labels)

    def images(self) -> np.ndarray:
        """``[3 + steps, H, W, C]``: a, z(t), b, then the path."""
        za, zb = self.latent(self.seed_a.value), self.latent(self.seed_b.value)
        params = self.run.gan.sampling_params(self.run.state)
        return np.asarray(self._path(params, za, zb, self.kind.value,
                                     jax.numpy.float32(self.t.value)))

    def redraw(self) -> None:
        images = self.images()
        blank = np.ones((self.steps - 3, *images.shape[1:]), np.float32)  # pads the first row
        rows = np.concatenate([images[:3], blank, images[3:]])
        draw(self.image, rows, ncols=self.steps, scale=_scale(self.run))


class ClassPicker:
    """A class-conditional generator's samples of one chosen class, redrawn on each pick."""

    def __init__(self, run, n: int = 64, class_names: tuple[str, ...] | None = None):
        self.run = _run(run)
        config = self.run.config
        if not config.n_classes:
            raise ValueError(f"the class picker needs a conditional generator (n_classes > 0); "
                             f"this run has n_classes={config.n_classes}: try "
                             "'mnist_conditional'")
        names = class_names or getattr(self.run.gan.data, "class_names", None)
        names = names or tuple(str(i) for i in range(config.n_classes))
        self.grid = LatentGrid(self.run, n)
        self.label = widgets.Dropdown(options=[(name, i) for i, name in enumerate(names)],
                                      value=0, description="class")
        self.seed = widgets.IntSlider(0, min=0, max=999, description="seed")
        self.seed.add_class("ganlab-redraws")  # the browser test moves it, expects a new grid
        self.image = pixel_image()
        for control in (self.label, self.seed):
            control.observe(lambda _: self.redraw(), names="value")
        self.widget = widgets.VBox([
            widgets.HTML("<b>class</b>: the label fed to the generator; <b>seed</b>: which z"),
            self.label, self.seed, self.image, pixel_style()])
        self.redraw()

    def images(self) -> np.ndarray:
        return self.grid.images(self.seed.value, label=self.label.value)

    def redraw(self) -> None:
        draw(self.image, self.images(), scale=_scale(self.run))


def latent_explorer(run, n: int = 64, n_directions: int = 3) -> LatentExplorer:
    """A :class:`LatentExplorer` of ``run`` (a Run or a pretrained name, e.g. ``"mnist"``)."""
    return LatentExplorer(run, n, n_directions)


def interpolation(run, steps: int = 9, label: int = 0) -> Interpolation:
    """An :class:`Interpolation` app of ``run`` (a Run or a pretrained name)."""
    return Interpolation(run, steps, label)


def class_picker(run, n: int = 64) -> ClassPicker:
    """A :class:`ClassPicker` of a conditional ``run`` (e.g. ``"mnist_conditional"``)."""
    return ClassPicker(run, n)
