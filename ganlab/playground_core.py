"""The playground's model of a live 2-D GAN run, without widgets: train, step, rewind, measure.

``Session`` owns one run of the engine (``ganlab.GAN`` + ``GANState`` + per-step history) and
everything the live view needs from it: a frame of plot data (samples, D over the plane, G's
manifold, gradient arrows), metrics per frame, snapshots for scrubbing, half steps (D only / G
only) and a slow-motion walk through one update. Training always goes through the engine's own
pure functions (``gan._step``, ``gan._d_update``, ``gan._g_update``); nothing here re-derives them.

Compiles: one ``GAN`` per distinct (recipe, data, ``k_d_max``), cached. Knobs (learning rates,
k_d, R1, GP, instance noise) change ``state.knobs`` only, so they never recompile; loss, optimizer
and batch size switch to another cached GAN and keep the parameters.
"""

from __future__ import annotations

import collections
import hashlib
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ganlab import metrics
from ganlab.checkpoints import load_run
from ganlab.config import GANConfig, preset
from ganlab.data import points, sample_points
from ganlab.playground_slowmo import Stage, arrows, stages
from ganlab.runs import Run
from ganlab.training import GAN, METRICS, GANState, Knobs

KNOBS = Knobs._fields  # lr_g lr_d k_d r1 gp instance_noise: live, no recompile
SWITCH = ("loss", "optimizer", "batch_size")  # another compiled GAN, same parameters
REBUILD = ("data", "width", "depth", "activation", "latent_dim", "latent")  # new networks
SCAN = 10  # steps per compiled lax.scan; a frame of n steps runs n // SCAN scans + n % SCAN steps
FRAME_METRICS = ("modes_covered", "high_quality", "kl", "js")

_GANS: dict[tuple, GAN] = {}


def cached_gan(config: GANConfig, data=None, k_d_max: int = 1) -> GAN:
    """The ``GAN`` for ``config`` (knob values do not matter: they live in the state), cached."""
    base = config.replace(**{k: getattr(GANConfig, k) for k in KNOBS})
    k_d_max = max(k_d_max, config.k_d)
    data_key = config.data if data is None else _points_key(data)
    key = (base, data_key, k_d_max)
    if key not in _GANS:
        gan = GAN(base, data, k_d_max=k_d_max)
        gan.playground = _compile_helpers(gan)
        _GANS[key] = gan
    return _GANS[key]


def _points_key(data) -> str:
    centres = np.asarray(data.centres if data.centres is not None else data.modes, np.float32)
    return data.name + hashlib.sha1(centres.tobytes() + str(data.std).encode()).hexdigest()


def _compile_helpers(gan: GAN) -> dict:
    """Jitted pure helpers on top of the engine's own updates (compiled lazily, on first call)."""

    def scan(state):  # SCAN full steps
        return jax.lax.scan(lambda s, _: gan._step(s), state, length=SCAN)

    def d_only(state):
        key, key_d = jax.random.split(state.key)
        player, m = gan._d_update(state.discriminator, state.generator.params, state.knobs, key_d)
        return state._replace(discriminator=player, key=key), m

    def g_only(state):
        key, key_g = jax.random.split(state.key)
        player, m = gan._g_update(state.generator, state.discriminator.params, state.knobs, key_g)
        return state._replace(generator=player, key=key), m

    def frame(g_params, d_params, z, plane, manifold_z):
        fake = gan._generate(g_params, z)  # [n, 2]
        heat = jax.nn.sigmoid(gan._discriminate(d_params, plane))  # [P]
        return fake, heat, gan._generate(g_params, manifold_z), arrows(gan, d_params, fake)

    return dict(scan=jax.jit(scan), d_only=jax.jit(d_only), g_only=jax.jit(g_only),
                frame=jax.jit(frame))


class Frame(NamedTuple):
    """What one picture of the plane shows (NumPy arrays)."""

    step: int
    real: np.ndarray  # [n, 2]
    fake: np.ndarray  # [n, 2]
    heat: np.ndarray  # [R, R] sigmoid(D) over the plane, rows = y
    manifold: np.ndarray  # [rows, cols, 2] G over a latent grid (rows = 1 for a 1-D latent)
    arrows: np.ndarray  # [n, 2] -dL_G/dx at the generated points
    bounds: tuple[float, float, float, float]


