"""Image completion with a pretrained generator: find the z whose G(z) matches the visible pixels.

A mask ``m`` (1 = visible, 0 = hidden; ``[H, W, 1]``) hides part of an image ``x``. We search
the latent space of a trained generator ``G`` (Yeh et al. 2017, "semantic inpainting"):

    z* = argmin_z  sum_p m_p (G(z)_p - x_p)^2  +  prior * ||z||^2

The first term asks G(z) to agree with what we can see; the second is ``-log N(z; 0, I)`` up to
scale (``prior = 1/2`` is the exact Gaussian log-density with unit pixel noise) and keeps z where
the generator was trained. The loss is not convex, so several random starts ("restarts") run at
once as one batch, and for each image the restart with the lowest *visible* error wins. The
completed image keeps the visible pixels and takes the hidden ones from ``G(z*)``.

Quality is measured on the hidden pixels only, against the truth (:func:`fill_report`): MSE and
PSNR ``= 10 log10(range^2 / MSE)`` (:mod:`ganlab.tasks.image_metrics`). Baselines: ``mean_fill``
(hidden pixels from the average training image) and ``nearest_fill`` (from the training image
closest on the visible pixels). The mask editor widget is :mod:`ganlab.ui.mask_editor`.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ganlab.core.validate import count, finite
from ganlab.tasks.image_metrics import mse, psnr
from ganlab.tasks.inputs import image_batch

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


# -- checks at the door ---------------------------------------------------------------------------
def check_mask(mask, images_shape: tuple[int, int, int, int]) -> np.ndarray:
    """``mask`` as float32 ``[H, W, 1]`` (every image) or ``[B, H, W, 1]`` (per image) for
    ``images`` of shape ``[B, H, W, C]``; every entry 1 (visible) or 0 (hidden)."""
    b, h, w, _ = images_shape
    values = np.asarray(mask)
    if values.shape not in ((h, w, 1), (b, h, w, 1)):
        fix = ("; add the channel axis with mask[..., None]"
               if values.ndim in (2, 3) and values.shape[-2:] == (h, w) else "")
        raise ValueError(f"mask must have shape [{h}, {w}, 1] (one for every image) or "
                         f"[{b}, {h}, {w}, 1] (one per image) to match images "
                         f"{tuple(images_shape)} (got {values.shape}){fix}")
    if values.dtype.kind not in "biuf":
        raise ValueError(f"mask must be numeric, 1 = visible and 0 = hidden "
                         f"(got dtype {values.dtype})")
    bad = (values != 0) & (values != 1)  # NaN is neither
    if bad.any():
        where = np.argwhere(bad)[:3]
        shown = ", ".join(f"{tuple(int(i) for i in w)}={values[tuple(w)]}" for w in where)
        n = int(bad.sum())
        raise ValueError(f"mask must be 1 (visible) or 0 (hidden) everywhere (got {n} other "
                         f"value{'s' if n > 1 else ''}, at {shown}); threshold a soft mask "
                         "with (mask > 0.5).astype(np.float32)")
    return values.astype(np.float32)


def check_labels(labels, batch: int, n_classes: int) -> np.ndarray | None:
    """``labels`` as int32 ``[B]`` in ``[0, n_classes)`` for a conditional generator; None for
    an unconditional one (``n_classes == 0``)."""
    if not n_classes:
        if labels is not None:
            raise ValueError(f"labels must be None: this generator is unconditional "
                             f"(n_classes=0) (got labels of shape {np.shape(labels)})")
        return None
    if labels is None:
        raise ValueError(f"this generator is conditional: pass labels [B] = [{batch}] "
                         f"(one class in [0, {n_classes}) per image)")
    values = np.asarray(labels)
    if values.shape != (batch,):
        raise ValueError(f"labels must have shape [{batch}], one class per image "
                         f"(got {values.shape})")
    if values.dtype.kind not in "iu":
        raise ValueError(f"labels must be whole class numbers in [0, {n_classes}) "
                         f"(got dtype {values.dtype})")
    bad = (values < 0) | (values >= n_classes)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"labels must be in [0, {n_classes}) for this generator's "
                         f"{n_classes} classes (got {values[i]} at index {i})")
    return values.astype(np.int32)


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
      images: ``[B, H, W, C]``, the generator's image shape, in [-1, 1], finite (hidden
        pixels too: a NaN anywhere would spread through the loss).
      mask: ``[H, W, 1]`` for every image or ``[B, H, W, 1]`` per image; 1 = visible, 0 =
        hidden, nothing in between.
      labels: class labels ``[B]`` in ``[0, n_classes)`` for a conditional generator (else
        None).
      restarts: random starting points per image, optimised together (the best one is kept).
      steps: Adam steps on z with learning rate ``lr``.
      prior: weight of ``||z||^2`` (Gaussian prior on z; 0 = none).
      seed: seeds the starting z (same seed, same result).

    With InfoGAN codes (``run.config.codes``) each restart keeps the one-hot code it drew and
    the search moves only the noise entries of z. Bad arguments raise a ``ValueError`` naming
    the argument and the fix.
    """
    restarts, steps = count("restarts", restarts, 1), count("steps", steps, 0)
    if not lr > 0 or not prior >= 0:
        raise ValueError(f"lr must be > 0 and prior >= 0 (got lr={lr}, prior={prior})")
    shape = tuple(run.gan.data.shape)
    if len(shape) != 3:
        raise ValueError(f"complete needs an image generator (this one makes data of shape "
                         f"{shape})")
    images = jnp.asarray(image_batch("images", images, shape, whose=" for this generator"))
    batch = images.shape[0]
    mask = jnp.broadcast_to(jnp.asarray(check_mask(mask, images.shape)), images.shape[:3] + (1,))
    labels = check_labels(labels, batch, run.config.n_classes)
    if labels is not None:
        labels = jnp.repeat(jnp.asarray(labels), restarts)
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
    images = image_batch("images", images, in_range=False)
    mask = np.broadcast_to(check_mask(mask, images.shape), images.shape[:3] + (1,))
    mean_image = finite("mean_image", mean_image)
    if mean_image.shape != images.shape[1:]:
        raise ValueError(f"mean_image must have one image's shape {list(images.shape[1:])} "
                         f"(got {mean_image.shape}), e.g. train_set.images.mean(0)")
    return np.where(mask > 0, images, mean_image.astype(np.float32)[None])


