"""2-D toy distributions that know their modes, and the one door to every data set.

Every data set samples inside jit (``sample(key, n) -> (x, labels)``) so the training loop never
leaves the device. Points are ``[n, 2]``; images are NHWC in [-1, 1] (see ``ganlab.core.images``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

from ganlab.core.validate import finite

TOYS = ("ring", "grid", "moons", "spiral", "line", "two_gaussians", "points")
IMAGE_SETS = ("digits", "mnist", "fashion_mnist")


@runtime_checkable
class Dataset(Protocol):
    """What the engine needs of a data set: a name, one example's shape, how many classes its
    labels have (0: none), and a batch sampler that runs inside jit. ``device_arrays`` are the
    arrays ``sample`` reads (passed into compiled steps as an argument), or None."""

    name: str

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def n_classes(self) -> int: ...

    @property
    def device_arrays(self): ...

    def sample(self, key: jax.Array, n: int, arrays=None) -> tuple[jax.Array, jax.Array | None]:
        """``n`` examples ``[n, *shape]`` and their labels ``[n]`` (or None)."""
        ...


@dataclass(frozen=True, eq=False)
class Toy:
    """A 2-D distribution: a mixture of Gaussians, or Gaussian noise around a curve.

    ``modes`` are the mixture's centres (for a curve: evenly spaced anchors along it) and
    ``std`` the spread that metrics use: a sample within ``3 * std`` of a mode is high quality.
    """

    name: str
    modes: np.ndarray  # [M, 2]
    std: float
    noise: float  # std of the Gaussian noise added to each sample
    curve: str | None = None  # None: pick a centre, add noise; else a named curve t -> (x, y)
    centres: np.ndarray | None = field(default=None, repr=False)  # sampled from; default modes

    dim: int = 2
    n_classes: int = 0

    @property
    def shape(self) -> tuple[int, ...]:
        return (2,)

    @property
    def device_arrays(self) -> None:
        """A toy's parameters are small constants: nothing to pass in."""
        return None

    def sample(self, key: jax.Array, n: int, arrays=None) -> tuple[jax.Array, None]:
        """``n`` points ``[n, 2]`` (and no labels); traceable under ``jax.jit``."""
        key_pick, key_noise = jax.random.split(key)
        if self.curve is None:
            centres = self.modes if self.centres is None else self.centres
            index = jax.random.randint(key_pick, (n,), 0, len(centres))
            centre = jnp.asarray(centres, jnp.float32)[index]
        else:
            centre = _CURVES[self.curve](jax.random.uniform(key_pick, (n,)))
        return centre + self.noise * jax.random.normal(key_noise, (n, 2)), None

    def bounds(self, margin: float = 0.5) -> tuple[float, float, float, float]:
        """A square ``(x0, x1, y0, y1)`` holding the data, for plots and grid metrics."""
        low = self.modes.min(0) - margin - 3 * self.std
        high = self.modes.max(0) + margin + 3 * self.std
        centre, half = (low + high) / 2, float((high - low).max() / 2)
        return (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)


def _moons(t):
    upper = t < 0.5
    s = jnp.where(upper, t, t - 0.5) * 2 * jnp.pi
    x = jnp.where(upper, jnp.cos(s), 1 - jnp.cos(s))
    y = jnp.where(upper, jnp.sin(s), 0.5 - jnp.sin(s))
    return 1.5 * jnp.stack([x - 0.5, y - 0.25], -1)


def _spiral(t):
    angle = 0.5 * jnp.pi + 3 * jnp.pi * t
    radius = 0.3 + 1.9 * t
    return jnp.stack([radius * jnp.cos(angle), radius * jnp.sin(angle)], -1)


def _line(t):
    return jnp.stack([4 * t - 2, 2 * t - 1], -1)


_CURVES = {"moons": _moons, "spiral": _spiral, "line": _line}


def _curve_toy(name: str, n_modes: int, noise: float) -> Toy:
    # Anchors at the centres of n_modes equal pieces of t; each piece is one "mode".
    t = (np.arange(n_modes) + 0.5) / n_modes
    modes = np.asarray(_CURVES[name](jnp.asarray(t)), np.float64)
    # 3 std reaches every point of the curve from its nearest anchor, plus two noise stds.
    curve = np.asarray(_CURVES[name](jnp.linspace(0, 1, 2001)), np.float64)
    reach = float(np.linalg.norm(curve[:, None] - modes[None], axis=-1).min(1).max())
    return Toy(name, modes, std=(reach + 2 * noise) / 3, noise=noise, curve=name)


def ring(n_modes: int = 8, radius: float = 2.0, std: float = 0.02) -> Toy:
    """``n_modes`` Gaussians evenly spaced on a circle (the unrolled-GAN benchmark)."""
    angle = 2 * np.pi * np.arange(n_modes) / n_modes
    return Toy("ring", radius * np.stack([np.cos(angle), np.sin(angle)], 1), std, std)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> Toy:
    """``side x side`` Gaussians on a square lattice (25 modes by default)."""
    axis = spacing * (np.arange(side) - (side - 1) / 2)
    modes = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    return Toy("grid", modes, std, std)


