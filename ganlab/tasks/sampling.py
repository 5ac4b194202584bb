"""Walking a generator's latent space: truncation, interpolation, principal latent directions.

A generator ``G`` maps a latent vector ``z ~ N(0, I)`` to an image. Three tools to explore it:

- **truncation** ``z -> psi z`` (``0 <= psi <= 1``): samples nearer the centre of the latent
  distribution are more typical (higher fidelity) and less varied (lower diversity).
- **interpolation** between two latents: linear ``(1 - t) z0 + t z1``, or spherical (``slerp``),
  which keeps the norm that Gaussian samples concentrate on (``|z| ~ sqrt(d)``).
- **latent directions**: the unit vectors ``v`` along which ``G`` changes most, the top
  eigenvectors of ``M = E_z[J(z)^T J(z)]`` with ``J = dG/dz`` (so ``v^T M v = E |dG/dz v|^2``).

:class:`LatentGrid` draws a grid of samples from ``(seed, direction offsets, truncation)`` with
one jit-compiled function, so moving a slider never re-traces the generator.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ganlab.core import engine
from ganlab.core.data import latent_sampler
from ganlab.core.validate import count


def truncate(z: jax.Array, psi: float, codes: int = 0) -> jax.Array:
    """``psi * z``: shrink latents toward the mean 0 (the truncation trick, ``0 <= psi <= 1``).

    ``psi = 1`` leaves ``z`` unchanged (full diversity); ``psi = 0`` maps every ``z`` to the
    mean latent (one "average" sample). With InfoGAN ``codes``, z's first ``codes`` entries are
    a one-hot code, not noise: they are kept, so ``psi = 0`` leaves one sample per code.
    """
    if not isinstance(psi, jax.core.Tracer) and not 0 <= float(psi) <= 1:
        raise ValueError(f"psi must be in [0, 1] (got {psi}); 1 = no truncation, 0.7 is typical")
    if not codes:
        return psi * z
    return jnp.concatenate([z[..., :codes], psi * z[..., codes:]], axis=-1)


def lerp(z0: jax.Array, z1: jax.Array, t) -> jax.Array:
    """Linear interpolation ``(1 - t) z0 + t z1``; ``t`` a scalar or ``[T]`` (-> ``[T, .., d]``)."""
    z0, z1, t = _path_args(z0, z1, t)
    return (1 - t) * z0 + t * z1


def _path_args(z0, z1, t):
    """``z0, z1`` as float arrays and ``t`` shaped to broadcast with them at equal rank."""
    z0, z1 = jnp.asarray(z0, jnp.float32), jnp.asarray(z1, jnp.float32)
    t = jnp.asarray(t, jnp.float32)
    if z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must have the same shape (got {z0.shape} and {z1.shape})")
    if t.ndim > 1:
        raise ValueError(f"t must be a scalar or a vector [T] (got shape {t.shape})")
    if t.ndim == 1:
        t = t.reshape(t.shape + (1,) * z0.ndim)
        z0, z1 = z0[None], z1[None]
    return z0, z1, t


def slerp(z0: jax.Array, z1: jax.Array, t, eps: float = 1e-6) -> jax.Array:
    """Spherical interpolation along the great circle from ``z0`` to ``z1`` (Shoemake 1985).

    With ``cos(omega) = <z0, z1> / (|z0| |z1|)`` (over the last axis)::

        slerp(z0, z1, t) = sin((1 - t) omega) / sin(omega) z0 + sin(t omega) / sin(omega) z1

    Falls back to :func:`lerp` where ``z0`` and ``z1`` are (nearly) parallel (``sin omega ~ 0``).
    ``t`` is a scalar or ``[T]``; the result has shape ``[T, ..., d]`` for ``[T]``.
    """
    z0, z1, t = _path_args(z0, z1, t)
    norms = (jnp.linalg.norm(z0, axis=-1, keepdims=True)
             * jnp.linalg.norm(z1, axis=-1, keepdims=True))
    cos = jnp.clip(jnp.sum(z0 * z1, -1, keepdims=True) / jnp.maximum(norms, eps), -1.0, 1.0)
    omega = jnp.arccos(cos)
    sin = jnp.sin(omega)
    safe = sin > eps
    sin = jnp.where(safe, sin, 1.0)
    spherical = (jnp.sin((1 - t) * omega) * z0 + jnp.sin(t * omega) * z1) / sin
    return jnp.where(safe, spherical, (1 - t) * z0 + t * z1)


def interpolate(z0: jax.Array, z1: jax.Array, steps: int, kind: str = "linear") -> jax.Array:
    """``steps`` latents ``[steps, ..., d]`` from ``z0`` to ``z1`` (both included), by ``kind``."""
    if kind not in ("linear", "spherical"):
        raise ValueError(f"kind must be 'linear' or 'spherical' (got {kind!r})")
    steps = count("steps", steps, 2, "; both ends are included")
    t = jnp.linspace(0.0, 1.0, steps)
    return (lerp if kind == "linear" else slerp)(z0, z1, t)


class LatentDirections(NamedTuple):
    """Unit directions in z ``[k, d]`` (rows, orthonormal) and how much each changes G ``[k]``.

    ``strength[i] = v_i^T M v_i = E_z |J(z) v_i|^2``: the mean squared change of the output per
    unit step along ``v_i`` (the eigenvalue of ``M``); sorted from largest to smallest.
    """

    vectors: np.ndarray
    strength: np.ndarray


def latent_directions(generate, latent_dim: int, k: int = 3, *, n: int = 32,
                      key: jax.Array | int = 0, labels=None, codes: int = 0) -> LatentDirections:
    """The ``k`` latent directions that change ``generate``'s output most, on average.

    Computes ``M = (1/n) sum_i J(z_i)^T J(z_i)`` (``J = d G / d z``, the output flattened) over
    ``n`` latents ``z_i ~ N(0, I)`` and returns its top ``k`` eigenvectors. For a linear
    generator ``G(z) = A z`` these are the top right singular vectors of ``A`` and the
    strengths are the squared singular values.

    Args:
      generate: ``z [B, d] -> x [B, ...]`` (and ``labels`` when given), e.g.
        ``functools.partial(run.gan.generate, run.gan.sampling_params(run.state))``.
      latent_dim: ``d``.
      k: how many directions (``1 <= k <= d``).
      n: how many latents the average runs over.
      key: a key or seed for those latents.
      labels: ``[n]`` class labels for a conditional generator, else ``None``.
      codes: InfoGAN's one-hot code size: z's first ``codes`` entries are drawn as a code and
        the directions span only the noise entries after them (they are 0 on the code).
    """
    noise_dim = latent_dim - codes
    k, n = count("k", k, 1, f"; at most {noise_dim}, the noise entries of z"), count("n", n, 1)
    if k > noise_dim:
        raise ValueError(f"k must be in [1, {noise_dim}], the noise entries of z (got {k})")
    key = jax.random.key(key) if isinstance(key, int) else key
    z = latent_sampler("gaussian", latent_dim, codes)(key, n)
    basis = jnp.eye(latent_dim)[codes:]  # the noise axes

    def gram(z_i, label):  # J^T J at one latent, from d forward-mode products (one per axis)
        def flat(z_one):
            out = generate(z_one[None]) if label is None else generate(z_one[None], label[None])
            return out.reshape(-1)

        jac = jax.vmap(lambda v: jax.jvp(flat, (z_i,), (v,))[1])(basis)  # [d, out] = J^T
        return jac @ jac.T

    if labels is None:
        grams = jax.lax.map(lambda z_i: gram(z_i, None), z)
    else:
        labels = jnp.asarray(labels, jnp.int32)
        grams = jax.lax.map(lambda args: gram(*args), (z, labels))
    m = np.asarray(grams.mean(0), np.float64)
    values, vectors = np.linalg.eigh((m + m.T) / 2)
    order = np.argsort(values)[::-1][:k]
    vectors = np.pad(vectors[:, order].T, ((0, 0), (codes, 0)))  # 0 on the code entries
    vectors *= np.where(vectors.sum(1, keepdims=True) < 0, -1.0, 1.0)  # a fixed sign per vector
    return LatentDirections(vectors.astype(np.float32), values[order].astype(np.float32))


class LatentGrid:
    """A grid of ``n`` samples as a function of (seed, direction offsets, truncation, label).

    ``z = psi * (z_seed + sum_i a_i v_i)`` with ``z_seed`` the ``n`` latents drawn from ``seed``,
    ``v_i`` the rows of ``directions`` and ``a_i`` the offsets; the images are ``G(z)``. One
    ``jax.jit`` function of fixed shapes does it all, so each new value reuses the compiled
    code (``traces`` counts compilations; it stays at 1 as sliders move).
    """

    def __init__(self, run, n: int = 64, directions: np.ndarray | None = None):
        self.run, self.n = run, count("n", n, 1)
        config = run.config
        self.latent_dim, self.n_classes = config.latent_dim, config.n_classes
        self.codes = config.codes
        if directions is None:
            directions = np.zeros((0, config.latent_dim), np.float32)
        directions = np.asarray(directions, np.float32)
        if directions.ndim != 2 or directions.shape[1] != config.latent_dim:
            raise ValueError(f"directions must have shape [k, {config.latent_dim}] "
                             f"(got {directions.shape})")
        self.directions = jnp.asarray(directions)
        self.params = run.gan.sampling_params(run.state)
        self.traces = 0
        self._draw = jax.jit(self._grid)

    def latents(self, seed: int, offsets=None, psi: float = 1.0) -> jax.Array:
        """The ``n`` latents ``[n, d]`` of the grid (the z that :meth:`images` feeds to G)."""
        key = jax.random.key(seed)
        z = self.run.gan.latent(key, self.n)
        offsets = self._offsets(offsets)
        return truncate(z + (offsets @ self.directions)[None], psi, self.codes)

    def _offsets(self, offsets) -> jax.Array:
        k = self.directions.shape[0]
        if offsets is None:
            offsets = np.zeros(k, np.float32)
        offsets = jnp.asarray(offsets, jnp.float32)
        if offsets.shape != (k,):
            raise ValueError(f"offsets must have shape [{k}] (one per direction; got "
                             f"{offsets.shape})")
        return offsets

    def _grid(self, params, seed, offsets, psi, labels):
        self.traces += 1  # runs only while tracing
        z = self.run.gan.latent(jax.random.key(seed), self.n)
        z = truncate(z + (offsets @ self.directions)[None], psi, self.codes)
        return engine.generate(self.run.gan.spec, params, z, labels)

    def images(self, seed: int = 0, offsets=None, psi: float = 1.0,
               label: int | None = None) -> np.ndarray:
        """``G(z)`` of the grid's latents, ``[n, H, W, C]`` in [-1, 1] (``label``: conditional)."""
        truncate(jnp.zeros(()), psi)  # validates psi
        if self.n_classes:
            if label is None:
                labels = jnp.arange(self.n, dtype=jnp.int32) % self.n_classes
            elif not 0 <= int(label) < self.n_classes:
                raise ValueError(f"label must be in [0, {self.n_classes - 1}] (got {label})")
            else:
                labels = jnp.full((self.n,), int(label), jnp.int32)
        elif label is not None:
            raise ValueError("label must be None for an unconditional generator")
        else:
            labels = None
        out = self._draw(self.params, jnp.asarray(seed, jnp.uint32), self._offsets(offsets),
                         jnp.asarray(psi, jnp.float32), labels)
        return np.asarray(out)


def generator_fn(run):
    """``G(z, labels=None)`` of a run with its parameters bound (jit-compiled)."""
    params = run.gan.sampling_params(run.state)
    return lambda z, labels=None: run.gan.generate(params, z, labels)
