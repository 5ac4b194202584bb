"""The playground's model of a live 2-D GAN run, without widgets: train, step, rewind, measure.

``Session`` owns one run of the engine (a cached ``GAN``, its ``GANState`` and the per-step
``History``) and everything the live view needs from it: a frame of plot data (samples, D over
the plane, G's manifold, gradient arrows), metrics per frame, snapshots for scrubbing, half
steps (D only / G only) and a slow-motion walk through one update. Training goes through the
one loop (``ganlab.core.loop.advance``); the half steps and the frame are small pure functions
of the engine's public ones (``engine.d_update``, ``engine.g_update``, ``engine.generate``),
compiled by ``GAN.jit``.

The state is the truth: the live knobs (learning rates, k_d, R1, GP, instance noise) are
``state.knobs``, and ``session.config`` is the GAN's recipe with them filled in. Changing a
knob never recompiles; loss, optimizer and batch size switch to another cached GAN and keep the
parameters; data, architecture and latent changes rebuild the models from the seed. A change
that is refused leaves the session exactly as it was.
"""

from __future__ import annotations

import collections
import hashlib
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ganlab.core import engine, metrics
from ganlab.core.config import GANConfig, preset
from ganlab.core.data import points, sample_points
from ganlab.core.engine import GANState, Knobs
from ganlab.core.gan import GAN, check_knobs
from ganlab.core.loop import History, TrainingDiverged, advance
from ganlab.core.runs import Run, load_run
from ganlab.core.validate import count, finite
from ganlab.ui.slowmo import Stage, arrows, stages

KNOBS = Knobs._fields  # lr_g lr_d k_d r1 gp instance_noise: live, no recompile
SWITCH = ("loss", "optimizer", "batch_size")  # another compiled GAN, same parameters
REBUILD = ("data", "width", "depth", "activation", "latent_dim", "latent")  # new networks
FRAME_METRICS = ("modes_covered", "high_quality", "kl", "js")

_GANS: dict[tuple, GAN] = {}


def cached_gan(config: GANConfig, data=None, k_d_max: int = 1) -> GAN:
    """The ``GAN`` for ``config`` (knob values do not matter: they live in the state), cached."""
    base = config.replace(**{k: getattr(GANConfig, k) for k in KNOBS})
    k_d_max = max(k_d_max, config.k_d)
    data_key = config.data if data is None else _points_key(data)
    key = (base, data_key, k_d_max)
    if key not in _GANS:
        _GANS[key] = GAN(base, data, k_d_max=k_d_max)
    return _GANS[key]


def _points_key(data) -> str:
    centres = np.asarray(data.centres if data.centres is not None else data.modes, np.float32)
    return data.name + hashlib.sha1(centres.tobytes() + str(data.std).encode()).hexdigest()


def d_only(spec: engine.Spec, state: GANState) -> tuple[GANState, dict]:
    """One discriminator update (``engine.d_update``) with a key split off the state's."""
    key, key_d = jax.random.split(state.key)
    state, m = engine.d_update(spec, state, key_d)
    return state._replace(key=key), m


def g_only(spec: engine.Spec, state: GANState) -> tuple[GANState, dict]:
    """One generator update (``engine.g_update``) with a key split off the state's."""
    key, key_g = jax.random.split(state.key)
    state, m = engine.g_update(spec, state, key_g)
    return state._replace(key=key), m


