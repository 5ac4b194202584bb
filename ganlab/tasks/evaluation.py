"""Judging a generator beyond one number: precision and recall, memorisation, the FID's bias.

The classifier score and the Frechet classifier distance (:mod:`ganlab.tasks.classifier`) each
fold fidelity and diversity into one number. Two k-nearest-neighbour measures split them, on
feature vectors (the classifier's penultimate layer, ``features(images)`` ``[n, F]``):

- **improved precision and recall** (Kynkaanniemi et al. 2019): around each real feature ``r_i``
  a ball of radius ``NND_k(r_i)``, its distance to its k-th nearest other real feature; the union
  of the balls estimates the real manifold. *Precision* is the share of fake features inside
  some real ball (fidelity), *recall* the share of real features inside some fake ball
  (diversity), the fake balls built the same way from the fakes.
- **density and coverage** (Naeem et al. 2020): real balls only, so fake outliers cannot inflate
  them. ``density = 1/(k M) sum_j #{i : y_j in B(r_i, NND_k(r_i))}`` (how many real balls hold
  each of the ``M`` fakes, over ``k``; about 1 when fake matches real, unbounded above), and
  ``coverage = 1/N #{i : some y_j in B(r_i, NND_k(r_i))}`` (the share of real balls hit).

And two checks of the metrics themselves: :func:`nearest_distances` to the training set (a
generator that copies its training images scores perfectly: :func:`memorizer` is one), and
:func:`fid_by_sample_size` (the Frechet distance of two finite samples is biased upwards, more so
for small samples; Chong & Forsyth 2020, "Effectively Unbiased FID and Inception Score").

References: Kynkaanniemi, Karras, Laine, Lehtinen & Aila (2019), "Improved Precision and Recall
Metric for Assessing Generative Models"; Naeem, Oh, Uh, Choi & Yoo (2020), "Reliable Fidelity
and Diversity Metrics for Generative Models".
"""

from __future__ import annotations

import numpy as np

from ganlab.tasks.classifier import frechet_distance

CHUNK = 1000  # rows of the distance matrix computed at once: [1000, m] floats


def _as_points(name: str, x) -> np.ndarray:
    """``x`` as float32 rows ``[n, D]`` (images ``[n, H, W, C]`` are flattened)."""
    x = np.asarray(x, np.float32)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"{name} must be an array [n, ...] with n >= 1 (got shape {x.shape})")
    return x.reshape(len(x), -1)


def _distance_blocks(a: np.ndarray, b: np.ndarray, chunk: int = CHUNK):
    """Yield ``(start, D)`` with ``D[i, j] = |a[start + i] - b[j]|``, ``chunk`` rows of a at once.

    ``|a - b|^2 = |a|^2 - 2 a.b + |b|^2`` (one matrix product per block, in float64 for the
    norms so round-off cannot make a distance negative by more than it clips).
    """
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"points must have the same size (got {a.shape[1]} and {b.shape[1]})")
    b_norms = np.einsum("ij,ij->i", b, b, dtype=np.float64)
    for start in range(0, len(a), chunk):
        block = a[start:start + chunk]
        a_norms = np.einsum("ij,ij->i", block, block, dtype=np.float64)
        squared = a_norms[:, None] - 2.0 * (block @ b.T) + b_norms[None, :]
        yield start, np.sqrt(np.clip(squared, 0.0, None))


def nearest_distances(x, reference, chunk: int = CHUNK, return_index: bool = False):
    """Each ``x``'s Euclidean distance to its nearest ``reference`` point ``[n]``.

    Works on images (pixel space, flattened) or features. Memory is ``chunk x len(reference)``
    floats: 5000 MNIST images against the 60 000 training images fit in a few hundred MB.
    ``return_index=True`` returns ``(distances, indices)``, the index of each nearest point.
    """
    x, reference = _as_points("x", x), _as_points("reference", reference)
    nearest = np.empty(len(x), np.int64)
    for start, d in _distance_blocks(x, reference, chunk):
        nearest[start:start + len(d)] = d.argmin(1)
    # The float32 products find the neighbour; its distance is then taken exactly (an exact
    # copy gives 0, not the square root of round-off).
    gap = x.astype(np.float64) - reference[nearest]
    distances = np.sqrt(np.einsum("ij,ij->i", gap, gap))
    return (distances, nearest) if return_index else distances


