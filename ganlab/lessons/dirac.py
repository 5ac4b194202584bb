"""The Dirac-GAN (Mescheder, Geiger & Nowozin 2018): the smallest GAN that does not converge.

The real data is a single point at ``x = 0``. The generator is a single point ``theta`` (its
"distribution" is a Dirac delta at ``theta``); the discriminator is linear, ``D(x) = psi * x``.
With ``f(t) = -log(1 + exp(-t))`` (the standard GAN) the game's value is

    L(theta, psi) = f(psi * theta) + f(0),

which the discriminator maximises over ``psi`` and the generator minimises over ``theta``.
Gradient play follows the vector field

    v(theta, psi) = (-dL/dtheta, dL/dpsi) = (-psi f'(psi theta), theta f'(psi theta)).

The only equilibrium is ``(0, 0)``, and the Jacobian of ``v`` there is
``[[0, -f'(0)], [f'(0), 0]]`` with eigenvalues ``+-i f'(0)``: purely imaginary, so the
parameters circle the equilibrium instead of falling into it. Two fixes add a negative real
part:

* the zero-centred gradient penalty R1, ``gamma / 2 * ||grad_x D(x)||^2 = gamma / 2 * psi^2`` on
  real data, subtracted from D's objective: eigenvalues ``-gamma/2 +- sqrt(gamma^2/4 - f'(0)^2)``;
* instance noise ``N(0, sigma^2)`` added to real and fake points, which makes the value
  ``E f(psi (theta + e1)) + E f(-psi e2)``: eigenvalues
  ``f''(0) sigma^2 +- sqrt(f''(0)^2 sigma^4 - f'(0)^2)`` (``f''(0) = -1/4 < 0``).

The expectation over the noise is computed exactly enough by Gauss-Hermite quadrature, so every
function here is deterministic. Set ``loss="wasserstein"`` for ``f(t) = t`` (WGAN without
clipping): eigenvalues ``+-i``; ``simulate(..., clip=c)`` adds WGAN's weight clipping, ``psi`` kept
in ``[-c, c]`` after every step.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ganlab.core.validate import count

LOSSES = ("standard", "wasserstein")
MODES = ("simultaneous", "alternating")
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(40)  # E g(e), e ~ N(0, 1)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def f(t: jax.Array, loss: str = "standard") -> jax.Array:
    """The loss's ``f``: ``-log(1 + exp(-t)) = log_sigmoid(t)`` (standard), ``t`` (Wasserstein)."""
    _check("loss", loss, LOSSES)
    return jax.nn.log_sigmoid(t) if loss == "standard" else t


def f_derivatives(loss: str = "standard") -> tuple[float, float]:
    """``(f'(0), f''(0))``: ``(1/2, -1/4)`` for the standard loss, ``(1, 0)`` for Wasserstein."""
    d1 = jax.grad(lambda t: f(t, loss))
    return float(d1(0.0)), float(jax.grad(d1)(0.0))


def value(params: jax.Array, *, loss: str = "standard", noise: float = 0.0) -> jax.Array:
    """``L(theta, psi)`` for ``params = [theta, psi]``, averaged over instance noise of std
    ``noise``: ``E f(psi (theta + noise e1)) + E f(-psi noise e2)`` (``f(0)`` when noise is 0)."""
    theta, psi = params[0], params[1]
    e = noise * jnp.asarray(_NODES, jnp.float32)
    w = jnp.asarray(_WEIGHTS, jnp.float32)
    return jnp.sum(w * f(psi * (theta + e), loss)) + jnp.sum(w * f(-psi * e, loss))


def vector_field(params: jax.Array, *, gamma: float = 0.0, noise: float = 0.0,
                 loss: str = "standard") -> jax.Array:
    """The direction of gradient play at ``params = [theta, psi]``, shape ``[2]``.

    ``theta' = -dL/dtheta`` (G descends) and ``psi' = dL/dpsi - gamma psi`` (D ascends on L minus
    the R1 penalty ``gamma/2 psi^2``).
    """
    params = jnp.asarray(params, jnp.float32)
    grad = jax.grad(partial(value, loss=loss, noise=noise))(params)
    return jnp.stack([-grad[0], grad[1] - gamma * params[1]])


def jacobian(params=(0.0, 0.0), *, gamma: float = 0.0, noise: float = 0.0,
             loss: str = "standard") -> jax.Array:
    """The Jacobian ``dv/d(theta, psi)`` ``[2, 2]`` of :func:`vector_field`, by ``jax.jacfwd``."""
    field = partial(vector_field, gamma=gamma, noise=noise, loss=loss)
    return jax.jacfwd(field)(jnp.asarray(params, jnp.float32))


