"""The learner's entry points: ``train`` one GAN, ``sweep`` many at once, and their runs."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ganlab.config import GANConfig, preset
from ganlab.training import GAN, METRICS, GANState, Knobs, TrainingDiverged


@dataclass
class Run:
    """One GAN being trained: its recipe (``gan``), where it is (``state``), how it got there."""

    gan: GAN
    state: GANState
    history: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def config(self) -> GANConfig:
        return self.gan.config

    @property
    def step(self) -> int:
        return int(self.state.step)

    def train(self, steps: int, *, progress: bool = True) -> Run:
        """Train ``steps`` more steps (in place; returns the run so calls chain)."""
        try:
            self.state, history = self.gan.train(self.state, steps, progress=progress)
        except TrainingDiverged as error:
            self.state = error.state
            self._extend(error.history)
            raise
        self._extend(history)
        return self

    def _extend(self, history: dict) -> None:
        for name in METRICS:
            old = self.history.get(name, np.zeros((0,), np.float32))
            self.history[name] = np.concatenate([old, history[name]], -1)

    def sample(self, n: int, *, seed: int = 0, labels=None) -> np.ndarray:
        """``n`` samples as a NumPy array (points ``[n, 2]`` or images ``[n, H, W, C]``)."""
        return np.asarray(self.gan.sample(self.state, n, seed, labels))

    def generator(self):
        return self.gan.generator(self.state)

    def discriminator(self):
        return self.gan.discriminator(self.state)

    def set(self, **knobs) -> Run:
        """Change hyperparameters (lr_g, lr_d, k_d, r1, gp, instance_noise) from the next step."""
        unknown = set(knobs) - set(Knobs._fields)
        if unknown:
            raise ValueError(f"cannot set {sorted(unknown)} live; live knobs: {Knobs._fields}")
        if "k_d" in knobs and not 1 <= knobs["k_d"] <= self.gan.k_d_max:
            raise ValueError(f"k_d must be in [1, {self.gan.k_d_max}] (got {knobs['k_d']})")
        current = {name: value.item() for name, value in self.state.knobs._asdict().items()}
        self.config.replace(**{**current, **knobs})  # validates the values
        updated = Knobs.from_config(self.config, **{**current, **knobs})
        self.state = self.state._replace(knobs=updated)
        return self

    def save(self, path: str | Path) -> Path:
        """Save to ``path/run.npz`` or to ``path`` if it ends in ``.npz`` (atomic; no pickle)."""
        from ganlab.checkpoints import save_run

        return save_run(self, path)


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
    history: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.axes.values())

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def train(self, steps: int, *, progress: bool = True) -> SweepRun:
        self.state, history = self.gan.train(self.state, steps, progress=progress,
                                             check_finite=False)
        for name in METRICS:
            old = self.history.get(name, np.zeros((self.size, 0), np.float32))
            self.history[name] = np.concatenate([old, history[name]], -1)
        return self

    @property
    def diverged(self) -> np.ndarray:
        """Which models' losses became non-finite, ``[N]``."""
        if not self.history:
            return np.zeros(self.size, bool)
        return ~np.isfinite(self.history["d_loss"]).all(-1) | ~np.isfinite(
            self.history["g_loss"]).all(-1)

    def sample(self, n: int, *, seed: int = 0) -> np.ndarray:
        """``n`` samples from every model, ``[N, n, ...]``."""
        return np.asarray(self.gan.sample(self.state, n, seed))

    def run(self, index: int) -> Run:
        """Model ``index`` as a stand-alone :class:`Run` (its own knobs become the config's)."""
        one = jax.tree.map(lambda leaf: leaf[index], self.state)
        knobs = {k: v[index].item() for k, v in self.values.items() if k in Knobs._fields}
        gan = GAN(self.gan.config.replace(**knobs), self.gan.data, k_d_max=self.gan.k_d_max)
        history = {k: v[index] for k, v in self.history.items()}
        return Run(gan, one, history)


def sweep(config: GANConfig | str, steps: int, *, seeds=(0,), progress: bool = True, data=None,
          **knob_values) -> SweepRun:
    """Train a grid of GANs at once with ``jax.vmap``: every combination of the given values.

    ``sweep("ring", 5000, lr_d=[1e-4, 3e-4], lr_g=[1e-4, 3e-4], seeds=range(4))`` trains 16
    GANs in one compiled step. Knobs: ``lr_g, lr_d, k_d, r1, gp, instance_noise``. On several
    devices the models are split across them.
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
        for value in values:  # validate each value as a config would
            if name != "seed":
                config.replace(**{name: value.item()})
    grid = list(itertools.product(*axes.values()))
    values = {name: np.asarray([g[i] for g in grid]) for i, name in enumerate(axes)}
    gan = GAN(config, data, k_d_max=int(max(values.get("k_d", [config.k_d]))), batched=True)
    keys = jax.vmap(jax.random.key)(jnp.asarray(values["seed"]))
    knobs = {k: jnp.asarray(v) for k, v in values.items() if k != "seed"}
    state = _shard(gan.init(keys, **knobs))
    return SweepRun(gan, state, axes, values).train(steps, progress=progress)


def _shard(state: GANState) -> GANState:
    """Split the models axis across devices when there are several and it divides evenly."""
    devices = jax.devices()
    n = jax.tree.leaves(state)[0].shape[0]
    if len(devices) < 2 or n % len(devices):
        return state
    sharding = NamedSharding(Mesh(np.asarray(devices), ("models",)), PartitionSpec("models"))
    return jax.device_put(state, sharding)
