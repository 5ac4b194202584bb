"""Training the super-resolution GAN of :mod:`ganlab.tasks.superres`, and its command line.

Training is the paired conditional GAN of :mod:`ganlab.tasks.paired` (its pure ``train_step``,
driven by the one loop ``ganlab.core.loop.advance``) through :class:`SRTrainer`;
:func:`train_superres` returns a :class:`~ganlab.tasks.superres.SuperResolution`. The shipped
weights ``ganlab/weights/superres_<data>_x<f>[_pixel].npz`` were made with::

    export GANLAB_DATA_DIR=<folder with mnist/ and fashion-mnist/>
    python -m ganlab.tasks.superres_training train mnist --factor 4                 # 1500 steps
    python -m ganlab.tasks.superres_training train mnist --factor 4 --pixel --steps 500

(Training now draws its batches from the state's key, step by step, so a retrain gives a model
of the same recipe, not the same bytes.)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax
import jax.numpy as jnp
from flax import nnx

from ganlab.core.data import IMAGE_SHAPES
from ganlab.core.files import WEIGHTS
from ganlab.tasks.inputs import image_batch
from ganlab.tasks.paired import HISTORY, METRICS, PairTrainer, train_pairs
from ganlab.tasks.superres import (
    SRConfig,
    SRDiscriminator,
    SuperResolution,
    _bicubic,
    _downsample,
    evaluate,
    weights_path,
)

__all__ = ["HISTORY", "METRICS", "SRTrainer", "main", "train_superres"]


# -- training: the paired GAN step of ganlab.tasks.paired, driven by the one loop ------------------
def _discriminator(config: SRConfig, image_shape, key) -> SRDiscriminator:
    return SRDiscriminator(image_shape, config.width, rngs=nnx.Rngs(params=key))


class SRTrainer(PairTrainer):
    """The paired trainer for super-resolution: G's input is ``downsample(x)``, D's condition
    ``bicubic(downsample(x))``."""

    def __init__(self, config: SRConfig, images: jax.Array):
        self.shape = tuple(images.shape[1:])

        def prepare(hr):
            lr = _downsample(hr, config.factor)
            return lr, _bicubic(lr, config.factor)

        super().__init__(config, images, lambda key: SuperResolution.build(config, key),
                         lambda key: _discriminator(config, self.shape, key), prepare)


def train_superres(config: SRConfig, images, *, progress: bool = True,
                   callbacks=()) -> SuperResolution:
    """Train an SR GAN on HR ``images`` ``[N, H, W, C]`` in [-1, 1] (LR made by :func:`downsample`),
    the shape of ``config.data``'s images (``IMAGE_SHAPES``).

    ``config.steps`` steps of ``paired.train_step`` through the one loop (``advance``: progress
    bar, ``callbacks``, the divergence check, Ctrl-C keeps what was trained); batches come from
    ``jax.random.key(config.seed)``, so same seed, same model. Returns the model with the
    per-step ``history`` of ``HISTORY``. Raises ``ganlab.TrainingDiverged`` (``error.state``:
    the last finite ``paired.PairState``).
    """
    images = image_batch("images", images, IMAGE_SHAPES[config.data],
                         whose=f" for data={config.data!r}")
    trainer = SRTrainer(config, jnp.asarray(images, jnp.float32))
    return SuperResolution(config, *train_pairs(trainer, config.steps, progress=progress,
                                                callbacks=callbacks))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ganlab.tasks.superres_training",
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
    from ganlab.core.images import load_image_set
    from ganlab.tasks.classifier import load_classifier

    config = SRConfig(data=args.data, factor=args.factor, steps=args.steps, seed=args.seed,
                      adversarial_weight=0.0 if args.pixel else SRConfig.adversarial_weight)
    model = train_superres(config, load_image_set(args.data, "train").images)
    test = load_image_set(args.data, "test")
    has_classifier = (WEIGHTS / f"classifier_{args.data}.npz").is_file()
    classifier = load_classifier(args.data) if has_classifier else None
    report = evaluate(model, test.images, test.labels, classifier)
    model.info["test"] = report
    path = model.save(args.out or weights_path(args.data, args.factor, args.pixel))
    print(f"trained in {model.info['train_seconds']} s; saved {path} "
          f"({path.stat().st_size / 1e3:.0f} kB)")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
