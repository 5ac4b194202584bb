"""Sketch-to-image translation (pix2pix, Isola et al. 2017): draw the outline, get the picture.

**The sketch.** :func:`sketch` turns an image into a line drawing by contour lines: with the image
``u = (x + 1) / 2`` in [0, 1] and a level ``t``, a pixel is on the contour of ``{u >= t}`` when
``u >= t`` and one of its four neighbours (or the border) has ``u < t``. The sketch is the union
of the contours of the chosen levels, lines ``+1`` on a ``-1`` background. Digits use one level,
``(0.5,)``: the outline of the stroke. Clothes use ``(0.1, 0.5)``: the silhouette and the main
inner edges (collars, sleeves, soles); texture and shading are left for the generator to guess.

**The networks.** The generator is a U-Net (Ronneberger et al. 2015): an encoder 28 -> 14 -> 7
(stride-2 convolutions), a bottleneck, and a decoder 7 -> 14 -> 28 (nearest-neighbour upsampling
and a 3x3 convolution: no transposed convolution, so no checkerboard), each decoder stage given
the encoder's features of the same size (the skip connections: the sketch's lines reach the
output without squeezing through the 7x7 bottleneck). The discriminator is a PatchGAN: it sees the
image stacked with the sketch and returns a 7x7 map of logits, each judging an 18x18-pixel patch
("is this patch a plausible piece of the picture of *this* sketch?"), averaged by the loss.

**The loss** (:mod:`ganlab.tasks.paired`): ``L_G = lambda E|G(s) - x| + g_loss(D(G(s), s))``
with pix2pix's ``lambda = 100``; ``adversarial_weight = 0`` gives the L1-only translator, whose
output is each pixel's conditional *median* given the sketch: a blur wherever the sketch leaves
the picture open. The shipped weights ``ganlab/weights/<name>[_l1].npz`` were made with::

    export GANLAB_DATA_DIR=<folder with mnist/ and fashion-mnist/>
    python -m ganlab.tasks.translation train sketch2mnist            # and --l1: the baseline
    python -m ganlab.tasks.translation train sketch2fashion          # and --l1
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ganlab.core.conv import Conv
from ganlab.core.data import IMAGE_SHAPES
from ganlab.core.files import WEIGHTS
from ganlab.core.validate import count
from ganlab.tasks.classifier import features, frechet_distance
from ganlab.tasks.image_metrics import sharpness
from ganlab.tasks.inputs import image_batch
from ganlab.tasks.paired import PairedModel, PairTrainer, train_pairs

FORMAT = "ganlab-translator-1"
TRANSLATORS = {"sketch2mnist": "mnist", "sketch2fashion": "fashion_mnist"}  # name -> image set
LEVELS = {"mnist": (0.5,), "fashion_mnist": (0.1, 0.5), "digits": (0.5,)}  # the sketch's levels
GREY_LIMIT = 0.01  # a sketch is black and white: at most this fraction of grey pixels


@dataclass(frozen=True)
class TranslatorConfig:
    """One sketch-to-image translator and how it is trained; validated when made."""

    data: str = "mnist"  # the image set: digits, mnist, fashion_mnist
    width: int = 32  # channels of the first stage (the U-Net's are width, 2 width, 2 width)
    skips: bool = True  # the U-Net's skip connections (False: a plain encoder-decoder)
    steps: int = 3000  # training steps
    batch_size: int = 32
    lr: float = 2e-4  # Adam learning rate of both networks (pix2pix's)
    pixel_weight: float = 100.0  # lambda on the L1 loss (pix2pix's)
    adversarial_weight: float = 1.0  # on the non-saturating GAN loss; 0 = L1 only
    seed: int = 0

    def __post_init__(self) -> None:
        if self.data not in LEVELS:
            raise ValueError(f"data must be one of {sorted(LEVELS)} (got {self.data!r})")
        for name, low, high in (("width", 1, 1024), ("steps", 0, 10**7),
                                ("batch_size", 1, 1 << 16), ("seed", 0, 2**31 - 1)):
            if count(name, getattr(self, name), low, f"; at most {high}") > high:
                raise ValueError(f"{name} must be in [{low}, {high}] (got {getattr(self, name)})")
        if not isinstance(self.skips, bool):
            raise ValueError(f"skips must be True or False (got {self.skips!r})")
        if not 0 < self.lr <= 1:
            raise ValueError(f"lr must be in (0, 1] (got {self.lr}); typical values 1e-4 to 1e-3")
        for name in ("pixel_weight", "adversarial_weight"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0 (got {getattr(self, name)}); 0 = off")

    @property
    def levels(self) -> tuple[float, ...]:
        """The sketch's contour levels for this image set (``LEVELS``)."""
        return LEVELS[self.data]

    def replace(self, **changes) -> TranslatorConfig:
        return dataclasses.replace(self, **changes)


