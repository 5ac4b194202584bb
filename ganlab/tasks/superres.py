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

The shipped weights ``ganlab/weights/superres_<data>_x<f>[_pixel].npz`` were made with::

    export GANLAB_DATA_DIR=/work/shared/data
    python -m ganlab.tasks.superres train mnist --factor 4                          # 1500 steps
    python -m ganlab.tasks.superres train mnist --factor 4 --pixel --steps 500
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from ganlab.core import losses
from ganlab.core.checkpoints import read_params, save_params
from ganlab.core.files import WEIGHTS
from ganlab.core.nets import depth_to_space
from ganlab.tasks.completion import psnr

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
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer in [{low}, {high}] (got {value!r})")
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
    images = jnp.asarray(images, jnp.float32)
    b, h, w, c = images.shape
    if h % factor or w % factor:
        raise ValueError(f"image size {h}x{w} must be divisible by factor {factor}")
    return images.reshape(b, h // factor, factor, w // factor, factor, c).mean((2, 4))


def bicubic(images, factor: int) -> jax.Array:
    """Bicubic upsampling by ``factor`` (``jax.image.resize``), clipped to [-1, 1]."""
    images = jnp.asarray(images, jnp.float32)
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
        return jnp.clip(bicubic(lr, self.factor) + self.tail(h), -1.0, 1.0)


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
@dataclass(eq=False)
class SuperResolution:
    """A trained SR generator: ``model.upscale(lr)`` -> HR images; ``model.save(path)``."""

    config: SRConfig
    params: nnx.State
    history: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.graphdef, _ = nnx.split(nnx.eval_shape(lambda: _generator(self.config, 0)))
        self._upscale = jax.jit(lambda p, lr: nnx.merge(self.graphdef, p)(lr))

    def upscale(self, lr, batch: int = 1000) -> np.ndarray:
        """HR images ``[B, f h, f w, C]`` in [-1, 1] from LR images ``[B, h, w, C]``."""
        lr = np.asarray(lr, np.float32)
        if lr.ndim != 4:
            raise ValueError(f"lr images must have shape [B, h, w, C] (got {lr.shape})")
        out = [np.asarray(self._upscale(self.params, jnp.asarray(lr[i:i + batch])))
               for i in range(0, len(lr), batch)]
        return np.concatenate(out)

    def save(self, path: str | Path) -> Path:
        """Write config, parameters and loss history to ``path`` (``.npz``, atomic, no pickle)."""
        header = {"format": FORMAT, "config": dataclasses.asdict(self.config), "info": self.info}
        history = {f"history/{key}": values for key, values in self.history.items()}
        return save_params(path, header, self.params, history)


def _generator(config: SRConfig, seed: int) -> SRGenerator:
    return SRGenerator(config.factor, config.width, rngs=nnx.Rngs(params=seed))


def load_superres(path: str | Path) -> SuperResolution:
    """A :class:`SuperResolution` from a file written by :meth:`SuperResolution.save`."""
    header, params, arrays = read_params(
        path, FORMAT,
        lambda h: nnx.state(nnx.eval_shape(lambda: _generator(SRConfig(**h["config"]), 0))))
    history = {k[len("history/"):]: v for k, v in arrays.items() if k.startswith("history/")}
    return SuperResolution(SRConfig(**header["config"]), params, history, header.get("info", {}))


def weights_path(data: str = "mnist", factor: int = 4, pixel_only: bool = False) -> Path:
    """Where the shipped model for (data, factor) lives: ``superres_<data>_x<f>[_pixel].npz``."""
    return WEIGHTS / f"superres_{data}_x{factor}{'_pixel' if pixel_only else ''}.npz"


def load_pretrained_superres(data: str = "mnist", factor: int = 4,
                             pixel_only: bool = False) -> SuperResolution:
    """The shipped SR model; a clear error naming the command that makes it if it is missing."""
    path = weights_path(data, factor, pixel_only)
    if not path.is_file():
        raise ValueError(
            f"no shipped super-resolution model at {path}; make it with `python -m ganlab.tasks.superres "
            f"train {data} --factor {factor}{' --pixel' if pixel_only else ''}`")
    return load_superres(path)


# -- training --------------------------------------------------------------------------------------
def train_superres(config: SRConfig, images, *, progress: bool = True) -> SuperResolution:
    """Train an SR GAN on HR ``images`` ``[N, H, W, C]`` in [-1, 1] (LR made by :func:`downsample`).

    Each step draws a batch (inside jit, from ``jax.random.key(config.seed)``), makes its LR
    version, updates D on ``d_loss(D(x, up), D(G(y), up))`` then G on ``L_G`` (module docstring).
    With ``adversarial_weight == 0`` D is not trained (pixel loss only). Returns the model with
    the per-step ``history`` of ``pixel`` (L1), ``g_adv``, ``d_loss``.
    """
    images = jnp.asarray(images, jnp.float32)
    if images.ndim != 4:
        raise ValueError(f"images must have shape [N, H, W, C] (got {images.shape})")
    key_g, key_d, key = jax.random.split(jax.random.key(config.seed), 3)
    generator = SRGenerator(config.factor, config.width, images.shape[-1],
                            rngs=nnx.Rngs(params=key_g))
    discriminator = SRDiscriminator(images.shape[1:], config.width, rngs=nnx.Rngs(params=key_d))
    g_def, g_params = nnx.split(generator)
    d_def, d_params = nnx.split(discriminator)
    tx = optax.adam(config.lr, b1=0.5, b2=0.999)
    g_opt, d_opt = tx.init(g_params), tx.init(d_params)
    adversarial = config.adversarial_weight > 0

    @jax.jit
    def step(g_params, d_params, g_opt, d_opt, key, images):
        index = jax.random.randint(key, (config.batch_size,), 0, len(images))
        hr = images[index]
        lr = downsample(hr, config.factor)
        up = bicubic(lr, config.factor)
        fake = nnx.merge(g_def, g_params)(lr)
        d_loss = jnp.zeros(())
        if adversarial:
            def d_loss_fn(d_params):
                disc = nnx.merge(d_def, d_params)
                logits = disc(jnp.concatenate([hr, fake]), jnp.concatenate([up, up]))
                return losses.d_loss("non_saturating", logits[:len(hr)], logits[len(hr):])

            d_loss, grads = jax.value_and_grad(d_loss_fn)(d_params)
            updates, d_opt = tx.update(grads, d_opt, d_params)
            d_params = optax.apply_updates(d_params, updates)

        def g_loss_fn(g_params):
            fake = nnx.merge(g_def, g_params)(lr)
            pixel = jnp.mean(jnp.abs(fake - hr))
            g_adv = (losses.g_loss("non_saturating", nnx.merge(d_def, d_params)(fake, up))
                     if adversarial else jnp.zeros(()))
            return config.pixel_weight * pixel + config.adversarial_weight * g_adv, (pixel, g_adv)

        (_, (pixel, g_adv)), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(g_params)
        updates, g_opt = tx.update(grads, g_opt, g_params)
        g_params = optax.apply_updates(g_params, updates)
        return g_params, d_params, g_opt, d_opt, jnp.stack([pixel, g_adv, d_loss])

    keys = jax.random.split(key, config.steps)
    steps = range(config.steps)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="super-resolution")
    start, records = time.perf_counter(), []
    for i in steps:  # a Python loop over a jitted step: convs in a rolled scan are slow on CPU
        g_params, d_params, g_opt, d_opt, metrics = step(g_params, d_params, g_opt, d_opt,
                                                         keys[i], images)
        records.append(metrics)
    history = np.asarray(jnp.stack(records)) if records else np.zeros((0, 3), np.float32)
    info = {"train_seconds": round(time.perf_counter() - start, 1), "n_images": len(images)}
    history = {name: history[:, i] for i, name in enumerate(("pixel", "g_adv", "d_loss"))}
    return SuperResolution(config, g_params, history, info)


