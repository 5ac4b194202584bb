"""The one training loop: every way of training (a run, a sweep, the playground, the CLI) calls
``advance``, which runs compiled chunks of guarded steps and reports through callbacks.

    state, history = advance(gan, state, 5000, progress=True)

A guarded step (``engine.guarded_step``) never takes a step whose losses or weights are not
finite, so a divergence leaves the last finite state; ``advance`` then raises
``TrainingDiverged`` naming the step (for a sweep: which models; the others train on).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable

import numpy as np
from tqdm.auto import tqdm

from ganlab.core import hosts
from ganlab.core.engine import METRICS, GANState
from ganlab.core.validate import count


class History(dict):
    """Per-step metrics (a GAN's: ``METRICS``), each ``[steps]`` (a sweep's: ``[N, steps]``);
    ``a.then(b)`` is the one place histories are joined."""

    @classmethod
    def empty(cls, lead: tuple[int, ...] = (), names: tuple[str, ...] = METRICS) -> History:
        return cls({k: np.zeros((*lead, 0), np.float32) for k in names})

    @classmethod
    def of(cls, values: dict, lead: tuple[int, ...] = ()) -> History:
        """A history from a dict of metric arrays (missing metrics as NaN, float32)."""
        steps = max((np.shape(v)[-1] for v in values.values()), default=0)
        return cls({k: np.asarray(values[k], np.float32) if k in values
                    else np.full((*lead, steps), np.nan, np.float32) for k in METRICS})

    @property
    def steps(self) -> int:
        return int(np.shape(self["d_loss"])[-1])

    @classmethod
    def concat(cls, parts: list[dict], lead: tuple[int, ...] = ()) -> History:
        """The histories of consecutive chunks as one."""
        history = cls.empty(lead, tuple(parts[0]) if parts else METRICS)
        for part in parts:
            history = history.then(part)
        return history

    def then(self, other: dict) -> History:
        """This history followed by ``other``'s steps."""
        return History({k: np.concatenate([self[k], np.asarray(other[k], np.float32)], -1)
                        for k in self})

    def first(self, steps: int) -> History:
        return History({k: v[..., :steps] for k, v in self.items()})

    def model(self, index: int) -> History:
        """One model's history out of a sweep's."""
        return History({k: v[index] for k, v in self.items()})


class TrainingDiverged(FloatingPointError):
    """A loss or a weight became NaN or infinite. ``error.state`` is the last finite state
    (the step that diverged was not taken) and ``error.history`` the history up to it, the
    diverging step included (as NaN)."""

    def __init__(self, message: str, state: GANState, history: History, step: int):
        super().__init__(message)
        self.state, self.history, self.step = state, history, step


class DivergenceWarning(RuntimeWarning):
    """Some models of a sweep diverged; they stay at their last finite state."""


Callback = Callable[[GANState, History, int], None]
"""Called after every compiled chunk with (state, that chunk's history, steps done so far)."""


def advance(gan, state: GANState, steps: int, *, progress: bool = False,
            callbacks: Iterable[Callback] = ()) -> tuple[GANState, History]:
    """Train ``state`` ``steps`` steps with ``gan``'s compiled chunks; returns the new state
    (batch-norm statistics refreshed) and the history of these steps.

    Raises ``TrainingDiverged`` when a step is not finite (a sweep: when every model has
    diverged; before that a ``DivergenceWarning`` names the ones that did). On
    ``KeyboardInterrupt`` (Ctrl-C, or SIGTERM where the CLI turns it into one) it stops after
    the chunk it is in and returns what was trained (``state.step`` says how far it got).
    """
    steps = count("steps", steps)
    lead = tuple(np.shape(state.step))
    parts: list[dict] = []
    done, warned = 0, np.zeros(lead, bool)
    bar = tqdm(total=steps, disable=not progress, unit="step")
    try:
        for n in gan.chunks(steps):
            start = hosts.to_host(state.step)
            state, part = gan.run_chunk(state, n)
            parts.append(part)
            done += n
            bar.update(n)
            bar.set_postfix(d_loss=_last(part, "d_loss"), g_loss=_last(part, "g_loss"))
            bad = ~np.isfinite(part["d_loss"]).all(-1)
            if bad.any():
                history = History.concat(parts, lead)
                if not lead:  # one model: the history ends with the step that diverged
                    history = history.first(done - n + int(np.argmax(bad_steps(part))) + 1)
                error = _diverged(gan, state, history, start, part, bad)
                if not lead or bad.all() or (warned | bad).all():
                    raise error
                if (bad & ~warned).any():
                    warnings.warn(str(error), DivergenceWarning, stacklevel=2)
                    warned |= bad
            for callback in callbacks:
                callback(state, History(part), done)
    except KeyboardInterrupt:
        print(f"Interrupted: kept the {done} steps trained so far "
              f"(at step {int(np.max(hosts.to_host(state.step)))}).")
    except TrainingDiverged as error:
        error.state = gan.refresh_stats(error.state)
        raise
    finally:
        bar.close()
    return gan.refresh_stats(state), History.concat(parts, lead)


def _last(part: dict, name: str) -> str:
    """The mean over models of a metric's last finite value in a chunk, for the progress bar."""
    last = np.asarray(part[name])[..., -1]
    finite = last[np.isfinite(last)]
    return f"{finite.mean():.3f}" if finite.size else "nan"


def bad_steps(history: dict) -> np.ndarray:
    """Which steps were not taken because they were not finite (their metrics are NaN)."""
    return ~np.isfinite(history["d_loss"])


def _diverged(gan, state, history: History, start, part: dict, bad: np.ndarray
              ) -> TrainingDiverged:
    """The error for the first non-finite step of ``part`` (per model in a sweep)."""
    first = np.argmax(bad_steps(part), -1) + start  # per model
    knobs = state.knobs
    if bad.ndim == 0:
        where, at = "", int(first)
        lr_d, lr_g = float(knobs.lr_d), float(knobs.lr_g)
    else:
        models = np.flatnonzero(bad)
        at = int(first.ravel()[models[0]])
        shown = ", ".join(f"{i} (step {int(first.ravel()[i])})" for i in models[:8])
        where = f"{len(models)} of {bad.size} models ({shown}{', ...' if len(models) > 8 else ''}) "
        lr_d = float(hosts.to_host(knobs.lr_d).ravel()[models[0]])
        lr_g = float(hosts.to_host(knobs.lr_g).ravel()[models[0]])
    message = (
        f"training {where}diverged at step {at}: a loss or a weight became NaN or infinite. "
        f"Try lower learning rates (lr_d={lr_d:g}, lr_g={lr_g:g}; e.g. halve them) or a "
        f"gradient penalty (r1 or gp). error.state holds the last finite state (step {at})."
    )
    return TrainingDiverged(message, state, history, at)