# -- the sketch ------------------------------------------------------------------------------------
def sketch(images, levels=(0.5,)) -> np.ndarray:
    """Line drawings ``[B, H, W, 1]`` (lines ``+1`` on ``-1``) of images ``[B, H, W, 1]`` in
    [-1, 1]: the union of the contours of ``{u >= t}`` for ``t`` in ``levels``, ``u = (x+1)/2``
    (module docstring). Digits: ``levels=(0.5,)``; clothes ``(0.1, 0.5)`` (``LEVELS``)."""
    images = image_batch("images", images)
    if images.shape[-1] != 1:
        raise ValueError(f"images must be grey-scale, [B, H, W, 1] (got {images.shape}); "
                         "convert with images.mean(-1, keepdims=True)")
    levels = tuple(float(t) for t in np.atleast_1d(levels))
    if not levels or not all(0 < t <= 1 for t in levels):
        raise ValueError(f"levels must be one or more numbers in (0, 1] (got {levels}); "
                         "e.g. (0.5,) for digits, (0.1, 0.5) for clothes")
    return np.asarray(_sketch(jnp.asarray(images), levels))


def _sketch(images: jax.Array, levels: tuple[float, ...]) -> jax.Array:
    """:func:`sketch` without the checks (traceable: the training step calls it)."""
    u = (images + 1) / 2
    lines = jnp.zeros(u.shape, bool)
    for level in levels:
        inside = u >= level
        padded = jnp.pad(inside, ((0, 0), (1, 1), (1, 1), (0, 0)))  # outside the border: False
        interior = (padded[:, :-2, 1:-1] & padded[:, 2:, 1:-1]
                    & padded[:, 1:-1, :-2] & padded[:, 1:-1, 2:])
        lines = lines | (inside & ~interior)
    return jnp.where(lines, 1.0, -1.0).astype(images.dtype)


def sketch_batch(name: str, sketches, shape: tuple[int, int, int], whose: str = "") -> np.ndarray:
    """``sketches`` checked as what a translator takes: ``[B, H, W, 1]``, black and white."""
    sketches = image_batch(name, sketches, shape, whose=whose)
    grey = float(np.mean(np.abs(sketches) < 0.9))
    if grey > GREY_LIMIT:
        raise ValueError(
            f"{name} must be black-and-white line drawings (-1 background, +1 lines), but "
            f"{grey:.0%} of their pixels are grey: these look like images. Make their sketches "
            "with translation.sketch(images, levels) (or `python -m ganlab sketch`), or "
            "threshold a drawing with np.where(drawing > 0, 1.0, -1.0)")
    return sketches


# -- networks --------------------------------------------------------------------------------------
def _upsample(x: jax.Array) -> jax.Array:
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


class UNet(nnx.Module):
    """Sketch ``[B, 28, 28, 1]`` -> image ``[B, 28, 28, C]`` in [-1, 1] (module docstring).

    Encoder: 3x3 conv (w) at 28, 4x4 stride-2 convs to 14 (2w) and 7 (2w), a 3x3 conv at 7.
    Decoder: upsample x2, 3x3 conv to 2w at 14, upsample x2, 3x3 conv to w at 28, 3x3 conv to C,
    tanh. Instance normalisation after every conv but the first and the last, as in pix2pix:
    without it, L1 towards the -1 background (most pixels) drives the pre-activations to
    -infinity and tanh saturates everywhere (measured: after 1000 steps every pre-activation
    below -3.8, mean -37, every output -1: the net draws nothing). With ``skips`` each decoder
    conv also takes the encoder's features of its size (concatenated as channels), and so does
    the output conv. Leaky ReLU (0.2) in the encoder, ReLU in the decoder, as in pix2pix.
    """

    def __init__(self, width: int = 32, channels: int = 1, skips: bool = True, *,
                 rngs: nnx.Rngs):
        w, extra = width, (1 if skips else 0)
        self.skips = skips
        self.enc1 = Conv(1, w, (3, 3), rngs=rngs)
        self.enc2 = Conv(w, 2 * w, (4, 4), strides=(2, 2), rngs=rngs)
        self.enc3 = Conv(2 * w, 2 * w, (4, 4), strides=(2, 2), rngs=rngs)
        self.middle = Conv(2 * w, 2 * w, (3, 3), rngs=rngs)
        self.dec2 = Conv(2 * w * (1 + extra), 2 * w, (3, 3), rngs=rngs)
        self.dec1 = Conv(2 * w + 2 * w * extra, w, (3, 3), rngs=rngs)
        self.out = Conv(w * (1 + extra), channels, (3, 3), rngs=rngs)
        self.norms = nnx.List([nnx.InstanceNorm(n, rngs=rngs) for n in (2 * w, 2 * w, 2 * w,
                                                                          2 * w, w)])

    def __call__(self, sketches: jax.Array) -> jax.Array:
        n2, n3, nm, nd2, nd1 = self.norms
        lrelu = lambda h: jax.nn.leaky_relu(h, 0.2)  # noqa: E731
        e1 = lrelu(self.enc1(sketches))  # 28
        e2 = lrelu(n2(self.enc2(e1)))  # 14
        e3 = lrelu(n3(self.enc3(e2)))  # 7
        h = lrelu(nm(self.middle(e3)))
        join = (lambda h, e: jnp.concatenate([h, e], -1)) if self.skips else (lambda h, e: h)
        h = jax.nn.relu(nd2(self.dec2(_upsample(join(h, e3)))))  # 14
        h = jax.nn.relu(nd1(self.dec1(_upsample(join(h, e2)))))  # 28
        return jnp.tanh(self.out(join(h, e1)))