@dataclass
class Snapshot:
    step: int
    state: GANState  # JAX arrays are immutable: holding them is a copy
    history_len: int
    log_len: int


@dataclass
class Session:
    """A live, seeded 2-D GAN run: ``Session("ring").train(200)``; see the module docstring."""

    data: str = "ring"
    seed: int = 0
    n_samples: int = 512
    resolution: int = 48  # heat-map cells per side
    manifold_size: int = 15  # latent grid points per side
    snapshot_every: int = 1  # frames between snapshots
    max_snapshots: int = 300
    k_d_max: int | None = None  # None: compile for the largest k_d used so far (fastest)
    config: GANConfig = field(init=False)

    def __post_init__(self) -> None:
        self._drawn: list[tuple[float, float]] = []
        self._points = None
        self.message = ""
        self.set_data(self.data)

    # -- building -----------------------------------------------------------------------------
    def set_data(self, name: str) -> str:
        """Switch to a toy data set with its preset recipe (or ``"points"``: the drawing)."""
        if name == "points":
            if len(self._drawn) == 0:
                raise ValueError("data 'points' needs a drawing: call add_points(xy) first")
            self._points = points(np.asarray(self._drawn), std=0.05)
            config = preset("ring").replace(data="points")
        else:
            self._points = None
            config = preset(name)
        self.data, self.config = name, config
        return self._rebuild(f"new data {name!r}: models rebuilt from seed {self.seed}")

    def _rebuild(self, message: str) -> str:
        self.gan = self._gan(self.config)
        self.toy = self.gan.data
        self.state = self.gan.init(self.seed, **self._knobs())
        self.history = {k: np.zeros((0,), np.float32) for k in METRICS}
        self._fixed()
        self.reset_log()
        self.message = message
        return message

    def _gan(self, config: GANConfig) -> GAN:
        # Every unrolled D update costs a full one (masked, not skipped), so by default compile
        # for exactly the k_d in use; a fixed k_d_max makes every k_d <= it live instead.
        return cached_gan(config, self._points, max(self.k_d_max or 1, config.k_d))

    def _knobs(self) -> dict:
        return {k: getattr(self.config, k) for k in KNOBS}

    def _fixed(self) -> None:
        """Fixed real samples, noise, plane grid and latent grid, so frames move smoothly."""
        key_real, key_z = jax.random.split(jax.random.key(self.seed + 1))
        self.real = sample_points(self.toy, self.n_samples, seed=self.seed + 1)
        self.z = self.gan.latent(key_z, self.n_samples)
        self.bounds = self.toy.bounds()
        x0, x1, y0, y1 = self.bounds
        r = self.resolution
        xs, ys = np.linspace(x0, x1, r), np.linspace(y0, y1, r)
        self.plane = jnp.asarray(np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2), jnp.float32)
        reach = 1.0 if self.config.latent == "uniform" else 2.5
        axis = np.linspace(-reach, reach, self.manifold_size if self.config.latent_dim > 1 else 101)
        grid = np.stack(np.meshgrid(axis, axis), -1) if self.config.latent_dim > 1 else axis[
            None, :, None]
        z = np.zeros((*grid.shape[:2], self.config.latent_dim), np.float32)
        z[..., :min(2, self.config.latent_dim)] = grid[..., :self.config.latent_dim]
        self.manifold_z = jnp.asarray(z.reshape(-1, self.config.latent_dim))
        self._manifold_shape = grid.shape[:2]

    def reset(self) -> str:
        """Fresh parameters from the seed, empty history (same recipe)."""
        return self._rebuild(f"reset: fresh models from seed {self.seed}")

    def reset_log(self) -> None:
        self.log: dict[str, list] = {k: [] for k in ("step", *FRAME_METRICS)}
        self.snapshots: collections.deque[Snapshot] = collections.deque(maxlen=self.max_snapshots)
        self.frames_done = 0
        self.stages: list[Stage] = []
        self.record()

    # -- changing the recipe ------------------------------------------------------------------
    def configure(self, **changes) -> str:
        """Change the recipe while it trains; returns what happened, in words.

        Knobs (``lr_g lr_d k_d r1 gp instance_noise``) go into ``state.knobs``: no recompile.
        ``loss optimizer batch_size`` switch to another (cached) compiled GAN and keep the
        parameters (the optimizer state restarts when the optimizer kind changes). ``data``
        and architecture or latent changes (``width depth activation latent_dim latent``)
        rebuild the models from the seed.
        """
        unknown = set(changes) - set(KNOBS) - set(SWITCH) - set(REBUILD)
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)}; allowed: "
                             f"{sorted((*KNOBS, *SWITCH, *REBUILD))}")
        changes = {k: v for k, v in changes.items()  # a new drawing always counts as new
                   if getattr(self.config, k) != v or (k, v) == ("data", "points")}
        if "data" in changes:
            data = changes.pop("data")
            if changes:
                self.config = self.config.replace(**changes)
            return self.set_data(data)
        if changes.get("loss") == "wasserstein" and self.config.gp == 0 and "gp" not in changes:
            changes["gp"] = 10.0  # offered as "wasserstein + GP"
        old = self.config
        self.config = old.replace(**changes)  # validates: ValueError names the field
        if any(k in changes for k in REBUILD):
            return self._rebuild(f"{_describe(changes)}: architecture/latent changed, models "
                                 f"rebuilt from seed {self.seed}")
        gan = self._gan(self.config)
        state = self.state._replace(knobs=Knobs.from_config(self.config))
        if self.config.optimizer != old.optimizer:
            state = state._replace(
                generator=state.generator._replace(opt_state=gan.tx.init(state.generator.params)),
                discriminator=state.discriminator._replace(
                    opt_state=gan.tx.init(state.discriminator.params)))
        switched = gan is not self.gan
        self.gan, self.state = gan, state
        self.message = f"{_describe(changes)}: " + (
            "same parameters, another compiled step (compiles once, on first use)" if switched
            else "live, same parameters")
        return self.message

    # -- training -----------------------------------------------------------------------------
    def train(self, steps: int) -> Session:
        """``steps`` full steps (k_d D updates, one G update each) through the engine's step."""
        if steps < 0:
            raise ValueError(f"steps must be >= 0 (got {steps})")
        chunks, state = [], self.state
        for _ in range(steps // SCAN):
            state, m = self.gan.playground["scan"](state)
            chunks.append(m)
        for _ in range(steps % SCAN):
            state, m = self.gan.step(state)
            chunks.append(jax.tree.map(lambda v: v[None], m))
        self.state = state
        for m in jax.device_get(chunks):
            for k in METRICS:
                self.history[k] = np.concatenate([self.history[k], np.asarray(m[k], np.float32)])
        self.stages = []
        return self

    def step_d(self) -> dict:
        """One discriminator update only (the step counter does not move); returns its metrics."""
        self.state, m = self.gan.playground["d_only"](self.state)
        self.stages = []
        return {k: float(v) for k, v in m.items()}

    def step_g(self) -> dict:
        """One generator update only (the step counter does not move); returns its metrics."""
        self.state, m = self.gan.playground["g_only"](self.state)
        self.stages = []
        return {k: float(v) for k, v in m.items()}

    def frame(self, state: GANState | None = None) -> Frame:
        """The plot data of ``state`` (default: the live one)."""
        state = self.state if state is None else state
        out = self.gan.playground["frame"](state.generator.params, state.discriminator.params,
                                           self.z, self.plane, self.manifold_z)
        fake, heat, manifold, arrows = (np.asarray(a) for a in out)
        r = self.resolution
        return Frame(int(state.step), self.real, fake, heat.reshape(r, r),
                     manifold.reshape(*self._manifold_shape, 2), arrows, self.bounds)

    def record(self, frame: Frame | None = None) -> Frame:
        """Measure a frame (modes, quality, grid KL/JS) into the log; snapshot every few frames."""
        frame = self.frame() if frame is None else frame
        report = metrics.mode_report(frame.fake, self.toy)
        div = metrics.grid_divergences(frame.real, frame.fake, frame.bounds)
        if self.log["step"] and self.log["step"][-1] == frame.step:
            for k in ("step", *FRAME_METRICS):
                self.log[k].pop()
        values = (frame.step, report.modes_covered, report.high_quality, div["kl"], div["js"])
        for k, v in zip(("step", *FRAME_METRICS), values, strict=True):
            self.log[k].append(v)
        if self.frames_done % self.snapshot_every == 0 and (
                not self.snapshots or self.snapshots[-1].step != frame.step):
            self.snapshots.append(Snapshot(frame.step, self.state, len(self.history["d_loss"]),
                                           len(self.log["step"])))
        self.frames_done += 1
        return frame

    def resume_from(self, index: int) -> str:
        """Make snapshot ``index`` the live run again (later history is dropped)."""
        snap = self.snapshots[index]
        self.state = snap.state._replace(knobs=Knobs.from_config(self.config))
        self.history = {k: v[:snap.history_len] for k, v in self.history.items()}
        self.log = {k: v[:snap.log_len] for k, v in self.log.items()}
        while self.snapshots[-1] is not snap:
            self.snapshots.pop()
        self.message = f"resumed from step {snap.step}"
        return self.message

    # -- slow motion --------------------------------------------------------------------------
    def slow_step(self) -> Stage:
        """Walk through one update: each call shows the next sub-step; the last one applies it.

        The batch, noise and logits are those the engine's next D update will use (same key
        split as ``GAN._step``); the update itself is the engine's step.
        """
        if not self.stages:
            self.stages = stages(self)
        stage = self.stages.pop(0)
        if stage.name == "update":
            before = int(self.state.step)
            self.train(1)
            stage.caption += (f" Step {before} -> {int(self.state.step)}: d_loss "
                              f"{self.history['d_loss'][-1]:.3f}, g_loss "
                              f"{self.history['g_loss'][-1]:.3f}.")
        return stage

    # -- drawing, saving, pretrained ----------------------------------------------------------
    def add_points(self, xy) -> int:
        """Add drawn points ``[n, 2]`` (or one ``(x, y)``) to the user's distribution."""
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        if not np.isfinite(xy).all():
            raise ValueError(f"points must be finite (got {xy})")
        self._drawn.extend(map(tuple, xy))
        return len(self._drawn)

    def clear_points(self) -> None:
        self._drawn = []

    @property
    def drawn(self) -> np.ndarray:
        return np.asarray(self._drawn, np.float64).reshape(-1, 2)

    @property
    def run(self) -> Run:
        """The live run as a :class:`ganlab.Run` (its config holds the current knob values)."""
        gan = GAN(self.config, self._points, k_d_max=self.gan.k_d_max)
        return Run(gan, self.state, dict(self.history))

    def save(self, path) -> str:
        file = self.run.save(path)
        self.message = f"saved step {int(self.state.step)} to {file}"
        return self.message

    def load(self, path) -> str:
        return self._adopt(load_run(path), f"loaded {path}")

    def _adopt(self, run: Run, message: str) -> str:
        self.config = run.config
        self._points = run.gan.data if run.config.data == "points" else None
        if self._points is not None:
            self._drawn = list(map(tuple, np.asarray(self._points.centres)))
        self.data = run.config.data
        self.gan = self._gan(self.config)
        self.toy = self.gan.data
        self.state = run.state._replace(knobs=Knobs.from_config(self.config))
        self.history = {k: np.asarray(run.history.get(k, np.zeros(0)), np.float32)
                        for k in METRICS}
        self._fixed()
        self.reset_log()
        self.message = message + f" (step {int(self.state.step)})"
        return self.message

    def load_pretrained(self, data: str | None = None) -> str:
        """Start from the shipped pretrained run for ``data`` (default: the current data)."""
        from ganlab.pretrained import load_pretrained

        data = data or self.data
        return self._adopt(load_pretrained(f"playground_{data}"), f"pretrained {data}")


def _describe(changes: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in changes.items()) or "no change"
