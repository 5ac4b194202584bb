"""Super-resolution with a conditional GAN (SRGAN-style): low-resolution image in, sharp image out.

The low-resolution (LR) image is the high-resolution (HR) one averaged over ``f x f`` blocks
(:func:`downsample`, e.g. 28x28 -> 7x7 for ``f = 4``). The generator predicts a correction to the
bicubic upsampling, ``G(y) = clip(bicubic(y) + R(y), -1, 1)``, where ``R`` is a small conv net
that works at the LR size and upsamples by sub-pixel convolution (conv, then depth-to-space; no
``ConvTranspose``). The discriminator sees the HR image next to ``bicubic(y)`` (a conditional
GAN: it judges "is this a plausible sharp version of *this* LR image?"). The generator minimises

    L_G = w_pix * E|G(y) - x|  +  w_adv * g_loss(D(G(y), y))            (Ledig et al. 2017)

and D minimises ``d_loss`` (``ganlab.core.losses``, non-saturating). ``w_adv = 0`` is plain pixel
regression (SRResNet), the distortion-optimal model; the GAN term pulls outputs towards sharp,
plausible digits at the cost of PSNR (the perception-distortion trade-off, Blau & Michaeli 2018).

This module is what a user of a trained model needs (the networks, :class:`SuperResolution`,
loading and :func:`evaluate`); training and the command line live in
:mod:`ganlab.tasks.superres_training`. The shipped weights
``ganlab/weights/superres_<data>_x<f>[_pixel].npz`` were made with::

    export GANLAB_DATA_DIR=<folder with mnist/ and fashion-mnist/>
    python -m ganlab.tasks.superres_training train mnist --factor 4                 # 1500 steps
    python -m ganlab.tasks.superres_training train mnist --factor 4 --pixel --steps 500
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ganlab.core.data import IMAGE_SHAPES
from ganlab.core.files import WEIGHTS
from ganlab.core.nets import depth_to_space
from ganlab.core.validate import count
from ganlab.tasks.image_metrics import psnr
from ganlab.tasks.inputs import image_batch, shape_hint
from ganlab.tasks.paired import PairedModel

FORMAT = "ganlab-superres-1"


@dataclass(frozen=True)
class SRConfig:
    """One super-resolution model and how it is trained; validated when made."""

    data: str = "mnist"  # the image set: digits, mnist, fashion_mnist
    factor: int = 4  # upscaling factor, 2 or 4 (28 -> 14 -> 7)
    width: int = 32  # conv channels
    steps: int = 1500  # training steps
    batch_size: int = 32
    lr: float = 5e-4  # Adam learning rate of both networks
    pixel_weight: float = 1.0  # w_pix on the L1 pixel loss
    adversarial_weight: float = 0.02  # w_adv on the non-saturating GAN loss; 0 = pixel only
    seed: int = 0

    def __post_init__(self) -> None:
        if self.data not in ("digits", "mnist", "fashion_mnist"):
            raise ValueError(f"data must be one of ['digits', 'mnist', 'fashion_mnist'] "
                             f"(got {self.data!r})")
        if self.factor not in (2, 4):
            raise ValueError(f"factor must be 2 or 4 (got {self.factor!r})")
        for name, low, high in (("width", 1, 1024), ("steps", 0, 10**7),
                                ("batch_size", 1, 1 << 16), ("seed", 0, 2**31 - 1)):
            if count(name, getattr(self, name), low, f"; at most {high}") > high:
                raise ValueError(f"{name} must be in [{low}, {high}] (got {getattr(self, name)})")
        if not 0 < self.lr <= 1:
            raise ValueError(f"lr must be in (0, 1] (got {self.lr}); typical values 1e-4 to 1e-3")
        for name in ("pixel_weight", "adversarial_weight"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0 (got {getattr(self, name)}); 0 = off")

    def replace(self, **changes) -> SRConfig:
        return dataclasses.replace(self, **changes)


# -- images ----------------------------------------------------------------------------------------
def downsample(images, factor: int) -> jax.Array:
    """Box-filter downsampling: the mean of each ``f x f`` block, ``[B,H,W,C] -> [B,H/f,W/f,C]``."""
    factor = count("factor", factor, 1, "; the models here use 2 or 4")
    images = image_batch("images", images, in_range=False)
    _, h, w, _ = images.shape
    if h % factor or w % factor:
        raise ValueError(f"image size {h}x{w} must be divisible by factor {factor}; crop it to "
                         f"{h - h % factor}x{w - w % factor} or pick another factor")
    return _downsample(jnp.asarray(images), factor)


def bicubic(images, factor: int) -> jax.Array:
    """Bicubic upsampling by ``factor`` (``jax.image.resize``) of images in [-1, 1], clipped
    to [-1, 1]."""
    factor = count("factor", factor, 1, "; the models here use 2 or 4")
    return _bicubic(jnp.asarray(image_batch("images", images)), factor)


def _downsample(images: jax.Array, factor: int) -> jax.Array:
    """:func:`downsample` without the checks (traceable: the training step calls it)."""
    b, h, w, c = images.shape
    return images.reshape(b, h // factor, factor, w // factor, factor, c).mean((2, 4))


def _bicubic(images: jax.Array, factor: int) -> jax.Array:
    """:func:`bicubic` without the checks (traceable: the generator calls it)."""
    b, h, w, c = images.shape
    up = jax.image.resize(images, (b, h * factor, w * factor, c), "bicubic")
    return jnp.clip(up, -1.0, 1.0)


# -- networks --------------------------------------------------------------------------------------
class SRGenerator(nnx.Module):
    """LR ``[B, h, w, C]`` -> HR ``[B, f h, f w, C]``: ``clip(bicubic(y) + R(y), -1, 1)``.

    ``R``: conv 3x3 -> a residual block (two convs) -> ``log2 f`` sub-pixel x2 upsamplings ->
    conv 3x3 to ``C`` channels; ReLU in between.
    """

    def __init__(self, factor: int, width: int = 32, channels: int = 1, *, rngs: nnx.Rngs):
        self.factor = factor
        self.head = nnx.Conv(channels, width, (3, 3), rngs=rngs)
        self.block1 = nnx.Conv(width, width, (3, 3), rngs=rngs)
        self.block2 = nnx.Conv(width, width, (3, 3), rngs=rngs)
        self.ups = nnx.List([nnx.Conv(width, 4 * width, (3, 3), rngs=rngs)
                             for _ in range(int(math.log2(factor)))])
        self.tail = nnx.Conv(width, channels, (3, 3), rngs=rngs)

    def __call__(self, lr: jax.Array) -> jax.Array:
        h = jax.nn.relu(self.head(lr))
        h = h + self.block2(jax.nn.relu(self.block1(h)))
        for up in self.ups:
            h = jax.nn.relu(depth_to_space(up(h)))
        return jnp.clip(_bicubic(lr, self.factor) + self.tail(h), -1.0, 1.0)


class SRDiscriminator(nnx.Module):
    """(HR ``[B, H, W, C]``, bicubic(LR) ``[B, H, W, C]``) -> logit ``[B]``.

    The two images are stacked as channels; two stride-2 4x4 convs with leaky ReLU, then linear.
    """

    def __init__(self, image_shape: tuple[int, int, int], width: int = 32, *, rngs: nnx.Rngs):
        height, wide, channels = image_shape
        self.conv1 = nnx.Conv(2 * channels, width, (4, 4), strides=(2, 2), rngs=rngs)
        self.conv2 = nnx.Conv(width, 2 * width, (4, 4), strides=(2, 2), rngs=rngs)
        self.out = nnx.Linear(-(-height // 4) * -(-wide // 4) * 2 * width, 1, rngs=rngs)

    def __call__(self, hr: jax.Array, upsampled: jax.Array) -> jax.Array:
        x = jnp.concatenate([hr, upsampled], -1)
        x = jax.nn.leaky_relu(self.conv1(x), 0.2)
        x = jax.nn.leaky_relu(self.conv2(x), 0.2)
        return self.out(x.reshape(x.shape[0], -1))[:, 0]


# -- the model -------------------------------------------------------------------------------------
class SuperResolution(PairedModel):
    """A trained SR generator: ``model.upscale(lr)`` -> HR images; ``model.save(path)``,
    ``load_superres(path)`` (:class:`~ganlab.tasks.paired.PairedModel`)."""

    FORMAT: ClassVar[str] = FORMAT
    CONFIG: ClassVar[type] = SRConfig

    @staticmethod
    def build(config: SRConfig, key) -> SRGenerator:
        """The untrained generator of ``config``, its weights drawn from ``key``."""
        return SRGenerator(config.factor, config.width, IMAGE_SHAPES[config.data][-1],
                           rngs=nnx.Rngs(params=key))

    @property
    def shape(self) -> tuple[int, int, int]:
        """One HR image's shape ``(H, W, C)``: that of ``config.data``'s images."""
        return IMAGE_SHAPES[self.config.data]

    @property
    def lr_shape(self) -> tuple[int, int, int]:
        """One LR image's shape ``(H / f, W / f, C)``: what :meth:`upscale` takes."""
        h, w, c = self.shape
        return h // self.config.factor, w // self.config.factor, c

    def upscale(self, lr, batch: int = 1000) -> np.ndarray:
        """HR images ``[B, f h, f w, C]`` in [-1, 1] from LR images ``[B, h, w, C]`` in [-1, 1]."""
        f, hr_side = self.config.factor, self.shape[0]
        got = np.shape(lr)
        hint = (f"; these look like high-resolution images: pass superres.downsample(images, {f})"
                if got[1:] == self.shape else shape_hint(got, self.lr_shape, "lr"))
        lr = image_batch("lr", lr, self.lr_shape, hint=hint,
                         whose=f" for this {self.config.data} x{f} model "
                               f"({self.lr_shape[0]} * {f} = {hr_side})")
        return self.apply(lr, batch)


