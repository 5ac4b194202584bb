"""The learner's entry points: ``train`` one GAN, ``sweep`` many at once, and their runs."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ganlab.core import hosts
from ganlab.core.checkpoints import read_run, save_run
from ganlab.core.config import GANConfig, preset
from ganlab.core.doctor import watch
from ganlab.core.engine import GANState, Knobs
from ganlab.core.gan import GAN, check_knobs
from ganlab.core.loop import History, TrainingDiverged


@dataclass
class Run:
    """One GAN being trained: its recipe (``gan``), where it is (``state``), how it got there.

    The live knobs (learning rates, k_d, penalties) are those in ``state``; ``run.config`` is
    the GAN's config with them filled in.
    """

    gan: GAN
    state: GANState
    history: History = field(default_factory=History.empty)

    def __post_init__(self) -> None:
        self.history = History.of(self.history)

    @property
    def config(self) -> GANConfig:
        """The recipe this run trains with now: ``gan.config`` with the state's knobs."""
        return self.gan.current_config(self.state)

    @property
    def step(self) -> int:
        return int(self.state.step)

    def train(self, steps: int, *, progress: bool = True, callbacks=(),
              doctor: bool | None = None) -> Run:
        """Train ``steps`` more steps (in place; returns the run so calls chain).

        ``doctor`` (default: with the progress bar) names a failure mode (D wins, mode
        collapse, oscillation) once, when it appears (``ganlab.core.doctor.watch``). On
        divergence the run keeps the last finite state and its history, then the
        ``TrainingDiverged`` error is raised."""
        return _train_in_place(self, steps, progress, callbacks, doctor)

    def sample(self, n: int, *, seed: int = 0, labels=None) -> np.ndarray:
        """``n`` samples as a NumPy array (points ``[n, 2]`` or images ``[n, H, W, C]``)."""
        return np.asarray(self.gan.sample(self.state, n, seed, labels))

    def generator(self):
        return self.gan.generator(self.state)

    def discriminator(self):
        return self.gan.discriminator(self.state)

    def set(self, **knobs) -> Run:
        """Change live hyperparameters (lr_g, lr_d, k_d, r1, gp, instance_noise) from the next
        step: they go into the state, nothing recompiles."""
        check_knobs(self.gan.config, self.gan.k_d_max, knobs)
        values = Knobs.from_config(self.config, **knobs)
        self.state = self.state._replace(knobs=values)
        return self

    def save(self, path: str | Path, **options) -> Path:
        """Save to ``path/run.npz`` or to ``path`` if it ends in ``.npz`` (atomic; no pickle);
        ``options`` as ``ganlab.core.checkpoints.save_run``."""
        return save_run(self, path, **options)


def load_run(path: str | Path, data=None) -> Run:
    """The :class:`Run` saved in a run directory or its ``run.npz`` file (``Run.save``).

    ``data`` replaces the data set named in the config (default: loaded by name)."""
    return Run(*read_run(path, data))


def train(config: GANConfig | str, steps: int, *, seed: int = 0, data=None,
          progress: bool = True) -> Run:
    """Build the GAN that ``config`` (or a preset's name) describes and train it ``steps`` steps."""
    config = preset(config) if isinstance(config, str) else config
    gan = GAN(config, data)
    return Run(gan, gan.init(seed)).train(steps, progress=progress)