def eigenvalues(*, gamma: float = 0.0, noise: float = 0.0, loss: str = "standard") -> np.ndarray:
    """Eigenvalues (complex ``[2]``, by decreasing imaginary, then real, part) of the Jacobian
    at the equilibrium (0, 0)."""
    values = np.linalg.eigvals(np.asarray(jacobian(gamma=gamma, noise=noise, loss=loss),
                                          np.float64))
    return _sorted(values)


def analytic_eigenvalues(*, gamma: float = 0.0, noise: float = 0.0,
                         loss: str = "standard") -> np.ndarray:
    """The paper's closed form: the roots of ``lambda^2 - trace lambda + f'(0)^2 = 0`` with
    ``trace = 2 f''(0) noise^2 - gamma``, i.e. ``trace/2 +- sqrt(trace^2/4 - f'(0)^2)``."""
    d1, d2 = f_derivatives(loss)
    half_trace = d2 * noise**2 - gamma / 2
    root = np.sqrt(complex(half_trace**2 - d1**2))
    values = np.array([half_trace + root, half_trace - root])
    return _sorted(values)


@partial(jax.jit, static_argnames=("steps", "mode", "loss"))
def _simulate(start, lr, gamma, noise, clip, *, steps: int, mode: str, loss: str):
    def field(p):
        return vector_field(p, gamma=gamma, noise=noise, loss=loss)

    def clipped(p):  # WGAN's weight clipping of the critic's one weight, when clip > 0
        return p.at[1].set(jnp.where(clip > 0, jnp.clip(p[1], -clip, clip), p[1]))

    def step(p, _):
        if mode == "simultaneous":
            p = clipped(p + lr * field(p))
        else:  # D moves first, then G answers the new D (ganlab.GAN's order)
            p = clipped(p.at[1].add(lr * field(p)[1]))
            p = p.at[0].add(lr * field(p)[0])
        return p, p

    _, path = jax.lax.scan(step, start, None, length=steps)
    return jnp.concatenate([start[None], path])


def simulate(start=(1.0, 1.0), steps: int = 500, lr: float = 0.1, *,
             mode: str = "simultaneous", gamma: float = 0.0, noise: float = 0.0,
             loss: str = "standard", clip: float = 0.0) -> np.ndarray:
    """Gradient steps of size ``lr`` along the vector field; the path ``[steps + 1, 2]``.
    With ``clip = c > 0`` the critic's weight ``psi`` is clipped to ``[-c, c]`` after each of
    its steps (WGAN's weight clipping).

    ``mode="simultaneous"``: both players step from the same point,
    ``p <- p + lr v(p)``; ``mode="alternating"``: ``psi`` steps first, then ``theta`` steps
    against the new ``psi`` (the order of ``ganlab.GAN`` with ``k_d = 1``).
    """
    _check("mode", mode, MODES)
    _check("loss", loss, LOSSES)
    count("steps", steps, 1, "; try 500")
    if not lr > 0:
        raise ValueError(f"lr must be > 0 (got {lr}); try 0.1")
    for name, v in (("gamma", gamma), ("noise", noise), ("clip", clip)):
        if not v >= 0:
            raise ValueError(f"{name} must be >= 0 (got {v}); 0 switches it off")
    start = jnp.asarray(start, jnp.float32)
    if start.shape != (2,):
        raise ValueError(f"start must be (theta, psi) (got shape {start.shape})")
    return np.asarray(_simulate(start, lr, gamma, noise, clip, steps=steps, mode=mode,
                                loss=loss))


def field_grid(bounds=(-2.0, 2.0, -2.0, 2.0), n: int = 15, *, gamma: float = 0.0,
               noise: float = 0.0, loss: str = "standard") -> tuple[np.ndarray, ...]:
    """The vector field on an ``n x n`` grid over ``bounds`` (theta0, theta1, psi0, psi1):
    ``(theta, psi, d_theta, d_psi)``, each ``[n, n]``, ready for ``plt.quiver``/``streamplot``."""
    t0, t1, p0, p1 = bounds
    theta, psi = np.meshgrid(np.linspace(t0, t1, n), np.linspace(p0, p1, n))
    points = jnp.asarray(np.stack([theta.ravel(), psi.ravel()], 1), jnp.float32)
    field = jax.jit(jax.vmap(partial(vector_field, gamma=gamma, noise=noise, loss=loss)))
    v = np.asarray(field(points))
    return theta, psi, v[:, 0].reshape(n, n), v[:, 1].reshape(n, n)


def distance_to_equilibrium(path: np.ndarray) -> np.ndarray:
    """``sqrt(theta^2 + psi^2)`` along a path ``[T, 2]``."""
    return np.sqrt((np.asarray(path) ** 2).sum(-1))


def _sorted(values: np.ndarray) -> np.ndarray:
    return values[np.lexsort((-values.real, -values.imag))]


def _check(name: str, value, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)} (got {value!r})")