def frame_arrays(spec: engine.Spec, g_params, d_params, z, plane, manifold_z):
    """Generated points ``[n, 2]``, ``sigmoid(f)`` over the plane ``[P]``, G over the latent
    grid, and the generator's push ``-dL_G/dx`` at each generated point."""
    fake = engine.generate(spec, g_params, z)
    heat = jax.nn.sigmoid(engine.discriminate(spec, d_params, plane))
    return fake, heat, engine.generate(spec, g_params, manifold_z), arrows(spec, d_params, fake)


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
    gan: GAN  # the compiled recipe the state belongs to
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

    def __post_init__(self) -> None:
        for name, low in (("seed", 0), ("n_samples", 1), ("resolution", 2),
                          ("manifold_size", 2), ("snapshot_every", 1), ("max_snapshots", 1)):
            setattr(self, name, count(name, getattr(self, name), low))
        if self.k_d_max is not None:
            self.k_d_max = count("k_d_max", self.k_d_max, 1)
        self._drawn: list[tuple[float, float]] = []
        self.message = ""
        self.set_data(self.data)

    @property
    def config(self) -> GANConfig:
        """The recipe the session trains with now: the GAN's config with the state's knobs."""
        return self.gan.current_config(self.state)

    # -- building -----------------------------------------------------------------------------
    def set_data(self, name: str, **changes) -> str:
        """Switch to a toy data set with its preset recipe (or ``"points"``: the drawing),
        with any other ``changes`` to the recipe; all or nothing."""
        if name == "points":
            if len(self._drawn) == 0:
                raise ValueError("data 'points' needs a drawing: call add_points(xy) first")
            drawn = points(np.asarray(self._drawn), std=0.05)
            config = preset("ring").replace(data="points")
        else:
            from ganlab.core.data import TOYS

            if name not in TOYS:
                raise ValueError(f"the 2-D playground trains on toy data {list(TOYS[:-1])} or "
                                 f"your drawing ('points'); got {name!r}")
            drawn, config = None, preset(name)
        config = config.replace(**changes)
        self._build(self._gan(config, drawn), self._knobs(config), name)
        self.message = f"new data {name!r}: models rebuilt from seed {self.seed}"
        return self.message

    def _build(self, gan: GAN, knobs: dict, data: str) -> None:
        """Fresh models for ``gan`` from the seed; assigns only once everything is made."""
        state = gan.init(self.seed, **knobs)
        self.data, self.gan, self.toy, self.state = data, gan, gan.data, state
        self.history = History.empty()
        self._fixed()
        self.reset_log()

    def _gan(self, config: GANConfig, drawn=None) -> GAN:
        # Each D update of a step costs a full one, so by default compile for the k_d in use;
        # a fixed k_d_max makes every k_d <= it live instead.
        return cached_gan(config, drawn, max(self.k_d_max or 1, config.k_d))

    @staticmethod
    def _knobs(config: GANConfig) -> dict:
        return {k: getattr(config, k) for k in KNOBS}

    def _fixed(self) -> None:
        """Fixed real samples, noise, plane grid and latent grid, so frames move smoothly."""
        config = self.gan.config
        _, key_z = jax.random.split(jax.random.key(self.seed + 1))
        self.real = sample_points(self.toy, self.n_samples, seed=self.seed + 1)
        self.z = self.gan.latent(key_z, self.n_samples)
        self.bounds = self.toy.bounds()
        x0, x1, y0, y1 = self.bounds
        r = self.resolution
        xs, ys = np.linspace(x0, x1, r), np.linspace(y0, y1, r)
        self.plane = jnp.asarray(np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2), jnp.float32)
        reach = 1.0 if config.latent == "uniform" else 2.5
        axis = np.linspace(-reach, reach, self.manifold_size if config.latent_dim > 1 else 101)
        grid = np.stack(np.meshgrid(axis, axis), -1) if config.latent_dim > 1 else axis[
            None, :, None]
        z = np.zeros((*grid.shape[:2], config.latent_dim), np.float32)
        z[..., :min(2, config.latent_dim)] = grid[..., :config.latent_dim]
        self.manifold_z = jnp.asarray(z.reshape(-1, config.latent_dim))
        self._manifold_shape = grid.shape[:2]

    def reset(self) -> str:
        """Fresh parameters from the seed, empty history (same recipe, same knobs)."""
        self._build(self.gan, self.gan.knobs(self.state), self.data)
        self.message = f"reset: fresh models from seed {self.seed}"
        return self.message

    def reset_log(self) -> None:
        self.log: dict[str, list] = {k: [] for k in ("step", *FRAME_METRICS)}
        self.snapshots: collections.deque[Snapshot] = collections.deque(maxlen=self.max_snapshots)
        self.frames_done = 0
        self.stages: list[Stage] = []
        self.record()

    # -- changing the recipe ------------------------------------------------------------------
    def configure(self, **changes) -> str:
        """Change the recipe while it trains; returns what happened, in words.

        Knobs (``lr_g lr_d k_d r1 gp instance_noise``) go into ``state.knobs``: no recompile
        (a k_d above the compiled ``k_d_max`` compiles once for it). ``loss optimizer
        batch_size`` switch to another (cached) compiled GAN and keep the parameters (the
        optimizer state restarts when the optimizer kind changes). ``data`` and architecture or
        latent changes (``width depth activation latent_dim latent``) rebuild the models from
        the seed. A refused change (``ValueError``) changes nothing.
        """
        unknown = set(changes) - set(KNOBS) - set(SWITCH) - set(REBUILD)
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)}; allowed: "
                             f"{sorted((*KNOBS, *SWITCH, *REBUILD))}")
        old = self.config
        changes = {k: v for k, v in changes.items()  # a new drawing always counts as new
                   if getattr(old, k) != v or (k, v) == ("data", "points")}
        if "data" in changes:
            data = changes.pop("data")
            return self.set_data(data, **changes)
        if changes.get("loss") == "wasserstein" and old.gp == 0 and "gp" not in changes:
            changes["gp"] = 10.0  # offered as "wasserstein + GP" (Gulrajani et al.'s lambda)
        config = old.replace(**changes)  # validates: ValueError names the field
        drawn = self.toy if self.data == "points" else None
        if any(k in changes for k in REBUILD):
            self._build(self._gan(config, drawn), self._knobs(config), self.data)
            self.message = (f"{_describe(changes)}: architecture/latent changed, models "
                            f"rebuilt from seed {self.seed}")
            return self.message
        gan = self._gan(config, drawn) if (
            any(k in changes for k in SWITCH) or config.k_d > self.gan.k_d_max) else self.gan
        knobs = {k: v for k, v in changes.items() if k in KNOBS}
        check_knobs(gan.config, gan.k_d_max, knobs)
        state = self.state._replace(knobs=Knobs.from_config(config))
        if config.optimizer != old.optimizer:
            state = gan.reset_optimizers(state)
        switched = gan is not self.gan
        self.gan, self.state = gan, state
        self.message = f"{_describe(changes)}: " + (
            "same parameters, another compiled step (compiles once, on first use)" if switched
            else "live, same parameters")
        return self.message

    # -- training -----------------------------------------------------------------------------
    def train(self, steps: int) -> Session:
        """``steps`` full steps (k_d D updates, one G update each) through the one loop.

        On divergence the session keeps the last finite state (and the history up to the step
        that diverged), then raises ``TrainingDiverged``."""
        self.stages = []
        try:
            self.state, history = advance(self.gan, self.state, steps)
        except TrainingDiverged as error:
            self.state, self.history = error.state, self.history.then(error.history)
            raise
        self.history = self.history.then(history)
        return self

    def diagnose(self) -> list:
        """What the training doctor (``ganlab.core.doctor``) sees in the live run: its history
        and samples, judged against the snapshot about ``doctor.WINDOW`` steps back."""
        from ganlab.core import doctor

        step = int(self.state.step)
        back = [s for s in self.snapshots if s.step <= step - doctor.WINDOW]
        before = self.frame(back[-1].state, back[-1].gan).fake if back else None
        return doctor.diagnose(self.history, self.frame().fake, self.toy, before=before,
                               start=step - self.history.steps)

    def step_d(self) -> dict:
        """One discriminator update only (the step counter does not move); returns its metrics."""
        self.state, m = self.gan.jit(d_only)(self.state)
        self.stages = []
        return {k: float(v) for k, v in m.items()}

    def step_g(self) -> dict:
        """One generator update only (the step counter does not move); returns its metrics."""
        self.state, m = self.gan.jit(g_only)(self.state)
        self.stages = []
        return {k: float(v) for k, v in m.items()}

    def frame(self, state: GANState | None = None, gan: GAN | None = None) -> Frame:
        """The plot data of ``state`` (default: the live one)."""
        state = self.state if state is None else state
        gan = self.gan if gan is None else gan
        out = gan.jit(frame_arrays)(state.generator.params, state.discriminator.params,
                                    self.z, self.plane, self.manifold_z)
        fake, heat, manifold, pushes = (np.asarray(a) for a in out)
        r = self.resolution
        return Frame(int(state.step), self.real, fake, heat.reshape(r, r),
                     manifold.reshape(*self._manifold_shape, 2), pushes, self.bounds)

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
            self.snapshots.append(Snapshot(frame.step, self.gan, self.state, self.history.steps,
                                           len(self.log["step"])))
        self.frames_done += 1
        return frame

    def resume_from(self, index: int) -> str:
        """Make snapshot ``index`` the live run again: its models and compiled recipe, with the
        live knobs as they are now (what the sliders show); later history is dropped."""
        index = count("index", index)
        if index >= len(self.snapshots):
            raise ValueError(f"there are {len(self.snapshots)} snapshots; index must be in "
                             f"[0, {len(self.snapshots) - 1}] (got {index})")
        snap = self.snapshots[index]
        knobs, gan = self.state.knobs, snap.gan
        if int(knobs.k_d) > gan.k_d_max:
            drawn = self.toy if self.data == "points" else None
            gan = cached_gan(gan.config, drawn, int(knobs.k_d))
        self.gan, self.state = gan, snap.state._replace(knobs=knobs)
        self.history = self.history.first(snap.history_len)
        self.log = {k: v[:snap.log_len] for k, v in self.log.items()}
        while self.snapshots[-1] is not snap:
            self.snapshots.pop()
        self.stages = []
        self.message = f"resumed from step {snap.step}"
        return self.message

    # -- slow motion --------------------------------------------------------------------------
    def slow_step(self) -> Stage:
        """Walk through one update: each call shows the next sub-step; the last one applies it.

        The batch, noise and logits are those the engine's next D update will use (the key
        split of ``engine.step``); the update itself is the engine's step.
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
        xy = np.asarray(finite("points", xy, "coordinates"), np.float64)
        if xy.size == 0 or xy.size % 2:
            raise ValueError(f"points must be pairs (x, y), shape [n, 2] (got shape {xy.shape})")
        self._drawn.extend(map(tuple, xy.reshape(-1, 2)))
        return len(self._drawn)

    def clear_points(self) -> None:
        self._drawn = []

    @property
    def drawn(self) -> np.ndarray:
        return np.asarray(self._drawn, np.float64).reshape(-1, 2)

    @property
    def run(self) -> Run:
        """The live run as a :class:`ganlab.Run` (its config holds the current knob values)."""
        return Run(self.gan, self.state, self.history)

    def save(self, path) -> str:
        file = self.run.save(path)
        self.message = f"saved step {int(self.state.step)} to {file}"
        return self.message

    def load(self, path) -> str:
        return self._adopt(load_run(path), f"loaded {path}")

    def _adopt(self, run: Run, message: str) -> str:
        """Continue ``run`` exactly as saved: its recipe, its knobs, its history."""
        config = run.config
        if config.model != "mlp":
            raise ValueError(f"the playground trains 2-D GANs; {message.split()[-1]} is a "
                             f"{config.data!r} run (model {config.model!r})")
        drawn = run.gan.data if config.data == "points" else None
        gan = self._gan(config, drawn)
        if drawn is not None:
            self._drawn = list(map(tuple, np.asarray(drawn.centres)))
        self.data, self.gan, self.toy, self.state = config.data, gan, gan.data, run.state
        self.history = History.of(run.history)
        self._fixed()
        self.reset_log()
        self.message = message + f" (step {int(self.state.step)})"
        return self.message

    def load_pretrained(self, data: str | None = None) -> str:
        """Start from the shipped pretrained run for ``data`` (default: the current data)."""
        from ganlab.core.pretrained import load_pretrained

        data = data or self.data
        return self._adopt(load_pretrained(f"playground_{data}"), f"pretrained {data}")


def _describe(changes: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in changes.items()) or "no change"
