"""Wasserstein GANs on the ring (lesson 02): the critic, and three ways to keep it 1-Lipschitz.

Kantorovich-Rubinstein duality (Arjovsky et al. 2017, eq. 2):

    W1(p_data, p_g) = sup over ||f||_L <= 1 of  E_{x ~ p_data}[f(x)] - E_{x ~ p_g}[f(x)],

so a *critic* ``f`` (D's logit, no sigmoid) trained to maximise the gap ``E f(real) - E f(fake)``
under a 1-Lipschitz constraint estimates the Wasserstein-1 distance, and the generator descends
it (``loss="wasserstein"``). The constraint, three ways:

- weight clipping (Arjovsky et al. 2017): every critic parameter in ``[-c, c]`` (``clip_d``);
- the gradient penalty (Gulrajani et al. 2017): ``lambda E(||grad f(x_hat)|| - 1)^2`` on random
  points between real and fake (``gp``);
- spectral normalisation (Miyato et al. 2018): each layer's weight divided by its largest
  singular value (``spectral_norm``).

Two experiments, each a :class:`~ganlab.lessons.claims.Claim` the slow test runs on 16 seeds:
``critic_study`` trains the three critics alone against a frozen generator (the true W1 is
known: an optimal matching of the samples), and ``train_wgans`` trains the three WGANs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import linear_sum_assignment

from ganlab.core.config import GANConfig, preset
from ganlab.core.data import sample_points
from ganlab.core.metrics import mode_report
from ganlab.core.runs import SweepRun, sweep
from ganlab.lessons.claims import Claim

SAMPLES = 1000  # points per set for the exact W1 (an n x n matching) and the gradient norms
CLIP = 0.01  # Arjovsky et al.'s c

# The critics alone: G frozen (lr_g 1e-9, G's weights do not move), 500 critic updates.
CRITIC_STEPS = 500
_CRITIC = dict(loss="wasserstein", r1=0.0, k_d=1, batch_size=256, lr_g=1e-9,
               beta1=0.0, beta2=0.9)
CRITICS_ALONE: dict[str, GANConfig] = {
    "weight clipping": preset("ring", **_CRITIC, optimizer="rmsprop", lr_d=5e-4, clip_d=CLIP),
    "gradient penalty": preset("ring", **_CRITIC, lr_d=1e-3, gp=10.0),
    "spectral norm": preset("ring", **_CRITIC, lr_d=1e-3, spectral_norm=True),
}

# The WGANs: n_critic = 5 (both papers), Adam (0, 0.9) as WGAN-GP; lr 3e-4 for a short run.
# The gradient penalty's lambda is 0.1, the value of Gulrajani et al.'s own toy code
# (gan_toy.py); their lambda = 10 is for images (it stalls here: an exercise of the lesson).
WGAN_STEPS = 2000
_WGAN = dict(loss="wasserstein", r1=0.0, k_d=5, batch_size=64, lr_g=3e-4, lr_d=3e-4,
             beta1=0.0, beta2=0.9)
WGANS: dict[str, GANConfig] = {
    "weight clipping": preset("ring", **_WGAN, optimizer="rmsprop", clip_d=CLIP),
    "gradient penalty": preset("ring", **_WGAN, gp=0.1),
    "spectral norm": preset("ring", **_WGAN, spectral_norm=True),
}


def sample_w1(x: np.ndarray, y: np.ndarray) -> float:
    """The Wasserstein-1 distance of two equal-size samples ``[n, d]``: the mean distance of the
    optimal matching (an exact linear assignment; for empirical measures W1 is attained by a
    permutation)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"x and y must be samples of one shape [n, d] (got {x.shape}, {y.shape})")
    cost = np.linalg.norm(x[:, None] - y[None], axis=-1)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def critic_values(run: SweepRun, x) -> np.ndarray:
    """Every model's critic ``f(x)`` at its own points ``x [N, n, 2]``: ``[N, n]``."""
    f = jax.vmap(run.gan.discriminate, (0, 0))
    return np.asarray(f(run.state.discriminator.params, jnp.asarray(x, jnp.float32)))


def critic_gradient_norms(run: SweepRun, x) -> np.ndarray:
    """``||grad_x f(x)||`` of every model's critic at its points ``x [N, n, 2]``: ``[N, n]``."""
    def grad(params, points):
        return jax.grad(lambda p: jnp.sum(run.gan.discriminate(params, p)))(points)

    g = jax.vmap(grad)(run.state.discriminator.params, jnp.asarray(x, jnp.float32))
    return np.linalg.norm(np.asarray(g, np.float64), axis=-1)


def share_at_clip(run: SweepRun, c: float = CLIP) -> np.ndarray:
    """The share of every model's critic parameters at the clipping bound, ``|w| >= 0.99 c``."""
    leaves = jax.tree.leaves(run.state.discriminator.params)
    flat = np.concatenate([np.abs(np.asarray(leaf)).reshape(leaf.shape[0], -1)
                           for leaf in leaves], 1)
    return (flat >= 0.99 * c).mean(1)


def real_and_fake(run: SweepRun, seeds: Sequence[int], n: int = SAMPLES):
    """``n`` real points per model (a draw per seed) and ``n`` of each model's samples."""
    real = np.stack([sample_points(run.gan.data, n, seed=100 + s) for s in seeds])
    return real.astype(np.float32), run.sample(n, seed=7).astype(np.float32)


