"""Training a conditional GAN on pairs (input image -> target image): the one step and trainer
that super-resolution (:mod:`ganlab.tasks.superres_training`) and sketch-to-image translation
(:mod:`ganlab.tasks.translation`) share.

A task names how a target batch ``x`` becomes the generator's input ``y`` and the condition ``c``
that the discriminator sees beside an image (``prepare(x) -> (y, c)``: a low-resolution image and
its bicubic upsampling; a sketch and the same sketch). D minimises the non-saturating GAN loss on
``D(x, c)`` against ``D(G(y), c)``; G minimises

    L_G = w_pix * E|G(y) - x|  +  w_adv * g_loss(D(G(y), c))        (Isola et al. 2017, eq. 4)

with ``w_adv = 0`` plain L1 regression (D is then not trained). A logit map (PatchGAN) is
averaged over its patches by the losses, as a single logit is over the batch.

:func:`train_step` is pure (state in, state and metrics out); :class:`PairTrainer` is what the
one loop ``ganlab.core.loop.advance`` drives (progress, callbacks, the divergence check, Ctrl-C
keeps what was trained). A task's config needs ``seed``, ``lr``, ``batch_size``,
``pixel_weight`` and ``adversarial_weight``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from ganlab.core import losses
from ganlab.core.checkpoints import read_params, save_params
from ganlab.core.engine import Player
from ganlab.core.gan import STEP_CHUNK
from ganlab.core.loop import advance
from ganlab.core.validate import count

ADAM = optax.scale_by_adam(b1=0.5, b2=0.999)
"""Both players' update direction; the state's learning rates scale it (``p <- p - lr u``)."""

METRICS = ("d_loss", "g_loss", "pixel", "g_adv")  # per step: d_loss, L_G, its two terms
HISTORY = ("pixel", "g_adv", "d_loss")  # what a model and its file keep (L_G follows from them)


class PairKnobs(NamedTuple):
    """The learning rates a step reads (both ``config.lr``; named when training diverges)."""

    lr_g: jax.Array
    lr_d: jax.Array


class PairState(NamedTuple):
    """What a training step changes: both players, the learning rates, the step count, the key."""

    generator: Player
    discriminator: Player
    knobs: PairKnobs
    step: jax.Array
    key: jax.Array


class PairSpec(NamedTuple):
    """The static half a compiled step closes over (never traced)."""

    config: object
    g_def: nnx.GraphDef
    d_def: nnx.GraphDef
    prepare: Callable[[jax.Array], tuple[jax.Array, jax.Array]]


def train_step(spec: PairSpec, state: PairState, images: jax.Array) -> tuple[PairState, dict]:
    """One step on a batch drawn from ``images`` ``[N, H, W, C]``: D, then G (module docstring).

    A step whose losses or new weights are not finite is not taken: the state stays the last
    finite one and this step's ``METRICS`` are NaN (``advance`` then raises ``TrainingDiverged``).
    """
    cfg = spec.config
    key, key_batch = jax.random.split(state.key)
    target = images[jax.random.randint(key_batch, (cfg.batch_size,), 0, len(images))]
    given, condition = spec.prepare(target)
    g, d = state.generator, state.discriminator
    adversarial = cfg.adversarial_weight > 0
    d_loss = jnp.zeros(())
    if adversarial:
        fake = nnx.merge(spec.g_def, g.params)(given)

        def d_loss_fn(d_params):  # one D pass over real and fake, each next to its condition
            logits = nnx.merge(spec.d_def, d_params)(jnp.concatenate([target, fake]),
                                                     jnp.concatenate([condition, condition]))
            return losses.d_loss("non_saturating", logits[:len(target)], logits[len(target):])

        d_loss, grads = jax.value_and_grad(d_loss_fn)(d.params)
        d = _adam(d, grads, state.knobs.lr_d)

    def g_loss_fn(g_params):
        fake = nnx.merge(spec.g_def, g_params)(given)
        pixel = jnp.mean(jnp.abs(fake - target))
        g_adv = (losses.g_loss("non_saturating", nnx.merge(spec.d_def, d.params)(fake, condition))
                 if adversarial else jnp.zeros(()))
        return cfg.pixel_weight * pixel + cfg.adversarial_weight * g_adv, (pixel, g_adv)

    (g_loss, (pixel, g_adv)), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(g.params)
    g = _adam(g, grads, state.knobs.lr_g)
    new = PairState(g, d, state.knobs, state.step + 1, key)
    metrics = dict(d_loss=d_loss, g_loss=g_loss, pixel=pixel, g_adv=g_adv)
    taken = jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in
                               jax.tree.leaves((metrics, g.params, d.params))]))
    keep = jax.tree.map(lambda a, b: jnp.where(taken, a, b), new, state)
    return keep, {k: jnp.where(taken, v, jnp.nan) for k, v in metrics.items()}


def _adam(player: Player, grads, lr: jax.Array) -> Player:
    updates, opt_state = ADAM.update(grads, player.opt_state, player.params)
    return Player(jax.tree.map(lambda p, u: p - lr * u, player.params, updates), opt_state)


class PairTrainer:
    """What the one loop (``advance``) drives: ``train_step`` compiled once, the target images its
    argument (closed over, they would be compiled in as constants).

    ``make_generator(key)`` and ``make_discriminator(key)`` build the two networks;
    ``prepare(x) -> (y, c)`` is traceable (module docstring).
    """

    def __init__(self, config, images: jax.Array, make_generator: Callable,
                 make_discriminator: Callable, prepare: Callable):
        self.config, self.images = config, images
        self.make_generator, self.make_discriminator = make_generator, make_discriminator
        g = nnx.eval_shape(lambda: make_generator(0))
        d = nnx.eval_shape(lambda: make_discriminator(0))
        self.spec = PairSpec(config, nnx.graphdef(g), nnx.graphdef(d), prepare)
        self.step = jax.jit(partial(train_step, self.spec))

    def init(self) -> PairState:
        """A fresh state from ``config.seed``: G and D, their Adam states, step 0."""
        key_g, key_d, key = jax.random.split(jax.random.key(self.config.seed), 3)
        g_params = nnx.state(self.make_generator(key_g))
        d_params = nnx.state(self.make_discriminator(key_d))
        lr = jnp.asarray(self.config.lr, jnp.float32)
        return PairState(Player(g_params, ADAM.init(g_params)),
                         Player(d_params, ADAM.init(d_params)),
                         PairKnobs(lr, lr), jnp.zeros((), jnp.int32), key)

    def chunks(self, steps: int) -> list[int]:
        """Steps per compiled call, ``STEP_CHUNK`` at a time (the loop reports between them)."""
        full, rest = divmod(steps, STEP_CHUNK)
        return [STEP_CHUNK] * full + ([rest] if rest else [])

    def run_chunk(self, state: PairState, n: int) -> tuple[PairState, dict]:
        """``n`` compiled steps, a Python loop (convs in a rolled ``lax.scan`` are slow on CPU);
        ``METRICS`` ``[n]`` each, as NumPy."""
        per_step = []
        for _ in range(n):
            state, metrics = self.step(state, self.images)
            per_step.append(metrics)
        return state, {k: np.asarray(jnp.stack([m[k] for m in per_step])) for k in METRICS}

    def refresh_stats(self, state: PairState) -> PairState:
        return state  # no batch norm: nothing to measure afresh


def kept_history(history: dict) -> dict[str, np.ndarray]:
    """The per-step ``HISTORY`` a trained model keeps, float32."""
    return {k: np.asarray(history.get(k, np.zeros(0)), np.float32) for k in HISTORY}


def train_pairs(trainer: PairTrainer, steps: int, *, progress: bool = True, callbacks=()
                ) -> tuple[nnx.State, dict[str, np.ndarray], dict]:
    """``steps`` steps from ``trainer.init()`` through the one loop; returns the generator's
    parameters, the kept history and ``info`` (seconds, images, steps) for a :class:`PairedModel`.
    Raises ``ganlab.TrainingDiverged`` (``error.state``: the last finite :class:`PairState`)."""
    start = time.perf_counter()
    state, history = advance(trainer, trainer.init(), steps, progress=progress,
                             callbacks=callbacks)
    info = {"train_seconds": round(time.perf_counter() - start, 1),
            "n_images": len(trainer.images), "steps": int(state.step)}
    return state.generator.params, kept_history(history), info


@dataclass(eq=False)
class PairedModel:
    """A trained paired generator and what its file holds: ``config``, the generator's
    ``params``, the per-step ``history`` and ``info`` (how it was made, its test report).

    A task subclasses it with ``FORMAT`` (the file's format tag), ``CONFIG`` (its config class)
    and ``build(config, key)`` (its generator); ``apply(inputs, batch)`` runs the compiled
    generator batch by batch on checked inputs.
    """

    config: object
    params: nnx.State
    history: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    FORMAT: ClassVar[str] = ""
    CONFIG: ClassVar[type] = object

    @staticmethod
    def build(config, key) -> nnx.Module:
        raise NotImplementedError

    def __post_init__(self) -> None:
        self.graphdef = nnx.graphdef(nnx.eval_shape(lambda: self.build(self.config, 0)))
        self._forward = jax.jit(lambda p, y: nnx.merge(self.graphdef, p)(y))

    def apply(self, inputs: np.ndarray, batch: int = 1000) -> np.ndarray:
        """The generator on ``inputs`` (already checked), ``batch`` at a time, as NumPy."""
        batch = count("batch", batch, 1)
        out = [np.asarray(self._forward(self.params, jnp.asarray(inputs[i:i + batch])))
               for i in range(0, len(inputs), batch)]
        return np.concatenate(out)

    def save(self, path: str | Path) -> Path:
        """Write config, parameters and loss history to ``path`` (``.npz``, atomic, no pickle)."""
        header = {"format": self.FORMAT, "config": dataclasses.asdict(self.config),
                  "info": self.info}
        history = {f"history/{key}": values for key, values in self.history.items()}
        return save_params(path, header, self.params, history)

    @classmethod
    def load(cls, path: str | Path) -> PairedModel:
        """The model in a file written by :meth:`save` (its format checked)."""
        header, params, arrays = read_params(
            path, cls.FORMAT,
            lambda h: nnx.state(nnx.eval_shape(lambda: cls.build(cls.CONFIG(**h["config"]), 0))))
        history = {k[len("history/"):]: v for k, v in arrays.items() if k.startswith("history/")}
        return cls(cls.CONFIG(**header["config"]), params, history, header.get("info", {}))
