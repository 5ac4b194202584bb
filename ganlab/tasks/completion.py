"""Image completion with a pretrained generator: find the z whose G(z) matches the visible pixels.

A mask ``m`` (1 = visible, 0 = hidden; ``[H, W, 1]``) hides part of an image ``x``. We search
the latent space of a trained generator ``G`` (Yeh et al. 2017, "semantic inpainting"):

    z* = argmin_z  sum_p m_p (G(z)_p - x_p)^2  +  prior * ||z||^2

The first term asks G(z) to agree with what we can see; the second is ``-log N(z; 0, I)`` up to
scale (``prior = 1/2`` is the exact Gaussian log-density with unit pixel noise) and keeps z where
the generator was trained. The loss is not convex, so several random starts ("restarts") run at
once as one batch, and for each image the restart with the lowest *visible* error wins. The
completed image keeps the visible pixels and takes the hidden ones from ``G(z*)``.

Quality is measured on the hidden pixels only, against the truth: ``mse`` and ``psnr``
``= 10 log10(range^2 / mse)`` with range 2 for images in [-1, 1]. Baselines: ``mean_fill``
(hidden pixels from the average training image) and ``nearest_fill`` (from the training image
closest on the visible pixels).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax

MASKS = ("centre", "left", "right", "top", "bottom", "random")


# -- masks -----------------------------------------------------------------------------------------
def make_mask(kind: str, shape: tuple[int, int] = (28, 28), *, size: float = 0.5,
              seed: int = 0) -> np.ndarray:
    """A mask ``[H, W, 1]`` float32, 1 = visible, 0 = hidden.

    ``kind``: ``"centre"`` hides a centred square of side ``round(size * H)``; ``"left"``,
    ``"right"``, ``"top"``, ``"bottom"`` hide that ``size`` fraction of columns / rows;
    ``"random"`` hides each pixel with probability ``size`` (from ``seed``).
    """
    if kind not in MASKS:
        raise ValueError(f"mask kind must be one of {list(MASKS)} (got {kind!r})")
    if not 0 <= size <= 1:
        raise ValueError(f"size must be in [0, 1] (got {size}); it is the hidden fraction")
    height, width = shape
    visible = np.ones((height, width), np.float32)
    rows, cols = round(size * height), round(size * width)
    if kind == "centre":
        top, left = (height - rows) // 2, (width - rows) // 2
        visible[top:top + rows, left:left + rows] = 0
    elif kind == "left":
        visible[:, :cols] = 0
    elif kind == "right":
        visible[:, width - cols:] = 0
    elif kind == "top":
        visible[:rows] = 0
    elif kind == "bottom":
        visible[height - rows:] = 0
    else:
        hidden = np.random.default_rng(seed).random((height, width)) < size
        visible[hidden] = 0
    return visible[..., None]


def paint(mask: np.ndarray, row: float, col: float, radius: float = 1.5,
          value: float = 0.0) -> np.ndarray:
    """A copy of ``mask`` with the disc of ``radius`` pixels around ``(row, col)`` set to ``value``.
    """
    mask = np.array(mask, np.float32)
    rr, cc = np.mgrid[:mask.shape[0], :mask.shape[1]]
    mask[(rr - row) ** 2 + (cc - col) ** 2 <= radius**2] = value
    return mask


# -- measures --------------------------------------------------------------------------------------
def _region(a, b, mask):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"images must both be [B, H, W, C] (got {a.shape} and {b.shape})")
    weight = np.ones_like(a) if mask is None else np.broadcast_to(np.asarray(mask, np.float64),
                                                                  a.shape)
    return a, b, weight


def mse(a, b, mask=None) -> np.ndarray:
    """Mean squared error per image ``[B]``, over the pixels where ``mask`` is 1 (all if None)."""
    a, b, weight = _region(a, b, mask)
    counted = weight.sum((1, 2, 3))
    if np.any(counted == 0):
        raise ValueError("mask selects no pixel of some image; nothing to measure")
    return (weight * (a - b) ** 2).sum((1, 2, 3)) / counted


def psnr(a, b, mask=None, data_range: float = 2.0) -> np.ndarray:
    """Peak signal-to-noise ratio per image ``[B]`` in dB: ``10 log10(range^2 / mse)``.

    ``data_range`` is 2 for images in [-1, 1]. A perfect match (mse = 0) gives 100 dB.
    """
    error = np.maximum(mse(a, b, mask), data_range**2 * 1e-10)
    return 10 * np.log10(data_range**2 / error)


# -- the search ------------------------------------------------------------------------------------
def completion_loss(generated: jax.Array, target: jax.Array, mask: jax.Array, z: jax.Array,
                    prior: float) -> jax.Array:
    """``sum_p m_p (G(z)_p - x_p)^2 + prior ||z||^2`` per image: ``[B]`` from ``[B, H, W, C]``."""
    visible = jnp.sum(mask * (generated - target) ** 2, axis=(1, 2, 3))
    return visible + prior * jnp.sum(z**2, axis=-1)


_ADAM = optax.scale_by_adam()


def _step(generate, params, z, opt_state, target, mask, labels, lr, prior, free):
    """One Adam step on the loss summed over images, moving only the entries of z where
    ``free`` is 1; returns each image's visible MSE at z."""
    def loss_fn(z):
        generated = generate(params, z, labels)
        visible = jnp.sum(mask * (generated - target) ** 2, axis=(1, 2, 3))
        return jnp.sum(completion_loss(generated, target, mask, z, prior)), visible

    (_, visible), grads = jax.value_and_grad(loss_fn, has_aux=True)(z)
    updates, opt_state = _ADAM.update(grads, opt_state)
    n_visible = jnp.maximum(jnp.sum(mask, axis=(1, 2, 3)), 1.0)
    return z - lr * free * updates, opt_state, visible / n_visible