@dataclass
class CriticStudy:
    """Three critics trained alone against the same frozen generators, per seed."""

    runs: dict[str, SweepRun]
    real: np.ndarray  # [S, n, 2]
    fake: np.ndarray  # [S, n, 2], the frozen generators' samples (the same for all three)
    w1: np.ndarray  # [S], the exact W1 of real and fake
    gap: dict[str, np.ndarray]  # [S] per method: E f(real) - E f(fake)
    norms: dict[str, np.ndarray]  # [S, 3n] per method: ||grad f|| at real, fake, in between
    at_clip: np.ndarray  # [S], the clipped critic's share of parameters at +-c

    def lipschitz(self, method: str) -> np.ndarray:
        """The largest gradient norm seen, per seed: an estimate (from below) of f's constant."""
        return self.norms[method].max(1)

    def rescaled_gap(self, method: str) -> np.ndarray:
        """``gap / (L W1)``: the share of W1 the critic's *shape* recovers once divided by its
        Lipschitz estimate ``L`` (1 for the best 1-Lipschitz critic, by the duality)."""
        return self.gap[method] / self.lipschitz(method) / self.w1


def critic_study(seeds: Sequence[int], steps: int = CRITIC_STEPS) -> CriticStudy:
    """Train each of ``CRITICS_ALONE`` for ``steps`` updates on every seed and measure it."""
    runs = {m: sweep(c, steps, seeds=seeds, progress=False) for m, c in CRITICS_ALONE.items()}
    first = next(iter(runs.values()))
    real, fake = real_and_fake(first, seeds)
    between = np.random.default_rng(0).uniform(size=(*real.shape[:2], 1)).astype(np.float32)
    points = np.concatenate([real, fake, between * real + (1 - between) * fake], 1)
    gap, norms = {}, {}
    for method, run in runs.items():
        values = critic_values(run, np.concatenate([real, fake], 1))
        gap[method] = values[:, :real.shape[1]].mean(1) - values[:, real.shape[1]:].mean(1)
        norms[method] = critic_gradient_norms(run, points)
    w1 = np.array([sample_w1(r, f) for r, f in zip(real, fake, strict=True)])
    return CriticStudy(runs, real, fake, w1, gap, norms, share_at_clip(runs["weight clipping"]))


def _critics_measure(study: CriticStudy) -> dict[str, np.ndarray]:
    return {
        "clip_at_bound": study.at_clip,
        "clip_norm": np.median(study.norms["weight clipping"], 1),
        "gp_norm": np.median(study.norms["gradient penalty"], 1),
        "sn_norm": np.median(study.norms["spectral norm"], 1),
        "gp_gap_over_w1": study.gap["gradient penalty"] / study.w1,
        "clip_rescaled": study.rescaled_gap("weight clipping"),
        "gp_rescaled": study.rescaled_gap("gradient penalty"),
    }


CRITICS = Claim(
    "lipschitz_critics", "02",
    "against a frozen G: >= 60% of the clipped critic's weights sit at +-c and its gradients "
    "are ~0 (median < 0.01); the gradient penalty holds the median gradient norm within 0.25 "
    "of 1 and its gap is 0.8-1.3 W1; spectral norm keeps the median at most ~1 (< 1.15); "
    "rescaled to slope 1, the penalised critic recovers more of W1 than the clipped one",
    critic_study, _critics_measure,
    lambda v: (v["clip_at_bound"] >= 0.6) & (v["clip_norm"] < 0.01)
    & (np.abs(v["gp_norm"] - 1) < 0.25) & (v["gp_gap_over_w1"] > 0.8)
    & (v["gp_gap_over_w1"] < 1.3) & (v["sn_norm"] < 1.15)
    & (v["gp_rescaled"] > v["clip_rescaled"]),
    seeds=(0, 1),
)


@dataclass
class WGANTraining:
    """The three WGANs trained on the ring, per seed."""

    runs: dict[str, SweepRun]
    w1_start: np.ndarray  # [S], the untrained generators (the same for all three)
    w1: dict[str, np.ndarray]  # [S] per method, after training
    modes: dict[str, np.ndarray]  # [S] per method, modes covered (of 8)
    high_quality: dict[str, np.ndarray]  # [S] per method


def train_wgans(seeds: Sequence[int], steps: int = WGAN_STEPS) -> WGANTraining:
    """Train each of ``WGANS`` for ``steps`` steps on every seed; W1 before and after."""
    runs, w1, modes, quality = {}, {}, {}, {}
    w1_start = None
    for method, config in WGANS.items():
        run = sweep(config, 0, seeds=seeds, progress=False)
        if w1_start is None:
            w1_start = np.array([sample_w1(r, f) for r, f in zip(*real_and_fake(run, seeds),
                                                                 strict=True)])
        runs[method] = run.train(steps, progress=False)
        real, fake = real_and_fake(run, seeds)
        w1[method] = np.array([sample_w1(r, f) for r, f in zip(real, fake, strict=True)])
        reports = [mode_report(x, run.gan.data) for x in fake]
        modes[method] = np.array([r.modes_covered for r in reports])
        quality[method] = np.array([r.high_quality for r in reports])
    return WGANTraining(runs, w1_start, w1, modes, quality)


WGAN_TRAINING = Claim(
    "wgan_training", "02",
    "in 2000 steps each of the three WGANs brings its samples to W1 <= 0.3 x the untrained "
    "generator's",
    train_wgans,
    lambda t: {**{f"w1_ratio_{m.split()[0]}": t.w1[m] / t.w1_start for m in WGANS},
               **{f"modes_{m.split()[0]}": t.modes[m] for m in WGANS}},
    lambda v: np.all([v[k] <= 0.3 for k in v if k.startswith("w1_ratio")], axis=0),
    seeds=(0, 1),
)

CLAIMS = {c.name: c for c in (CRITICS, WGAN_TRAINING)}
