"""The GAN objective on 1-D densities: optimal discriminator, value, KL, Jensen-Shannon and
Wasserstein-1.

Goodfellow et al. (2014) show that for a fixed generator with sample density ``p_g`` the best
discriminator is

    D*(x) = p_data(x) / (p_data(x) + p_g(x)),

and that plugging it into the value

    V(D, G) = E_{x ~ p_data}[log D(x)] + E_{z ~ p_z}[log(1 - D(G(z)))]
            = int p_data(x) log D(x) dx + int p_g(x) log(1 - D(x)) dx

gives ``V(D*, G) = -log 4 + 2 JSD(p_data || p_g)``: training G against D* minimises the
Jensen-Shannon divergence, which is 0 only when ``p_g = p_data`` and saturates at ``log 2`` once
the two supports no longer overlap. Here ``z ~ p_z`` is the noise and ``p_g`` the density of
``G(z)``. Every integral is a Riemann sum on a uniform grid, in float64 NumPy.

The last two functions look at the generator's side: how strongly each generator loss pushes
``G`` when the discriminator is sure its samples are fake.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ganlab.core import engine, losses
from ganlab.core.validate import count

LOG2 = float(np.log(2.0))
LOG4 = float(np.log(4.0))


# -- densities on a grid ---------------------------------------------------------------------
def grid(low: float = -6.0, high: float = 6.0, n: int = 4001) -> np.ndarray:
    """``n`` evenly spaced points from ``low`` to ``high``: the x-axis every integral uses."""
    if not high > low:
        raise ValueError(f"high must be > low (got low={low}, high={high})")
    if count("n", n, 3, "; 4001 is plenty for plots") > 10_000_000:
        raise ValueError(f"n must be in [3, 10_000_000] (got {n}); 4001 is plenty for plots")
    return np.linspace(low, high, n)


def integrate(f: np.ndarray, x: np.ndarray) -> float:
    """``int f(x) dx`` by the trapezoid rule on the grid ``x``."""
    f, x = np.asarray(f, np.float64), np.asarray(x, np.float64)
    return float(np.sum((f[1:] + f[:-1]) / 2 * np.diff(x)))


def normalize(p: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``p / int p dx``: a density that integrates to 1 on the grid."""
    mass = integrate(p, x)
    if not mass > 0:
        raise ValueError(f"cannot normalise a density with total mass {mass} on this grid")
    return np.asarray(p, np.float64) / mass


def gaussian(x: np.ndarray, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """The normal density ``N(x; mean, std^2) = exp(-(x - mean)^2 / (2 std^2)) / (std sqrt(2pi))``.
    """
    if not std > 0:
        raise ValueError(f"std must be > 0 (got {std}); try 0.5 to 2")
    x = np.asarray(x, np.float64)
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))


def mixture(x: np.ndarray, means, stds, weights=None) -> np.ndarray:
    """A Gaussian mixture ``sum_k w_k N(x; mean_k, std_k^2)``; equal weights by default."""
    means, stds = np.atleast_1d(means), np.atleast_1d(stds) * np.ones(len(np.atleast_1d(means)))
    weights = np.ones(len(means)) if weights is None else np.asarray(weights, np.float64)
    if len(weights) != len(means) or (weights < 0).any() or not weights.sum() > 0:
        raise ValueError(f"weights must be {len(means)} non-negative numbers, not all 0 "
                         f"(got {weights})")
    weights = weights / weights.sum()
    return sum(w * gaussian(x, m, s) for w, m, s in zip(weights, means, stds))


