"""The training doctor: name what is going wrong while a GAN trains, with the lessons' remedy.

    for finding in doctor.diagnose(run.history, run.sample(2000), run.gan.data):
        print(finding)      # "D wins since step 1200: D(x) = 0.99, D(G(z)) = 0.01 ..."
    run.train(5000, callbacks=[doctor.watch(run.gan)])   # says it once, when it first appears

Four failure modes, each from numbers the loop records anyway (``History``: every step's
``d_real`` = mean D(x), ``d_fake`` = mean D(G(z)), losses) or from a few samples:

- **divergence**: a non-finite step (``loop.bad_steps``: its metrics are NaN), named by step.
- **D wins**: over the last ``WINDOW`` steps mean D(x) >= ``D_WINS_REAL`` and mean
  D(G(z)) <= ``D_WINS_FAKE``. D separates real from fake almost perfectly; the saturating
  loss's gradient -D(G(z)) vanishes, and any loss's gradient points nowhere useful.
- **oscillation**: D(G(z)) cycles without settling (the Dirac-GAN's rotation, lesson 04). Over
  the last ``WINDOW`` steps, ``r = mean_S(d_fake) - mean_L(d_fake)`` (centred moving means over
  ``S`` = 10 and ``L`` = 100 steps: batch noise removed, slow drift removed). It oscillates
  when the RMS of ``r`` over the window's second half is >= ``OSC_AMPLITUDE`` (an absolute
  swing of D), >= ``OSC_NOISE`` times what white batch noise would leave
  (``sigma sqrt(1/S - 1/L)``, ``sigma = std(diff(d_fake)) / sqrt 2``) and >= ``OSC_SETTLING``
  times the first half's (not dying out), and ``r`` changes sign >= 2 x ``OSC_CYCLES`` times.
- **mode collapse** (2-D toys): samples within half the smallest distance between two modes
  are assigned to their nearest mode; ``n_eff = exp(H)``, ``H`` the entropy of that histogram,
  is the effective number of modes visited (M for a uniform spread, 1 for one mode). Collapse
  when ``n_eff <= COLLAPSE_SHARE x M`` with at least ``MIN_NEAR`` samples near modes, and,
  given an earlier snapshot (``before``), ``n_eff`` rose by less than ``M / 8`` since: a
  generator still spreading out (the grid's early steps) is not collapsing. Images: with a
  ``classifier`` the same ``n_eff`` over predicted classes; without, the spread (per-pixel std
  over samples, averaged) below ``SPREAD_RATIO`` x the data's (not yet measured on a GAN).

Oscillation and mode collapse are judged from step ``WARMUP`` on: before it a healthy GAN's D
outputs may swing while the players find each other (ring preset, seed 6: RMS 0.04 at step 500,
damped by step 1000) and its samples are still spreading out.

Measured (tests/test_doctor.py, 16 seeds in one sweep, 2000 steps): the ring preset has
D(x) <= 0.54 and D(G(z)) >= 0.43, oscillation RMS <= 0.0024 and <= 2.3x noise after the warm-up,
n_eff >= 7.5 of 8 from step 1000; lesson 04's collapsing recipe has RMS 0.02-0.08 and 8-27x
noise on every seed at step 2000 and n_eff 1.0-5.4 (<= 4 on 13 of 16; watched every 500 steps,
named on 16 of 16); the grid preset has n_eff 8.7-12.4 of 25 at step 1000, rising >= 6.2 since
step 500, and >= 12.9 from step 1500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ganlab.core import hosts
from ganlab.core.data import Toy
from ganlab.core.loop import Callback, History, bad_steps
from ganlab.core.metrics import mode_report

NAMES = ("divergence", "d_wins", "oscillation", "mode_collapse")
WINDOW = 500  # steps the windowed statistics look back
D_WINS_REAL, D_WINS_FAKE = 0.9, 0.1  # healthy ring: D(x) ~ 0.52, D(G(z)) ~ 0.46
OSC_SMOOTH, OSC_LOCAL = 10, 100  # the two moving means (steps)
WARMUP = 2 * WINDOW  # steps before oscillation and mode collapse are judged
OSC_AMPLITUDE, OSC_NOISE, OSC_CYCLES, OSC_SETTLING = 0.01, 4.0, 3, 0.25
COLLAPSE_SHARE, MIN_NEAR, SPREAD_RATIO = 0.5, 20, 0.5

REMEDY = {
    "divergence": "Try lower learning rates (e.g. halve them) or a gradient penalty (r1 or gp)",
    "d_wins": "Try: lower lr_d or raise lr_g (TTUR), R1 (r1=0.1), instance noise, or the "
              "non-saturating loss",
    "oscillation": "Try: R1 (r1=0.1) or instance noise, which damp the rotation (lesson 04, "
                   "the Dirac-GAN), lower learning rates, or an EMA of G (ema=0.999)",
    "mode_collapse": "Try: G as slow as D (lr_g = lr_d), R1 (r1=0.1), a larger batch "
                     "(lesson 04's remedy), or minibatch std (mbstd=16)",
}


@dataclass(frozen=True)
class Diagnosis:
    """One failure mode seen in a history: ``name`` (one of ``NAMES``), the ``step`` it was
    first seen at, a one-line ``message`` with the numbers and the remedy, and for a sweep the
    ``model`` index."""

    name: str
    step: int
    message: str
    model: int | None = None

    def __str__(self) -> str:
        return self.message if self.model is None else f"model {self.model}: {self.message}"


def diagnose(history: dict, samples=None, data=None, *, before=None, classifier=None,
             start: int = 0, loss: str | None = None) -> list[Diagnosis]:
    """The failure modes ``history`` (one GAN's ``[steps]`` or a sweep's ``[N, steps]``) shows.

    Args:
      history: a ``History`` (or dict of its metric arrays); ``start`` is its first step.
      samples: generated samples, ``[n, 2]`` / ``[n, H, W, C]`` (a sweep: ``[N, n, ...]``),
        for mode collapse; ``data`` a ``Toy`` (2-D) or real images ``[m, H, W, C]``.
      before: an earlier snapshot of samples like ``samples`` (2-D only): then collapse also
        needs the modes visited not to be rising.
      classifier: images only, a function ``images -> labels [n]`` (then the class histogram).
      loss: the GAN's loss; with ``"wasserstein"`` D wins is not judged (a critic's sigmoid is
        not a probability: far from 0.5 on real and fake is normal there).

    Returns:
      The diagnoses, in ``NAMES`` order (a sweep's per model, ``model`` set). Thresholds and
      their maths: the module docstring.
    """
    history = History.of(history, np.shape(history["d_loss"])[:-1])
    if np.ndim(history["d_loss"]) == 2:
        return [Diagnosis(d.name, d.step, d.message, i)
                for i in range(np.shape(history["d_loss"])[0])
                for d in diagnose(history.model(i), _pick(samples, i), data,
                                  before=_pick(before, i), classifier=classifier, start=start,
                                  loss=loss)]
    found = [_divergence(history, start),
             None if loss == "wasserstein" else _d_wins(history, start)]
    if start + history.steps < WARMUP:
        return [d for d in found if d is not None]
    found.append(_oscillation(history, start))
    if samples is not None and data is not None:
        found.append(_mode_collapse(samples, data, before, classifier, start + history.steps))
    return [d for d in found if d is not None]


def _pick(samples, i):
    return None if samples is None else np.asarray(samples)[i]


def _divergence(history: History, start: int) -> Diagnosis | None:
    bad = bad_steps(history) | ~np.isfinite(history["g_loss"])
    if not bad.any():
        return None
    step = start + int(np.argmax(bad))
    return Diagnosis("divergence", step, f"divergence at step {step}: a loss or a weight "
                     f"became NaN or infinite. {REMEDY['divergence']}")


def _window(history: History, name: str) -> np.ndarray:
    """The last ``WINDOW`` finite values of a metric (all of them, after a first half of
    warm-up, when there are fewer), float64."""
    x = np.asarray(history[name], np.float64)
    x = x[np.isfinite(x)]
    return x[-WINDOW:] if len(x) >= 2 * WINDOW else x[len(x) // 2:]


def _d_wins(history: History, start: int) -> Diagnosis | None:
    real, fake = _window(history, "d_real"), _window(history, "d_fake")
    if len(real) < 50 or real.mean() < D_WINS_REAL or fake.mean() > D_WINS_FAKE:
        return None
    # since: the start of the last stretch where 50-step means were already that far apart
    both = np.stack([np.asarray(history[k], np.float64) for k in ("d_real", "d_fake")])
    smooth = _moving(np.nan_to_num(both, nan=0.5), 50)
    apart = (smooth[0] >= D_WINS_REAL) & (smooth[1] <= D_WINS_FAKE)
    first = len(apart) - int(np.argmin(apart[::-1])) if not apart.all() else 0
    raw = (both[0, first:first + 50] >= D_WINS_REAL) & (both[1, first:first + 50] <= D_WINS_FAKE)
    since = start + first + (int(np.argmax(raw)) if raw.any() else 0)
    return Diagnosis("d_wins", since, (
        f"D wins since step {since}: D(x) = {real.mean():.2f}, D(G(z)) = {fake.mean():.2f} "
        f"over the last {len(real)} steps; the generator's gradient vanishes. "
        f"{REMEDY['d_wins']}"))


def oscillation_stats(d_fake) -> dict[str, float]:
    """``rms``, ``noise`` (the RMS white batch noise would leave) and ``cycles`` of the
    detrended D(G(z)) over its last ``WINDOW`` steps (the module docstring has the maths)."""
    x = np.asarray(d_fake, np.float64)
    x = x[np.isfinite(x)][-WINDOW:]
    if len(x) < 2 * OSC_LOCAL:
        return {"rms": 0.0, "settling": 0.0, "noise": np.inf, "cycles": 0.0,
                "mean": float(np.mean(x))}
    local = _moving(x, OSC_LOCAL)
    offset = (OSC_LOCAL - OSC_SMOOTH) // 2
    r = _moving(x, OSC_SMOOTH)[offset:offset + len(local)] - local
    sigma = np.std(np.diff(x)) / np.sqrt(2)
    early, late = np.array_split(r, 2)
    return {"rms": float(np.sqrt(np.mean(late ** 2))),
            "settling": float(np.sqrt(np.mean(late ** 2) / max(np.mean(early ** 2), 1e-24))),
            "noise": float(sigma * np.sqrt(1 / OSC_SMOOTH - 1 / OSC_LOCAL)),
            "cycles": float(np.sum(np.diff(np.sign(r)) != 0) / 2), "mean": float(x.mean())}


def _oscillation(history: History, start: int) -> Diagnosis | None:
    s = oscillation_stats(history["d_fake"])
    if (s["rms"] < OSC_AMPLITUDE or s["rms"] < OSC_NOISE * s["noise"]
            or s["cycles"] < OSC_CYCLES or s["settling"] < OSC_SETTLING):
        return None
    steps = min(WINDOW, int(np.isfinite(history["d_fake"]).sum()))
    since = start + history.steps - steps
    period = (steps - OSC_LOCAL) / max(s["cycles"], 1)
    return Diagnosis("oscillation", since, (
        f"oscillation over the last {steps} steps: D(G(z)) cycles around {s['mean']:.2f} by "
        f"+-{s['rms']:.3f} ({s['rms'] / max(s['noise'], 1e-12):.0f}x batch noise, about "
        f"{s['cycles']:.0f} cycles of ~{period:.0f} steps) without settling. "
        f"{REMEDY['oscillation']}"))


def coverage_stats(samples, data) -> dict[str, float]:
    """``n_eff``, the effective number of modes (classes) the samples visit, of ``n``; for
    images without a classifier ``spread``, the samples' spread over the data's."""
    x = np.asarray(samples, np.float64)
    if isinstance(data, Toy):
        modes = np.asarray(data.modes, np.float64)
        gaps = np.linalg.norm(modes[:, None] - modes[None], axis=-1)
        radius = np.min(gaps + np.diag(np.full(len(modes), np.inf))) / 2 if len(modes) > 1 \
            else 3 * data.std
        report = mode_report(x, data, radius=radius)
        return {"n_eff": _effective(report.counts), "n": len(modes),
                "near": float(report.counts.sum())}
    spread = np.std(x, 0).mean() / max(np.std(np.asarray(data, np.float64), 0).mean(), 1e-12)
    return {"spread": float(spread)}


def _effective(counts) -> float:
    """exp(entropy) of a histogram: how many bins it is spread over (M if uniform)."""
    p = np.asarray(counts, np.float64)
    p = p[p > 0] / max(p.sum(), 1)
    return float(np.exp(-(p * np.log(p)).sum())) if p.size else 0.0


def _mode_collapse(samples, data, before, classifier, step: int) -> Diagnosis | None:
    remedy = REMEDY["mode_collapse"]
    if classifier is not None:
        labels = np.asarray(classifier(samples)).astype(int)
        n = int(getattr(data, "n_classes", 0) or labels.max() + 1)
        n_eff = _effective(np.bincount(labels, minlength=n))
        if n_eff > COLLAPSE_SHARE * n:
            return None
        return Diagnosis("mode_collapse", step, f"mode collapse at step {step}: the samples "
                         f"spread over {n_eff:.1f} of {n} classes (exp of the class "
                         f"histogram's entropy). {remedy}")
    now = coverage_stats(samples, data)
    if "spread" in now:
        if now["spread"] >= SPREAD_RATIO:
            return None
        return Diagnosis("mode_collapse", step, f"mode collapse at step {step}: the samples "
                         f"vary {now['spread']:.2f}x as much as the data (per-pixel std). "
                         f"{remedy}")
    n = now["n"]
    if now["near"] < MIN_NEAR or now["n_eff"] > COLLAPSE_SHARE * n:
        return None
    was = None if before is None else coverage_stats(before, data)
    if was is not None and was["near"] >= MIN_NEAR and now["n_eff"] - was["n_eff"] >= n / 8:
        return None  # still spreading out
    trend = "" if was is None else f" (earlier: {was['n_eff']:.1f})"
    return Diagnosis("mode_collapse", step, (
        f"mode collapse at step {step}: the samples visit {now['n_eff']:.1f} of {n} modes"
        f"{trend} (exp of the entropy of the nearest-mode histogram). {remedy}"))


def _moving(x: np.ndarray, w: int) -> np.ndarray:
    """Moving means over ``w`` steps along the last axis (``valid``: ``w - 1`` fewer)."""
    c = np.cumsum(np.concatenate([np.zeros((*x.shape[:-1], 1)), x], -1), -1)
    return (c[..., w:] - c[..., :-w]) / w


def watch(gan=None, *, every: int = WINDOW, n: int = 1000, classifier=None,
          say: Callable[[str], None] | None = None) -> Callback:
    """A ``loop.advance`` callback that runs ``diagnose`` on the last 2 x ``WINDOW`` steps after
    every chunk and ``say``s (default: a line above the progress bar) each failure mode once,
    when it first appears (a sweep: one line per failure mode, naming the models).

    With ``gan`` on 2-D data (or a ``classifier``) it also draws ``n`` samples every ``every``
    steps for mode collapse, judged against the previous draw. ``callback.found`` keeps every
    ``Diagnosis`` said so far."""
    from tqdm.auto import tqdm

    say = say or tqdm.write
    buffer: dict = {}
    seen: set = set()
    last: dict = {"step": None, "samples": None}

    def callback(state, part: History, done: int) -> None:
        nonlocal buffer
        buffer = History(part) if not buffer else History(buffer).then(part)
        buffer = History({k: v[..., -2 * WINDOW:] for k, v in buffer.items()})
        step = int(np.max(hosts.to_host(state.step)))
        samples, before = None, None
        toy = gan is not None and isinstance(gan.data, Toy)
        if (toy or classifier is not None) and (last["step"] is None
                                                 or step - last["step"] >= every):
            samples, before = hosts.to_host(gan.sample(state, n, 12345)), last["samples"]
            last.update(step=step, samples=samples)
            if before is None:
                samples = None  # the first draw is only a reference
        new = [d for d in diagnose(buffer, samples, gan.data if gan is not None else None,
                                   before=before, classifier=classifier,
                                   start=step - History(buffer).steps,
                                   loss=gan.config.loss if gan is not None else None)
               if (d.name, d.model) not in seen]
        seen.update((d.name, d.model) for d in new)
        callback.found.extend(new)
        for name in NAMES:
            these = [d for d in new if d.name == name]
            if these and these[0].model is None:
                say(f"doctor: {these[0]}")
            elif these:
                models = ", ".join(str(d.model) for d in these[:8]) + (
                    ", ..." if len(these) > 8 else "")
                say(f"doctor: {len(these)} models ({models}): {these[0].message}")

    callback.found = []
    return callback