_jit_step = jax.jit(_step, static_argnums=0)


@dataclass
class Completion:
    """What :func:`complete` found, for ``B`` images."""

    completed: np.ndarray  # [B, H, W, C]: visible pixels of x, hidden pixels of G(z*)
    generated: np.ndarray  # [B, H, W, C]: G(z*)
    z: np.ndarray  # [B, latent_dim]: the best restart's latent code
    visible_mse: np.ndarray  # [B]: mean squared error of G(z*) on the visible pixels
    history: np.ndarray  # [steps + 1, B]: visible MSE of the best restart after each step


def complete(run, images, mask, *, labels=None, restarts: int = 8, steps: int = 200,
             lr: float = 0.05, prior: float = 0.05, seed: int = 0) -> Completion:
    """Fill the hidden pixels of ``images`` ``[B, H, W, C]`` with a trained generator's help.

    Args:
      run: a trained image GAN (:class:`ganlab.Run`): ``run.gan.generate`` and its parameters.
      images: the images, of the generator's shape, in [-1, 1] (hidden pixels are ignored).
      mask: ``[H, W, 1]`` for every image or ``[B, H, W, 1]`` per image; 1 = visible.
      labels: class labels ``[B]`` for a conditional generator (else None).
      restarts: random starting points per image, optimised together (the best one is kept).
      steps: Adam steps on z with learning rate ``lr``.
      prior: weight of ``||z||^2`` (Gaussian prior on z; 0 = none).
      seed: seeds the starting z (same seed, same result).

    With InfoGAN codes (``run.config.codes``) each restart keeps the one-hot code it drew and
    the search moves only the noise entries of z.
    """
    for name, value, low in (("restarts", restarts, 1), ("steps", steps, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low} (got {value!r})")
    if not lr > 0 or not prior >= 0:
        raise ValueError(f"lr must be > 0 and prior >= 0 (got lr={lr}, prior={prior})")
    images = jnp.asarray(images, jnp.float32)
    shape = tuple(run.gan.data.shape)
    if images.ndim != 4 or images.shape[1:] != shape:
        raise ValueError(f"images must have shape [B, {', '.join(map(str, shape))}] for this "
                         f"generator (got {images.shape})")
    batch = images.shape[0]
    mask = jnp.broadcast_to(jnp.asarray(mask, jnp.float32), images.shape[:3] + (1,))
    if run.config.n_classes and labels is None:
        raise ValueError("this generator is conditional: pass labels [B] (one class per image)")
    if labels is not None:
        labels = jnp.repeat(jnp.asarray(labels, jnp.int32), restarts)
    # Restarts as one batch of B * R: image b's copies are rows b R ... b R + R - 1.
    target = jnp.repeat(images, restarts, axis=0)
    tiled_mask = jnp.repeat(mask, restarts, axis=0)
    z = run.gan.latent(jax.random.key(seed), batch * restarts)
    params = run.gan.sampling_params(run.state)
    opt_state = _ADAM.init(z)
    free = (jnp.arange(z.shape[-1]) >= run.config.codes).astype(z.dtype)[None]  # 0 on code
    generate = run.gan.generate
    history = []
    for _ in range(steps):  # Python loop over one jitted step (convs in a rolled scan are slow)
        z, opt_state, visible = _jit_step(generate, params, z, opt_state, target, tiled_mask,
                                          labels, lr, prior, free)
        history.append(visible)  # the MSE at z before this step's update
    n_visible = np.maximum(np.asarray(tiled_mask).sum((1, 2, 3)), 1.0)
    generated = np.asarray(generate(params, z, labels))
    final = (np.asarray(tiled_mask) * (generated - np.asarray(target)) ** 2).sum((1, 2, 3))
    history.append(final / n_visible)
    per_restart = np.asarray(jnp.stack(history)).reshape(steps + 1, batch, restarts)
    best = per_restart[-1].argmin(-1)  # [B]
    pick = np.arange(batch) * restarts + best
    completed = np.where(np.asarray(mask) > 0, np.asarray(images), generated[pick])
    return Completion(completed, generated[pick], np.asarray(z)[pick],
                      per_restart[-1, np.arange(batch), best], per_restart.min(-1))


# -- baselines -------------------------------------------------------------------------------------
def mean_fill(images, mask, mean_image) -> np.ndarray:
    """Hidden pixels from ``mean_image`` ``[H, W, C]`` (e.g. the training set's mean)."""
    images = np.asarray(images, np.float32)
    mask = np.broadcast_to(np.asarray(mask, np.float32), images.shape[:3] + (1,))
    return np.where(mask > 0, images, np.asarray(mean_image, np.float32)[None])


def nearest_fill(images, mask, references, chunk: int = 10000) -> np.ndarray:
    """Hidden pixels from the reference image closest to each image on its visible pixels.

    Distance ``sum_p m_p (x_p - r_p)^2 = m.x^2 - 2 (m x).r + m.r^2``, computed as matrix
    products over the references ``[N, H, W, C]`` in chunks.
    """
    images = np.asarray(images, np.float32)
    mask = np.broadcast_to(np.asarray(mask, np.float32), images.shape[:3] + (1,))
    weight = np.broadcast_to(mask, images.shape).reshape(len(images), -1)
    x = images.reshape(len(images), -1)
    refs = np.asarray(references, np.float32).reshape(len(references), -1)
    best_d = np.full(len(images), np.inf)
    best_i = np.zeros(len(images), int)
    for start in range(0, len(refs), chunk):
        r = refs[start:start + chunk]
        d = (weight * x**2).sum(1)[:, None] - 2 * (weight * x) @ r.T + weight @ (r**2).T
        i = d.argmin(1)
        better = d[np.arange(len(x)), i] < best_d
        best_d[better], best_i[better] = d[np.arange(len(x)), i][better], start + i[better]
    filled = refs[best_i].reshape(images.shape)
    return np.where(mask > 0, images, filled)


def fill_report(truth, mask, **completions: np.ndarray) -> dict[str, dict[str, float]]:
    """MSE and PSNR on the hidden pixels (mean over images) of each named completion."""
    hidden = 1 - np.broadcast_to(np.asarray(mask, np.float32), np.shape(truth)[:3] + (1,))
    return {name: {"mse": float(mse(filled, truth, hidden).mean()),
                   "psnr": float(psnr(filled, truth, hidden).mean())}
            for name, filled in completions.items()}


# -- the mask widget -------------------------------------------------------------------------------
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
        import ipywidgets as widgets
        import matplotlib.pyplot as plt

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