# -- evaluation ------------------------------------------------------------------------------------
def evaluate(model: SuperResolution, hr, labels=None, classifier=None) -> dict[str, dict]:
    """PSNR (dB, mean over images) and classifier accuracy of bicubic vs. the model on ``hr``.

    Returns ``{"bicubic": {...}, "model": {...}, "hr": {...}}``; each holds ``psnr`` (not for
    ``hr``) and, when ``labels`` and ``classifier`` (with ``.classify``) are given, ``accuracy``.
    """
    hr = np.asarray(hr, np.float32)
    lr = downsample(hr, model.config.factor)
    outputs = {"bicubic": np.asarray(bicubic(lr, model.config.factor)),
               "model": model.upscale(lr), "hr": hr}
    report = {}
    for name, images in outputs.items():
        row = {} if name == "hr" else {"psnr": float(np.mean(psnr(images, hr)))}
        if labels is not None and classifier is not None:
            predicted = classifier.classify(images).argmax(-1)
            row["accuracy"] = float(np.mean(predicted == np.asarray(labels)))
        report[name] = row
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ganlab.tasks.superres",
                                     description="Train and ship a super-resolution GAN.")
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train", help="train on the training split and save the weights")
    t.add_argument("data", choices=["digits", "mnist", "fashion_mnist"])
    t.add_argument("--factor", type=int, default=4)
    t.add_argument("--steps", type=int, default=SRConfig.steps)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--pixel", action="store_true", help="pixel loss only (no GAN term)")
    t.add_argument("--out", type=Path, default=None, help="default: the shipped file")
    args = parser.parse_args(argv)
    from ganlab.core.files import WEIGHTS as CLASSIFIERS
    from ganlab.core.images import load_image_set
    from ganlab.tasks.classifier import load_classifier

    config = SRConfig(data=args.data, factor=args.factor, steps=args.steps, seed=args.seed,
                      adversarial_weight=0.0 if args.pixel else SRConfig.adversarial_weight)
    model = train_superres(config, load_image_set(args.data, "train").images)
    test = load_image_set(args.data, "test")
    has_classifier = (CLASSIFIERS / f"classifier_{args.data}.npz").is_file()
    classifier = load_classifier(args.data) if has_classifier else None
    report = evaluate(model, test.images, test.labels, classifier)
    model.info["test"] = report
    path = model.save(args.out or weights_path(args.data, args.factor, args.pixel))
    print(f"trained in {model.info['train_seconds']} s; saved {path} "
          f"({path.stat().st_size / 1e3:.0f} kB)")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