def nearest_fill(images, mask, references, chunk: int = 10000) -> np.ndarray:
    """Hidden pixels from the reference image closest to each image on its visible pixels.

    Distance ``sum_p m_p (x_p - r_p)^2 = m.x^2 - 2 (m x).r + m.r^2``, computed as matrix
    products over the references ``[N, H, W, C]`` in chunks.
    """
    chunk = count("chunk", chunk, 1)
    images = image_batch("images", images, in_range=False)
    mask = np.broadcast_to(check_mask(mask, images.shape), images.shape[:3] + (1,))
    references = image_batch("references", references, images.shape[1:], in_range=False,
                             whose=" (the images' shape)")
    weight = np.broadcast_to(mask, images.shape).reshape(len(images), -1)
    x = images.reshape(len(images), -1)
    refs = references.reshape(len(references), -1)
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
    """MSE and PSNR on the hidden pixels (mean over images) of each named completion.

    ``truth`` ``[B, H, W, C]`` in [-1, 1] (the PSNR's range is 2); each completion the same shape.
    """
    truth = image_batch("truth", truth)
    hidden = 1 - np.broadcast_to(check_mask(mask, truth.shape), truth.shape[:3] + (1,))
    if not completions:
        raise ValueError("fill_report needs at least one completion to measure, e.g. "
                         "fill_report(truth, mask, gan=result.completed)")
    for name, filled in completions.items():
        if np.shape(filled) != truth.shape:
            raise ValueError(f"completion {name!r} must have the shape of truth {truth.shape} "
                             f"(got {np.shape(filled)})")
        finite(f"completion {name!r}", filled)
    return {name: {"mse": float(mse(filled, truth, hidden).mean()),
                   "psnr": float(psnr(filled, truth, hidden).mean())}
            for name, filled in completions.items()}