def knn_radii(points, k: int) -> np.ndarray:
    """``NND_k``: each point's distance to its k-th nearest *other* point ``[n]`` (needs n > k)."""
    points = _as_points("points", points)
    if not 1 <= k < len(points):
        raise ValueError(f"k must be in [1, {len(points) - 1}] for {len(points)} points (got {k})")
    out = np.empty(len(points))
    for start, d in _distance_blocks(points, points):
        out[start:start + len(d)] = np.partition(d, k, axis=1)[:, k]  # [:, 0] is the point itself
    return out


def _balls_holding(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """For each point, how many balls ``B(centre_i, radius_i)`` (closed) hold it ``[n]``."""
    out = np.empty(len(points), np.int64)
    for start, d in _distance_blocks(points, centres):
        out[start:start + len(d)] = (d <= radii[None, :]).sum(1)
    return out


def precision_recall(real_features, fake_features, k: int = 3) -> dict:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of fakes against reals.

    ``precision = 1/M sum_j 1[exists i: |y_j - r_i| <= NND_k(r_i)]`` (fakes on the real
    manifold) and ``recall = 1/N sum_i 1[exists j: |r_i - y_j| <= NND_k(y_j)]`` (reals on the
    fake manifold). Both in [0, 1]; identical sets give 1 and 1, far-apart sets 0 and 0.
    Returns ``{"precision", "recall"}`` as floats. The paper uses k = 3.
    """
    real, fake = _as_points("real_features", real_features), _as_points("fake_features",
                                                                          fake_features)
    real_radii, fake_radii = knn_radii(real, k), knn_radii(fake, k)
    return {"precision": float((_balls_holding(fake, real, real_radii) > 0).mean()),
            "recall": float((_balls_holding(real, fake, fake_radii) > 0).mean())}


def density_coverage(real_features, fake_features, k: int = 5) -> dict:
    """Density and coverage (Naeem et al. 2020) of fakes against reals, real balls only.

    ``density = 1/(k M) sum_j sum_i 1[|y_j - r_i| <= NND_k(r_i)]`` and
    ``coverage = 1/N sum_i 1[min_j |r_i - y_j| <= NND_k(r_i)]``. Coverage is in [0, 1]; density
    is about 1 when fakes follow the reals, above 1 when they crowd where reals are dense.
    Returns ``{"density", "coverage"}`` as floats. The paper uses k = 5.
    """
    real, fake = _as_points("real_features", real_features), _as_points("fake_features",
                                                                          fake_features)
    radii = knn_radii(real, k)
    density = _balls_holding(fake, real, radii).sum() / (k * len(fake))
    coverage = (nearest_distances(real, fake) <= radii).mean()
    return {"density": float(density), "coverage": float(coverage)}


def memorizer(train_images, n: int, *, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """A "generator" that copies its training set: ``n`` training images, drawn without
    replacement (with replacement if ``n`` exceeds the set), plus ``N(0, noise^2)`` pixel noise
    clipped to [-1, 1]. It scores like real data on every metric that only compares
    distributions; :func:`nearest_distances` to the training set gives it away (0 for
    ``noise=0``).
    """
    images = np.asarray(train_images, np.float32)
    if n < 1:
        raise ValueError(f"n must be >= 1 (got {n})")
    if noise < 0:
        raise ValueError(f"noise must be >= 0 (got {noise}); 0 copies exactly, 0.1 is faint")
    rng = np.random.default_rng(seed)
    index = rng.choice(len(images), n, replace=n > len(images))
    copies = images[index]
    if noise:
        copies = np.clip(copies + noise * rng.standard_normal(copies.shape, np.float32), -1, 1)
    return copies


def fid_by_sample_size(features, reference, sizes, draws: int = 3, seed: int = 0) -> np.ndarray:
    """The Frechet distance of ``n`` rows of ``features`` to all of ``reference``, for each n.

    For each ``n`` in ``sizes``, ``draws`` subsets of ``n`` rows are drawn without replacement
    (``np.random.default_rng(seed)``) and each is compared with the whole ``reference``
    (``classifier.frechet_distance``). Returns ``[len(sizes), draws]``. With ``features`` drawn
    from the same distribution as ``reference`` the true distance is 0, yet the estimate is
    positive and shrinks roughly like ``1/n``: the bias of a covariance fitted to few points.
    """
    features = _as_points("features", features)
    rng = np.random.default_rng(seed)
    out = np.empty((len(sizes), draws))
    for i, n in enumerate(sizes):
        if not 2 <= n <= len(features):
            raise ValueError(f"sizes must be in [2, {len(features)}] (got {n})")
        for j in range(draws):
            out[i, j] = frechet_distance(features[rng.choice(len(features), n, replace=False)],
                                         reference)
    return out