class PatchDiscriminator(nnx.Module):
    """(image ``[B, 28, 28, C]``, sketch ``[B, 28, 28, 1]``) -> logits ``[B, 7, 7]``, one per
    18x18 patch: two 4x4 stride-2 convs (leaky ReLU 0.2), then a 3x3 conv to one channel."""

    def __init__(self, width: int = 32, channels: int = 1, *, rngs: nnx.Rngs):
        self.conv1 = Conv(channels + 1, width, (4, 4), strides=(2, 2), rngs=rngs)
        self.conv2 = Conv(width, 2 * width, (4, 4), strides=(2, 2), rngs=rngs)
        self.out = Conv(2 * width, 1, (3, 3), rngs=rngs)

    def __call__(self, images: jax.Array, sketches: jax.Array) -> jax.Array:
        h = jnp.concatenate([images, sketches], -1)
        h = jax.nn.leaky_relu(self.conv1(h), 0.2)
        h = jax.nn.leaky_relu(self.conv2(h), 0.2)
        return self.out(h)[..., 0]


PATCH = 18  # the receptive field of one PatchDiscriminator logit: 4, then 4 + 3*2, then + 2*4


# -- the model -------------------------------------------------------------------------------------
class Translator(PairedModel):
    """A trained sketch-to-image generator: ``model.translate(sketches)`` -> images;
    ``model.sketch(images)`` the sketches it was trained on; ``model.save(path)``,
    ``load_translator(path)`` (:class:`~ganlab.tasks.paired.PairedModel`)."""

    FORMAT: ClassVar[str] = FORMAT
    CONFIG: ClassVar[type] = TranslatorConfig

    @staticmethod
    def build(config: TranslatorConfig, key) -> UNet:
        """The untrained U-Net of ``config``, its weights drawn from ``key``."""
        return UNet(config.width, IMAGE_SHAPES[config.data][-1], config.skips,
                    rngs=nnx.Rngs(params=key))

    @property
    def shape(self) -> tuple[int, int, int]:
        """One image's shape ``(H, W, C)``: that of ``config.data``'s images (and its sketch's)."""
        return IMAGE_SHAPES[self.config.data]

    def sketch(self, images) -> np.ndarray:
        """The sketches of ``images`` this model was trained on (``config.levels``)."""
        images = image_batch("images", images, self.shape, whose=f" for {self.config.data}")
        return sketch(images, self.config.levels)

    def translate(self, sketches, batch: int = 1000) -> np.ndarray:
        """Images ``[B, H, W, C]`` in [-1, 1] from sketches ``[B, H, W, 1]`` (+1 lines on -1)."""
        sketches = sketch_batch("sketches", sketches, self.shape,
                                whose=f" for this {self.config.data} translator")
        return self.apply(sketches, batch)


def load_translator(path: str | Path) -> Translator:
    """A :class:`Translator` from a file written by :meth:`Translator.save`."""
    return Translator.load(path)


def weights_path(name: str = "sketch2mnist", l1_only: bool = False) -> Path:
    """Where a shipped translator lives: ``ganlab/weights/<name>[_l1].npz``."""
    if name not in TRANSLATORS:
        raise ValueError(f"unknown translator {name!r}; the shipped ones are "
                         f"{', '.join(TRANSLATORS)}")
    return WEIGHTS / f"{name}{'_l1' if l1_only else ''}.npz"


def load_pretrained_translator(name: str = "sketch2mnist", l1_only: bool = False) -> Translator:
    """A shipped translator (``l1_only``: its L1-only baseline); a clear error naming the command
    that makes it if the file is missing."""
    path = weights_path(name, l1_only)
    if not path.is_file():
        raise ValueError(f"no shipped translator at {path}; make it with `python -m "
                         f"ganlab.tasks.translation train {name}{' --l1' if l1_only else ''}`")
    return load_translator(path)


