"""The lessons' claims about GANs on 2-D points (lessons 02, 03, 04 and the playground).

Each recipe trains every seed at once (``ganlab.sweep``) and is the lesson's own setting.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ganlab.core.config import preset
from ganlab.core.data import sample_points, toy
from ganlab.core.gan import GAN
from ganlab.core.metrics import grid_divergences, mode_report
from ganlab.core.runs import Run, SweepRun, sweep
from ganlab.lessons import theory
from ganlab.lessons.claims import Claim

RING = toy("ring")


def coverage(run: SweepRun, n: int = 2000) -> dict[str, np.ndarray]:
    """Modes covered and the high-quality fraction of ``n`` samples of every model."""
    reports = [mode_report(x, run.gan.data) for x in run.sample(n)]
    return {"modes": np.array([r.modes_covered for r in reports]),
            "high_quality": np.array([r.high_quality for r in reports])}


# -- lesson 02: the saturating loss against a confident discriminator ------------------------
# Uniform z: Gaussian tails put a few fakes near the ring, where D cannot be sure, and those few
# dominate (and on some seeds blow up) the saturating gradient: over 16 seeds the claim held on
# 5 with Gaussian z, on 16 with uniform z.
OBJECTIVE_BASE = preset("ring", latent="uniform", optimizer="sgd", lr_d=0.05, lr_g=1e-9, r1=0.0,
                        batch_size=128)
OBJECTIVE_WARMUP, OBJECTIVE_STEPS = 300, 20


@dataclass
class LossRace:
    """Lesson 02's experiment for some seeds: D's head start, then G alone for 20 steps."""

    warmup: SweepRun
    norms: dict[str, np.ndarray]  # generator gradient norm at the head start, per loss
    runs: dict[str, list[Run]]  # per loss, per seed: G trained 20 steps against the frozen D
    moved: dict[str, np.ndarray]  # mean distance the samples moved, per loss


def loss_race(seeds: Sequence[int]) -> LossRace:
    """D trains alone (SGD, lr 0.05) for 300 steps; then each generator loss trains G alone
    (lr 0.01) for 20 steps against that frozen D."""
    warmup = sweep(OBJECTIVE_BASE, OBJECTIVE_WARMUP, seeds=seeds, progress=False)
    kinds = ("saturating", "non_saturating")
    gans = {kind: GAN(OBJECTIVE_BASE.replace(loss=kind)) for kind in kinds}
    norms = {kind: theory.generator_gradient_norm(warmup.gan, warmup.state, kind)
             for kind in kinds}
    runs = {kind: [] for kind in kinds}
    moved = {kind: [] for kind in kinds}
    for i in range(len(seeds)):
        start = warmup.run(i)
        for kind in kinds:
            run = Run(gans[kind], start.state).set(lr_g=0.01, lr_d=1e-9)
            before = run.sample(2000, seed=1)
            runs[kind].append(run.train(OBJECTIVE_STEPS, progress=False))
            moved[kind].append(np.linalg.norm(run.sample(2000, seed=1) - before, axis=1).mean())
    return LossRace(warmup, norms, runs,
                    {k: np.array(v) for k, v in moved.items()})


SATURATION = Claim(
    "saturation", "02",
    "after D's head start (D(G(z)) < 0.05) the saturating gradient is > 20x smaller; in 20 steps "
    "the non-saturating G fools D (D(G(z)) > 0.5), the saturating one not (< 0.1), and moves 10x "
    "further",
    loss_race,
    lambda race: {
        "d_fake": race.warmup.history["d_fake"][:, -1],
        "norm_ratio": race.norms["non_saturating"] / race.norms["saturating"],
        "fooled_ns": [r.history["d_fake_g"][-1] for r in race.runs["non_saturating"]],
        "fooled_sat": [r.history["d_fake_g"][-1] for r in race.runs["saturating"]],
        "moved_ratio": race.moved["non_saturating"] / race.moved["saturating"],
    },
    lambda v: (v["d_fake"] < 0.05) & (v["norm_ratio"] > 20) & (v["fooled_ns"] > 0.5)
    & (v["fooled_sat"] < 0.1) & (v["moved_ratio"] > 10),
)

# -- lesson 03: the training loop on the ring ------------------------------------------------
LOOP_CONFIG = preset("ring", lr_g=1e-3, lr_d=1e-3, k_d=1, batch_size=128, r1=0.0)
LOOP_STEPS = 2000


def _plane(n: int = 80) -> np.ndarray:
    x0, x1, y0, y1 = RING.bounds()
    return np.stack(np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n)), -1).reshape(-1, 2)


def loop_outcome(run: SweepRun) -> dict[str, np.ndarray]:
    """JS divergence to the ring before and after (grid estimate), and D's mean on the modes
    against its mean over the plane."""
    real = sample_points(RING, 2000, seed=42)
    after = run.sample(2000, seed=42)
    js = [grid_divergences(real, x, RING.bounds())["js"] for x in after]
    d = jax.vmap(run.gan.discriminate, (0, None))
    params = run.state.discriminator.params
    on_modes = jax.nn.sigmoid(d(params, jnp.asarray(RING.modes, jnp.float32))).mean(-1)
    on_plane = jax.nn.sigmoid(d(params, jnp.asarray(_plane(), jnp.float32))).mean(-1)
    return {"js": np.array(js), "d_modes_minus_plane": np.asarray(on_modes - on_plane)}


def _loop_train(seeds):
    run = sweep(LOOP_CONFIG, 0, seeds=seeds, progress=False)
    before = run.sample(2000, seed=42)  # the untrained generators' samples
    return run.train(LOOP_STEPS, progress=False), before


def _loop_measure(trained):
    run, before = trained
    outcome = loop_outcome(run)
    real = sample_points(RING, 2000, seed=42)
    before = [grid_divergences(real, x, RING.bounds())["js"] for x in before]
    return {**outcome, "js_ratio": outcome["js"] / np.array(before)}


TRAINING_LOOP = Claim(
    "training_loop", "03",
    "2000 steps of Algorithm 1 (Adam 1e-3, batch 128) bring the JS divergence to the ring "
    "below 0.7x its start, and D is higher on the modes than over the plane (by > 0.1)",
    _loop_train, _loop_measure,
    lambda v: (v["js_ratio"] < 0.7) & (v["d_modes_minus_plane"] > 0.1),
)

STRONG_D = preset("ring", loss="saturating", lr_d=1e-2, lr_g=1e-3, k_d=5, batch_size=128, r1=0.0)
BALANCED = preset("ring", lr_d=1e-3, lr_g=1e-3, k_d=1, batch_size=128, r1=0.0)
KNOB_STEPS = 1000


def _d_wins_train(seeds):
    return {name: sweep(config, KNOB_STEPS, seeds=seeds, progress=False)
            for name, config in (("balanced", BALANCED), ("strong", STRONG_D))}


D_WINS = Claim(
    "d_wins", "03",
    "with the saturating loss, 5 D steps per G step and lr_d = 1e-2, D(G(z)) over the last 200 "
    "steps sinks below the balanced recipe's",
    _d_wins_train,
    lambda runs: {name: run.history["d_fake"][:, -200:].mean(-1) for name, run in runs.items()},
    lambda v: v["strong"] < v["balanced"],
)

# -- lesson 04: mode collapse and its remedy -------------------------------------------------
COLLAPSE = preset("ring", lr_g=1e-3, lr_d=1e-4, r1=0.0, batch_size=128)
COLLAPSE_STEPS = 2000
# The remedy is ganlab's ring preset: G as slow as D (lr_g 1e-4), R1 gamma 0.1, batch 256. Over
# 16 seeds at 5000 steps it covered 8 modes on 15 and 7 on one (HQ 55-64%). The earlier remedy
# (lr 1e-3 both, R1 0.01, batch 256) covered 4 to 8 at 3000 steps and at 6000.
REMEDY = COLLAPSE.replace(lr_g=1e-4, r1=0.1, batch_size=256)
REMEDY_STEPS = 5000
REMEDY_CHANGES = {"lr_g": (1e-3, 1e-4), "r1": (0.0, 0.1), "batch_size": (128, 256)}


def one_change_at_a_time(seeds: Sequence[int] = (0,), steps: int = REMEDY_STEPS
                         ) -> list[tuple[dict, dict[str, np.ndarray]]]:
    """Every combination of the remedy's three changes to the collapsing recipe (2 x 2 x 2),
    ``steps`` steps on ``seeds``: ``[(changes, coverage), ...]``, the collapse first and the
    remedy last. The learning rate and R1 are live knobs (one sweep per batch size)."""
    table = []
    for batch in REMEDY_CHANGES["batch_size"]:
        run = sweep(COLLAPSE.replace(batch_size=batch), steps, lr_g=REMEDY_CHANGES["lr_g"],
                    r1=REMEDY_CHANGES["r1"], seeds=seeds, progress=False)
        found = coverage(run)
        for i, (lr_g, r1) in enumerate(itertools.product(REMEDY_CHANGES["lr_g"],
                                                         REMEDY_CHANGES["r1"])):
            rows = slice(i * len(seeds), (i + 1) * len(seeds))
            table.append(({"lr_g": lr_g, "r1": r1, "batch_size": batch},
                          {k: v[rows] for k, v in found.items()}))
    return table


RING_COLLAPSE = Claim(
    "ring_collapse", "04",
    "G learning 10x faster than D (lr_g 1e-3, lr_d 1e-4, no R1) covers at most 2 of 8 modes",
    lambda seeds: sweep(COLLAPSE, COLLAPSE_STEPS, seeds=seeds, progress=False),
    coverage, lambda v: v["modes"] <= 2,
)

RING_REMEDY = Claim(
    "ring_remedy", "04",
    "G as slow as D (lr_g 1e-4), R1 gamma 0.1 and batch 256 (the ring preset) cover at least 7 of "
    "8 modes in 5000 steps",
    lambda seeds: sweep(REMEDY, REMEDY_STEPS, seeds=seeds, progress=False),
    coverage, lambda v: v["modes"] >= 7,
)

# -- lesson 04: what the source article's FAQ suggests against a stuck GAN ------------------
# Each alone on the collapsing recipe, for its 2000 steps. SGD barely moves at Adam's step sizes,
# so both of its rates are ten times larger (the recipe's ratio kept). lr_g 1e-3 is the recipe.
FAQ_LR_G = (1e-4, 3e-3)  # at lr_d 1e-4: as slow as D, and three times the recipe's
FAQ_SGD = dict(optimizer="sgd", lr_g=1e-2, lr_d=1e-3)
FAQ_BATCH = 512


def faq_suggestions(seeds: Sequence[int]) -> dict[str, dict[str, np.ndarray]]:
    """``{suggestion: coverage}`` on ``seeds``: the two generator learning rates (one sweep, a
    live knob), SGD, and a batch of ``FAQ_BATCH``, each applied alone to ``COLLAPSE``."""
    n = len(seeds)
    by_lr_g = coverage(sweep(COLLAPSE, COLLAPSE_STEPS, lr_g=list(FAQ_LR_G), seeds=seeds,
                             progress=False))  # models in the order (lr_g, seed)
    found = {f"Adam, lr_g {lr:.0e}": {k: v[i * n:(i + 1) * n] for k, v in by_lr_g.items()}
             for i, lr in enumerate(FAQ_LR_G)}
    found[f"SGD, lr_g {FAQ_SGD['lr_g']:.0e}, lr_d {FAQ_SGD['lr_d']:.0e}"] = coverage(
        sweep(COLLAPSE.replace(**FAQ_SGD), COLLAPSE_STEPS, seeds=seeds, progress=False))
    found[f"Adam, batch {FAQ_BATCH}"] = coverage(
        sweep(COLLAPSE.replace(batch_size=FAQ_BATCH), COLLAPSE_STEPS, seeds=seeds,
              progress=False))
    return found


FAQ = Claim(
    "faq", "04",
    f"none of the FAQ's suggestions alone (lr_g {FAQ_LR_G[0]:.0e} or {FAQ_LR_G[1]:.0e}, SGD, "
    f"batch {FAQ_BATCH}) lifts the collapsing recipe above 4 of 8 modes or 20% high quality",
    faq_suggestions,
    lambda found: {"most_modes": np.max([c["modes"] for c in found.values()], 0),
                   "best_high_quality": np.max([c["high_quality"] for c in found.values()], 0)},
    lambda v: (v["most_modes"] <= 4) & (v["best_high_quality"] < 0.2),
    seeds=(0, 1),  # 8 GANs, 2 of them at batch 512: two seeds keep lesson 04 under 5 minutes
)

# -- lesson 04: vanishing gradients ----------------------------------------------------------
# Uniform z, as in lesson 02: with Gaussian tails a few fakes start near the data, where D stays
# unsure, and keep the saturating gradient alive (the claim held on 11 of 16 seeds; uniform: 16).
VANISHING = preset("ring", latent="uniform", k_d=5, lr_d=1e-3, lr_g=1e-8, r1=0.0)
VANISHING_STEPS = 600


def _vanishing_train(seeds):
    start = sweep(VANISHING, 0, seeds=seeds, progress=False)
    before = theory.generator_gradient_norm(start.gan, start.state, "non_saturating")
    return start.train(VANISHING_STEPS, progress=False), before


def _vanishing_measure(trained):
    run, before = trained
    after = {kind: theory.generator_gradient_norm(run.gan, run.state, kind)
             for kind in ("saturating", "non_saturating")}
    return {"ratio": after["saturating"] / after["non_saturating"],
            "ns_kept": after["non_saturating"] / before}


VANISHING_GRADIENT = Claim(
    "vanishing_gradient", "04",
    "after 600 steps of a strong D, the saturating loss's gradient is < 1e-2 of the "
    "non-saturating one's, which keeps > half its starting size",
    _vanishing_train, _vanishing_measure,
    lambda v: (v["ratio"] < 1e-2) & (v["ns_kept"] > 0.5),
)

# -- lesson 04: the learning-rate phase map --------------------------------------------------
PHASE_LRS = np.geomspace(1e-4, 3e-3, 8)
PHASE_CONFIG = preset("ring", r1=0.0, batch_size=64)
PHASE_STEPS = 1000


def phase_map(seed: int = 0) -> SweepRun:
    """64 GANs, lr_d x lr_g on PHASE_LRS, trained together for PHASE_STEPS."""
    return sweep(PHASE_CONFIG, PHASE_STEPS, lr_d=PHASE_LRS, lr_g=PHASE_LRS, seeds=[seed],
                 progress=False)


def _phase_measure(runs):
    grids = np.array([coverage(run, 1000)["modes"] for run in runs])
    return {"best": grids.max(-1), "worst": grids.min(-1)}


PHASE_MAP = Claim(
    "phase_map", "04",
    "on the 8 x 8 learning-rate grid (1000 steps) some settings cover >= 3 modes and some <= 1",
    lambda seeds: [phase_map(s) for s in seeds], _phase_measure,
    lambda v: (v["best"] >= 3) & (v["worst"] <= 1), seeds=(0,),
)

# -- the playground: 30 frames of 20 steps ---------------------------------------------------
PLAYGROUND_STEPS = 600


def distance_to_ring(points) -> np.ndarray:
    """Mean distance of points ``[..., n, 2]`` to the circle the ring's modes sit on."""
    radius = float(np.linalg.norm(RING.modes, axis=1).mean())
    return np.abs(np.linalg.norm(np.asarray(points), axis=-1) - radius).mean(-1)


def _playground_train(seeds):
    run = sweep("ring", 0, seeds=seeds, progress=False)
    before = distance_to_ring(run.sample(2000))
    return run.train(PLAYGROUND_STEPS, progress=False), before


PLAYGROUND = Claim(
    "playground", "playground",
    "600 steps of the ring preset bring the generated points to < 0.8x their starting "
    "distance to the ring",
    _playground_train,
    lambda trained: {"distance_ratio": distance_to_ring(trained[0].sample(2000)) / trained[1]},
    lambda v: v["distance_ratio"] < 0.8,
)

CLAIMS = {c.name: c for c in (SATURATION, TRAINING_LOOP, D_WINS, RING_COLLAPSE, RING_REMEDY,
                              FAQ, VANISHING_GRADIENT, PHASE_MAP, PLAYGROUND)}