def two_gaussians(distance: float = 3.0, std: float = 0.3) -> Toy:
    """Two well separated Gaussian blobs."""
    return Toy("two_gaussians", np.array([[-distance / 2, 0.0], [distance / 2, 0.0]]), std, std)


def points(xy, std: float = 0.05, max_modes: int = 16) -> Toy:
    """A distribution drawn by the user: Gaussian bumps of ``std`` around the given points.

    Up to ``max_modes`` points are each a mode; more are grouped into ``max_modes`` clusters
    (k-means) for the metrics, while sampling still uses every point.
    """
    xy = np.asarray(xy, np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) == 0:
        raise ValueError(f"points must be an array of shape [n, 2] with n >= 1 (got {xy.shape})")
    finite("points", xy, "coordinates")
    if not (np.isfinite(std) and std > 0):
        raise ValueError(f"std must be > 0 (got {std}); try 0.05")
    modes = xy if len(xy) <= max_modes else _kmeans(xy, max_modes)
    return Toy("points", modes, std, std, centres=xy)


def _kmeans(xy: np.ndarray, k: int, iterations: int = 20) -> np.ndarray:
    centres = xy[np.linspace(0, len(xy) - 1, k).astype(int)]
    for _ in range(iterations):
        nearest = ((xy[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        centres = np.stack(
            [xy[nearest == j].mean(0) if (nearest == j).any() else centres[j] for j in range(k)]
        )
    return centres


def toy(name: str, **kwargs) -> Toy:
    """A 2-D toy distribution by name: ring, grid, moons, spiral, line, two_gaussians."""
    makers = {
        "ring": ring,
        "grid": grid,
        "two_gaussians": two_gaussians,
        "moons": lambda noise=0.05, n_modes=8: _curve_toy("moons", n_modes, noise),
        "spiral": lambda noise=0.04, n_modes=12: _curve_toy("spiral", n_modes, noise),
        "line": lambda noise=0.02, n_modes=8: _curve_toy("line", n_modes, noise),
    }
    if name not in makers:
        raise ValueError(f"unknown toy {name!r}; toys are {sorted(makers)} (or use points(xy))")
    return makers[name](**kwargs)


def sample_points(dataset: Toy, n: int, *, seed: int = 0) -> np.ndarray:
    """``n`` points from a toy as a NumPy array ``[n, 2]``, reproducible from ``seed``."""
    x, _ = dataset.sample(jax.random.key(seed), n)
    return np.asarray(x)


IMAGE_SHAPES = {"digits": (8, 8, 1), "mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1)}


@dataclass(frozen=True)
class ImageSpec:
    """An image set known by its shape alone, when its files are not on this machine: enough to
    build and sample a pretrained generator, not to train one."""

    name: str
    shape: tuple[int, int, int]
    n_classes: int = 10

    @property
    def class_names(self) -> tuple[str, ...]:
        from ganlab.core.images import DIGIT_CLASSES, FASHION_CLASSES

        return FASHION_CLASSES if self.name == "fashion_mnist" else DIGIT_CLASSES

    @property
    def device_arrays(self) -> None:
        return None

    def sample(self, key, n, arrays=None):
        raise ValueError(
            f"training on {self.name!r} needs its data files, which are not here: put the IDX "
            "files in a folder and set GANLAB_DATA_DIR (see ganlab.core.images), or use 'digits'"
        )


def load(name: str, **kwargs):
    """Any data set by name: a :class:`Toy`, or an :class:`ganlab.core.images.ImageSet`."""
    if name in IMAGE_SETS:
        from ganlab.core.images import load_image_set

        return load_image_set(name, **kwargs)
    if name == "points":
        raise ValueError("the 'points' data set needs the points: use ganlab.core.data.points(xy)")
    return toy(name, **kwargs)


def latent_sampler(kind: str, dim: int, codes: int = 0):
    """``sample(key, n) -> z [n, dim]`` for the latent distribution ``kind``; with ``codes``
    the first ``codes`` entries are instead a one-hot code drawn uniformly (InfoGAN)."""
    if codes:
        rest = latent_sampler(kind, dim - codes)

        def sample(key, n):
            key_code, key_rest = jax.random.split(key)
            code = jax.random.randint(key_code, (n,), 0, codes)
            return jnp.concatenate([jax.nn.one_hot(code, codes), rest(key_rest, n)], -1)

        return sample
    if kind == "gaussian":
        return lambda key, n: jax.random.normal(key, (n, dim))
    if kind == "uniform":
        return lambda key, n: jax.random.uniform(key, (n, dim), minval=-1.0, maxval=1.0)
    raise ValueError(f"latent must be 'gaussian' or 'uniform' (got {kind!r})")