# -- training --------------------------------------------------------------------------------------
def train_translator(config: TranslatorConfig, images, *, progress: bool = True,
                     callbacks=()) -> Translator:
    """Train a translator on ``images`` ``[N, H, W, C]`` in [-1, 1] of ``config.data`` (the pairs
    are ``(sketch(x), x)``, sketched in the step), ``config.steps`` steps of ``paired.train_step``
    through the one loop (progress, ``callbacks``, the divergence check, Ctrl-C keeps what was
    trained); same seed, same model. Raises ``ganlab.TrainingDiverged``."""
    shape = IMAGE_SHAPES[config.data]
    images = image_batch("images", images, shape, whose=f" for data={config.data!r}")
    levels = config.levels

    def prepare(x):
        s = _sketch(x, levels)
        return s, s

    trainer = PairTrainer(
        config, jnp.asarray(images), lambda key: Translator.build(config, key),
        lambda key: PatchDiscriminator(config.width, shape[-1], rngs=nnx.Rngs(params=key)),
        prepare)
    return Translator(config, *train_pairs(trainer, config.steps, progress=progress,
                                           callbacks=callbacks))


# -- evaluation ------------------------------------------------------------------------------------
def invented_ink(outputs, truth, sketches, per_image: bool = False) -> float | np.ndarray:
    """The fraction of pixels a translator inked (``> 0``) where the true image is background
    (``< -0.5``) and the sketch has no line: what it drew that was not there. ``per_image``:
    one fraction per image, ``[B]``."""
    outputs, truth, sketches = (np.asarray(a) for a in (outputs, truth, sketches))
    invented = (outputs > 0) & (truth < -0.5) & (sketches < 0)
    return invented.mean((1, 2, 3)) if per_image else float(invented.mean())


def evaluate(model: Translator, images, labels=None, classifier=None) -> dict[str, float]:
    """How well ``model`` redraws ``images`` from their sketches:

    - ``l1``: the mean absolute error ``E|G(s) - x|`` against the true images;
    - ``sharpness``: :func:`~ganlab.tasks.image_metrics.sharpness` of the outputs over that of
      the true images (1 = as sharp as the real thing; blur scores lower);
    - ``ink_invented``: :func:`invented_ink`, what the model drew that was not there;
    - with ``labels`` and a ``classifier``: ``accuracy``, the fraction of outputs the classifier
      reads as the source image's class, and ``fcd``, the Frechet classifier distance of the
      outputs' features to those of the true images.
    """
    images = image_batch("images", images, model.shape, whose=f" for {model.config.data}")
    if labels is not None and np.shape(labels) != images.shape[:1]:
        raise ValueError(f"labels must have shape [{len(images)}], one per image "
                         f"(got {np.shape(labels)})")
    sketches = model.sketch(images)
    out = model.translate(sketches)
    report = {"l1": float(np.mean(np.abs(out - images))),
              "sharpness": sharpness(out) / sharpness(images),
              "ink_invented": invented_ink(out, images, sketches)}
    if labels is not None and classifier is not None:
        report["accuracy"] = float(np.mean(classifier.classify(out).argmax(-1)
                                           == np.asarray(labels)))
        report["fcd"] = frechet_distance(features(out, classifier),
                                         features(images, classifier))
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ganlab.tasks.translation",
                                     description="Train and ship a sketch-to-image translator.")
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train", help="train on the training split and save the weights")
    t.add_argument("name", choices=list(TRANSLATORS))
    t.add_argument("--steps", type=int, default=TranslatorConfig.steps)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--l1", action="store_true", help="the L1-only baseline (no GAN term)")
    t.add_argument("--out", type=Path, default=None, help="default: the shipped file")
    args = parser.parse_args(argv)
    from ganlab.core.images import load_image_set
    from ganlab.tasks.classifier import load_classifier

    data = TRANSLATORS[args.name]
    config = TranslatorConfig(data=data, steps=args.steps, seed=args.seed,
                              adversarial_weight=0.0 if args.l1 else 1.0)
    model = train_translator(config, load_image_set(data, "train").images)
    test = load_image_set(data, "test")
    model.info["command"] = ("python -m ganlab.tasks.translation train " + args.name
                             + (" --l1" if args.l1 else "")
                             + (f" --steps {args.steps}" if args.steps != config.steps else "")
                             + (f" --seed {args.seed}" if args.seed else ""))
    model.info["test"] = evaluate(model, test.images, test.labels, load_classifier(data))
    path = model.save(args.out or weights_path(args.name, args.l1))
    print(f"trained in {model.info['train_seconds']} s; saved {path} "
          f"({path.stat().st_size / 1e3:.0f} kB)")
    print(json.dumps(model.info["test"], indent=1))


if __name__ == "__main__":
    main()