def load_superres(path: str | Path) -> SuperResolution:
    """A :class:`SuperResolution` from a file written by :meth:`SuperResolution.save`."""
    return SuperResolution.load(path)


def weights_path(data: str = "mnist", factor: int = 4, pixel_only: bool = False) -> Path:
    """Where the shipped model for (data, factor) lives: ``superres_<data>_x<f>[_pixel].npz``."""
    return WEIGHTS / f"superres_{data}_x{factor}{'_pixel' if pixel_only else ''}.npz"


def load_pretrained_superres(data: str = "mnist", factor: int = 4,
                             pixel_only: bool = False) -> SuperResolution:
    """The shipped SR model; a clear error naming the command that makes it if it is missing."""
    path = weights_path(data, factor, pixel_only)
    if not path.is_file():
        raise ValueError(f"no shipped super-resolution model at {path}; make it with `python -m "
                         f"ganlab.tasks.superres_training train {data} --factor {factor}"
                         f"{' --pixel' if pixel_only else ''}`")
    return load_superres(path)


# -- evaluation ------------------------------------------------------------------------------------
def evaluate(model: SuperResolution, hr, labels=None, classifier=None) -> dict[str, dict]:
    """PSNR (dB, mean over images) and classifier accuracy of bicubic vs. the model on ``hr``.

    Returns ``{"bicubic": {...}, "model": {...}, "hr": {...}}``; each holds ``psnr`` (not for
    ``hr``) and, when ``labels`` and ``classifier`` (with ``.classify``) are given, ``accuracy``.
    """
    f = model.config.factor
    hint = ("; these look like low-resolution images: evaluate takes the high-resolution truth "
            "and downsamples it itself" if np.shape(hr)[1:] == model.lr_shape else "")
    hr = image_batch("hr", hr, model.shape, hint=hint,
                     whose=f" for this {model.config.data} x{f} model")
    if labels is not None and np.shape(labels) != hr.shape[:1]:
        raise ValueError(f"labels must have shape [{len(hr)}], one per image of hr "
                         f"(got {np.shape(labels)})")
    lr = _downsample(jnp.asarray(hr), f)
    outputs = {"bicubic": np.asarray(_bicubic(lr, f)),
               "model": model.upscale(lr), "hr": hr}
    report = {}
    for name, images in outputs.items():
        row = {} if name == "hr" else {"psnr": float(np.mean(psnr(images, hr)))}
        if labels is not None and classifier is not None:
            predicted = classifier.classify(images).argmax(-1)
            row["accuracy"] = float(np.mean(predicted == np.asarray(labels)))
        report[name] = row
    return report