def uniform(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """The uniform density ``1 / (high - low)`` on ``[low, high]``, 0 elsewhere, rescaled so it
    integrates to exactly 1 on the grid (its sharp edges would otherwise cost a little mass)."""
    if not high > low:
        raise ValueError(f"high must be > low (got low={low}, high={high})")
    x = np.asarray(x, np.float64)
    return normalize(np.where((x >= low) & (x <= high), 1.0 / (high - low), 0.0), x)


# -- the objective ---------------------------------------------------------------------------
def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """``D*(x) = p_data(x) / (p_data(x) + p_g(x))``; 1/2 where both densities are 0."""
    p_data, p_g = np.asarray(p_data, np.float64), np.asarray(p_g, np.float64)
    total = p_data + p_g
    return np.divide(p_data, total, out=np.full_like(total, 0.5), where=total > 0)


def _xlogy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a log b`` with ``0 log 0 = 0`` (and ``a log 0 = -inf`` for ``a > 0``)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    with np.errstate(divide="ignore"):
        return np.where(a > 0, a * np.log(np.where(a > 0, b, 1.0)), 0.0)


def value_of(d: np.ndarray, p_data: np.ndarray, p_g: np.ndarray, x: np.ndarray) -> float:
    """``V(D, G) = int p_data log D dx + int p_g log(1 - D) dx`` for a discriminator ``d`` on x.

    The first term rewards ``D`` for saying "real" (1) on real data, the second for saying
    "fake" (0) where the generator puts its mass. Both are <= 0, so ``V <= 0``.

    ``d`` is kept within ``[1e-16, 1 - 1e-16]``: float64 rounds ``D*(x)`` to exactly 1 far in
    p_g's tail, where the exact term is negligible; a ``d`` of exactly 0 or 1 where the other
    density has real mass thus costs a large finite penalty (``log 1e-16 = -36.8``), not -inf.
    """
    d = np.asarray(d, np.float64)
    if (d < 0).any() or (d > 1).any():
        raise ValueError("d must hold probabilities in [0, 1] (the discriminator's D(x))")
    d = np.clip(d, 1e-16, 1 - 1e-16)
    return integrate(_xlogy(p_data, d) + _xlogy(p_g, 1 - d), x)


def optimal_value(p_data: np.ndarray, p_g: np.ndarray, x: np.ndarray) -> float:
    """``V(D*, G) = int p_data log(p_data / (p_data + p_g)) + p_g log(p_g / (p_data + p_g)) dx``.

    The same number as ``value_of(optimal_discriminator(p_data, p_g), ...)``, computed with
    logarithms of densities so that far in the tails, where ``D*`` rounds to exactly 0 or 1,
    no ``0 * log 0`` turns into ``-inf``.
    """
    total = np.asarray(p_data, np.float64) + np.asarray(p_g, np.float64)
    return integrate(_xlogy(p_data, p_data) + _xlogy(p_g, p_g) - _xlogy(total, total), x)


def kl(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> float:
    """``KL(p || q) = int p log(p / q) dx``; ``inf`` where p has mass and q has none."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    if ((p > 0) & (q <= 0)).any():
        return float("inf")
    return integrate(_xlogy(p, p) - _xlogy(p, q), x)


def jsd(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> float:
    """``JSD(p || q) = KL(p || m) / 2 + KL(q || m) / 2`` with ``m = (p + q) / 2``; in [0, log 2].

    Unlike KL it stays finite for disjoint supports, where it equals ``log 2`` exactly.
    """
    m = (np.asarray(p, np.float64) + np.asarray(q, np.float64)) / 2
    return 0.5 * kl(p, m, x) + 0.5 * kl(q, m, x)


def wasserstein_1d(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> float:
    """The Wasserstein-1 (earth mover's) distance of two 1-D densities,
    ``W1(p, q) = int |F_p(x) - F_q(x)| dx`` with ``F`` the cumulative distributions.

    In 1-D it is the mass moved times the distance moved: ``W1(p, p shifted by d) = |d|``, so
    unlike the JSD it keeps shrinking as two disjoint distributions approach. (Dual form, the
    critic's: ``W1 = sup over 1-Lipschitz f of E_p f - E_q f``, Kantorovich-Rubinstein.)
    """
    p, q, x = (np.asarray(a, np.float64) for a in (p, q, x))
    steps = np.diff(x)
    cdf_p = np.concatenate([[0.0], np.cumsum((p[1:] + p[:-1]) / 2 * steps)])
    cdf_q = np.concatenate([[0.0], np.cumsum((q[1:] + q[:-1]) / 2 * steps)])
    return integrate(np.abs(cdf_p - cdf_q), x)


def gaussian_kl(mean_p: float, std_p: float, mean_q: float, std_q: float) -> float:
    """Closed form ``KL(N(mean_p, std_p^2) || N(mean_q, std_q^2))``
    ``= log(std_q / std_p) + (std_p^2 + (mean_p - mean_q)^2) / (2 std_q^2) - 1/2``."""
    return float(np.log(std_q / std_p) + (std_p**2 + (mean_p - mean_q) ** 2) / (2 * std_q**2)
                 - 0.5)


# -- the generator's side --------------------------------------------------------------------
def g_loss_gradient(kind: str, d_fake: np.ndarray) -> np.ndarray:
    """``d g_loss / d logit`` at ``D(G(z)) = d_fake``, by ``jax.grad`` of
    ``ganlab.core.losses.g_loss``.

    By hand: saturating ``log(1 - sigmoid(l))`` has derivative ``-D``; non-saturating
    ``-log sigmoid(l)`` has ``-(1 - D)``. When D is sure a sample is fake (``D -> 0``) the first
    vanishes and the second stays near -1.
    """
    d_fake = np.asarray(d_fake, np.float64)
    if (d_fake <= 0).any() or (d_fake >= 1).any():
        raise ValueError("d_fake must hold probabilities strictly between 0 and 1")
    logits = jnp.asarray(np.log(d_fake) - np.log1p(-d_fake), jnp.float32)
    grad = jax.vmap(jax.grad(lambda logit: losses.g_loss(kind, logit[None])))(logits)
    return np.asarray(grad, np.float64)


def _gradient_norm(spec, state, *, kind: str, n: int, seed: int) -> jax.Array:
    z = spec.latent(jax.random.key(seed), n)
    d_params = state.discriminator.params

    def loss_fn(g_params):
        fake = engine.generate(spec, g_params, z)
        return losses.g_loss(kind, engine.discriminate(spec, d_params, fake))

    return optax.global_norm(jax.grad(loss_fn)(state.generator.params))


_NORMS: dict[tuple, partial] = {}  # one function per (kind, n, seed): GAN.jit caches by function


def generator_gradient_norm(gan, state, kind: str, *, n: int = 1024, seed: int = 0
                            ) -> float | np.ndarray:
    """``||grad_theta_G g_loss||``: how hard loss ``kind`` pushes the generator of ``state``.

    ``gan`` is a :class:`ganlab.GAN` of 2-D or image data (unconditional) and ``state`` one of its
    states; the discriminator is held fixed and ``n`` latent samples from ``seed`` are used, so
    two losses compared at the same state and seed see the same ``z``. Compiled once per GAN; a
    sweep's batched ``run.gan`` and ``run.state`` give one norm per model (an array ``[N]``),
    a single GAN a float.
    """
    fn = _NORMS.setdefault((kind, n, seed), partial(_gradient_norm, kind=kind, n=n, seed=seed))
    norms = gan.jit(fn)(state)
    return np.asarray(norms) if gan.batched else float(norms)
