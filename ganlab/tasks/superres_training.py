"""Training the super-resolution GAN of :mod:`ganlab.tasks.superres`, and its command line.

Training is a GAN in miniature built from the core: the pure :func:`train_step` (state in, state
and metrics out), driven by the one loop ``ganlab.core.loop.advance`` through :class:`SRTrainer`;
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
import time
from functools import partial
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from ganlab.core import losses
from ganlab.core.data import IMAGE_SHAPES
from ganlab.core.engine import Player
from ganlab.core.files import WEIGHTS
from ganlab.core.gan import STEP_CHUNK
from ganlab.core.loop import advance
from ganlab.tasks.inputs import image_batch
from ganlab.tasks.superres import (
    SRConfig,
    SRDiscriminator,
    SuperResolution,
    _bicubic,
    _downsample,
    _generator,
    evaluate,
    weights_path,
)

# -- training: a pure step, driven by the one loop (ganlab.core.loop.advance) ----------------------
ADAM = optax.scale_by_adam(b1=0.5, b2=0.999)
"""Both players' update direction; the state's learning rates scale it (``p <- p - lr u``)."""

METRICS = ("d_loss", "g_loss", "pixel", "g_adv")  # per step: d_loss, L_G, its two terms
HISTORY = ("pixel", "g_adv", "d_loss")  # what a model and its file keep (L_G follows from them)


class SRKnobs(NamedTuple):
    """The learning rates a step reads (both ``config.lr``; named when training diverges)."""

    lr_g: jax.Array
    lr_d: jax.Array


class SRState(NamedTuple):
    """What a training step changes: both players, the learning rates, the step count, the key."""

    generator: Player
    discriminator: Player
    knobs: SRKnobs
    step: jax.Array
    key: jax.Array


class SRSpec(NamedTuple):
    """The static half a compiled step closes over (never traced)."""

    config: SRConfig
    g_def: nnx.GraphDef
    d_def: nnx.GraphDef


def _discriminator(config: SRConfig, image_shape, key) -> SRDiscriminator:
    return SRDiscriminator(image_shape, config.width, rngs=nnx.Rngs(params=key))


def train_step(spec: SRSpec, state: SRState, images: jax.Array) -> tuple[SRState, dict]:
    """One step on a batch drawn from ``images`` ``[N, H, W, C]``: D, then G (module docstring).

    With ``adversarial_weight == 0`` D is not trained (pixel loss only). A step whose losses or
    new weights are not finite is not taken: the state stays the last finite one and this
    step's ``METRICS`` are NaN (``advance`` then raises ``TrainingDiverged``).
    """
    cfg = spec.config
    key, key_batch = jax.random.split(state.key)
    hr = images[jax.random.randint(key_batch, (cfg.batch_size,), 0, len(images))]
    lr = _downsample(hr, cfg.factor)
    up = _bicubic(lr, cfg.factor)
    g, d = state.generator, state.discriminator
    adversarial = cfg.adversarial_weight > 0
    d_loss = jnp.zeros(())
    if adversarial:
        fake = nnx.merge(spec.g_def, g.params)(lr)

        def d_loss_fn(d_params):  # one D pass over real and fake, each next to its bicubic(y)
            logits = nnx.merge(spec.d_def, d_params)(jnp.concatenate([hr, fake]),
                                                     jnp.concatenate([up, up]))
            return losses.d_loss("non_saturating", logits[:len(hr)], logits[len(hr):])

        d_loss, grads = jax.value_and_grad(d_loss_fn)(d.params)
        d = _adam(d, grads, state.knobs.lr_d)

    def g_loss_fn(g_params):
        fake = nnx.merge(spec.g_def, g_params)(lr)
        pixel = jnp.mean(jnp.abs(fake - hr))
        g_adv = (losses.g_loss("non_saturating", nnx.merge(spec.d_def, d.params)(fake, up))
                 if adversarial else jnp.zeros(()))
        return cfg.pixel_weight * pixel + cfg.adversarial_weight * g_adv, (pixel, g_adv)

    (g_loss, (pixel, g_adv)), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(g.params)
    g = _adam(g, grads, state.knobs.lr_g)
    new = SRState(g, d, state.knobs, state.step + 1, key)
    metrics = dict(d_loss=d_loss, g_loss=g_loss, pixel=pixel, g_adv=g_adv)
    taken = jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in
                               jax.tree.leaves((metrics, g.params, d.params))]))
    keep = jax.tree.map(lambda a, b: jnp.where(taken, a, b), new, state)
    return keep, {k: jnp.where(taken, v, jnp.nan) for k, v in metrics.items()}


def _adam(player: Player, grads, lr: jax.Array) -> Player:
    updates, opt_state = ADAM.update(grads, player.opt_state, player.params)
    return Player(jax.tree.map(lambda p, u: p - lr * u, player.params, updates), opt_state)


class SRTrainer:
    """What the one loop (``advance``) drives: ``train_step`` compiled once, the HR images its
    argument (closed over, they would be compiled in as constants)."""

    def __init__(self, config: SRConfig, images: jax.Array):
        self.config, self.images, self.shape = config, images, tuple(images.shape[1:])
        g = nnx.eval_shape(lambda: _generator(config, 0, self.shape[-1]))
        d = nnx.eval_shape(lambda: _discriminator(config, self.shape, 0))
        self.spec = SRSpec(config, nnx.graphdef(g), nnx.graphdef(d))
        self.step = jax.jit(partial(train_step, self.spec))

    def init(self) -> SRState:
        """A fresh state from ``config.seed``: G and D, their Adam states, step 0."""
        key_g, key_d, key = jax.random.split(jax.random.key(self.config.seed), 3)
        g_params = nnx.state(_generator(self.config, key_g, self.shape[-1]))
        d_params = nnx.state(_discriminator(self.config, self.shape, key_d))
        lr = jnp.asarray(self.config.lr, jnp.float32)
        return SRState(Player(g_params, ADAM.init(g_params)), Player(d_params, ADAM.init(d_params)),
                       SRKnobs(lr, lr), jnp.zeros((), jnp.int32), key)

    def chunks(self, steps: int) -> list[int]:
        """Steps per compiled call, ``STEP_CHUNK`` at a time (the loop reports between them)."""
        full, rest = divmod(steps, STEP_CHUNK)
        return [STEP_CHUNK] * full + ([rest] if rest else [])

    def run_chunk(self, state: SRState, n: int) -> tuple[SRState, dict]:
        """``n`` compiled steps, a Python loop (convs in a rolled ``lax.scan`` are slow on CPU);
        ``METRICS`` ``[n]`` each, as NumPy."""
        per_step = []
        for _ in range(n):
            state, metrics = self.step(state, self.images)
            per_step.append(metrics)
        return state, {k: np.asarray(jnp.stack([m[k] for m in per_step])) for k in METRICS}

    def refresh_stats(self, state: SRState) -> SRState:
        return state  # no batch norm: nothing to measure afresh


def train_superres(config: SRConfig, images, *, progress: bool = True,
                   callbacks=()) -> SuperResolution:
    """Train an SR GAN on HR ``images`` ``[N, H, W, C]`` in [-1, 1] (LR made by :func:`downsample`),
    the shape of ``config.data``'s images (``IMAGE_SHAPES``).

    ``config.steps`` steps of :func:`train_step` through the one loop (``advance``: progress
    bar, ``callbacks``, the divergence check, Ctrl-C keeps what was trained); batches come from
    ``jax.random.key(config.seed)``, so same seed, same model. Returns the model with the
    per-step ``history`` of ``HISTORY``. Raises ``ganlab.TrainingDiverged`` (``error.state``:
    the last finite ``SRState``).
    """
    images = image_batch("images", images, IMAGE_SHAPES[config.data],
                         whose=f" for data={config.data!r}")
    trainer = SRTrainer(config, jnp.asarray(images, jnp.float32))
    start = time.perf_counter()
    state, history = advance(trainer, trainer.init(), config.steps, progress=progress,
                             callbacks=callbacks)
    info = {"train_seconds": round(time.perf_counter() - start, 1), "n_images": len(images),
            "steps": int(state.step)}
    history = {k: np.asarray(history.get(k, np.zeros(0)), np.float32) for k in HISTORY}
    return SuperResolution(config, state.generator.params, history, info)


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