@dataclass
class SweepRun:
    """Many GANs of one architecture trained together; leaves and history lead with ``[N]``."""

    gan: GAN
    state: GANState
    axes: dict[str, np.ndarray]  # the swept values along each grid axis, in order
    values: dict[str, np.ndarray]  # every model's value of every swept knob, [N]
    history: History = None

    def __post_init__(self) -> None:
        if self.history is None:
            self.history = History.empty((self.size,))

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.axes.values())

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def train(self, steps: int, *, progress: bool = True, callbacks=(),
              doctor: bool | None = None) -> SweepRun:
        """Every model ``steps`` more steps; a model that diverges stays at its last finite
        state (a ``DivergenceWarning`` names it) while the others train on. ``doctor`` as
        ``Run.train`` (one line per failure mode, naming the models)."""
        return _train_in_place(self, steps, progress, callbacks, doctor)

    @property
    def diverged(self) -> np.ndarray:
        """Which models' losses became non-finite, ``[N]``."""
        return ~np.isfinite(self.history["d_loss"]).all(-1) | ~np.isfinite(
            self.history["g_loss"]).all(-1)

    def sample(self, n: int, *, seed: int = 0) -> np.ndarray:
        """``n`` samples from every model, ``[N, n, ...]``."""
        return hosts.to_host(self.gan.sample(self.state, n, seed))

    def run(self, index: int) -> Run:
        """Model ``index`` as a stand-alone :class:`Run` (its knobs are in its state)."""
        one = jax.tree.map(lambda leaf: leaf[index], hosts.gather(self.state))
        gan = GAN(self.gan.config, self.gan.data, k_d_max=self.gan.k_d_max)
        return Run(gan, one, self.history.model(index))


def sweep(config: GANConfig | str, steps: int, *, seeds=(0,), progress: bool = True, data=None,
          **knob_values) -> SweepRun:
    """Train a grid of GANs at once with ``jax.vmap``: every combination of the given values.

    ``sweep("ring", 5000, lr_d=[1e-4, 3e-4], lr_g=[1e-4, 3e-4], seeds=range(4))`` trains 16
    GANs in one compiled step. Knobs: ``lr_g, lr_d, k_d, r1, gp, instance_noise``. On several
    devices the models are split across them. On one CPU, convolutional GANs step one model
    after another with the single GAN's compiled step (vmapped convolutions cost about 2x more per
    model there), so each equals the GAN trained alone with its seed and knobs.
    """
    config = preset(config) if isinstance(config, str) else config
    unknown = set(knob_values) - set(Knobs._fields)
    if unknown:
        raise ValueError(f"cannot sweep {sorted(unknown)}; sweepable: {Knobs._fields} and seeds")
    axes = {name: np.asarray(list(v)) for name, v in knob_values.items()}
    axes["seed"] = np.asarray(list(seeds), np.int64)
    for name, values in axes.items():
        if values.ndim != 1 or len(values) == 0:
            raise ValueError(f"{name} must be a non-empty list of values (got {values!r})")
    grid = list(itertools.product(*axes.values()))
    values = {name: np.asarray([g[i] for g in grid]) for i, name in enumerate(axes)}
    k_d_max = int(max(values.get("k_d", [config.k_d])))
    gan = GAN(config, data, k_d_max=k_d_max, batched=True)
    keys = jax.vmap(jax.random.key)(jnp.asarray(values["seed"]))
    knobs = {k: jnp.asarray(v) for k, v in values.items() if k != "seed"}
    state = _shard(gan.init(keys, **knobs))
    return SweepRun(gan, state, axes, values).train(steps, progress=progress)


def _train_in_place(run, steps: int, progress: bool, callbacks, doctor: bool | None = None):
    """``run.gan.train`` on ``run.state``, the history appended; on divergence the last finite
    state and the history up to it are kept before the error goes on."""
    if progress if doctor is None else doctor:
        callbacks = (*callbacks, watch(run.gan))
    try:
        run.state, history = run.gan.train(run.state, steps, progress=progress,
                                           callbacks=callbacks)
    except TrainingDiverged as error:
        run.state, run.history = error.state, run.history.then(error.history)
        raise
    run.history = run.history.then(history)
    return run


def _shard(state: GANState) -> GANState:
    """Split the models axis across devices (of every process, ``ganlab.core.hosts``) when
    there are several and it divides evenly."""
    sharding = hosts.models_sharding(jax.tree.leaves(state)[0].shape[0])
    return state if sharding is None else hosts.spread(state, sharding)
