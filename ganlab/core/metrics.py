"""How good are the samples of a 2-D GAN: modes covered, high-quality fraction, grid KL / JS.

Modes and quality follow the unrolled-GAN and VEEGAN papers (Metz et al. 2017; Srivastava et
al. 2017): a sample is high quality when it lies within ``3 * std`` of its nearest mode, and a
mode is covered when it holds at least ``min_share`` of its fair share of high-quality samples
(PacGAN's rule, 20 of 2,500 samples for 25 modes, is ``min_share = 0.2``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganlab.core.data import Toy


@dataclass(frozen=True)
class ModeReport:
    modes_covered: int
    n_modes: int
    high_quality: float  # fraction of samples within 3 std of a mode
    counts: np.ndarray  # high-quality samples per mode, [M]

    def __str__(self) -> str:
        return (f"{self.modes_covered}/{self.n_modes} modes covered, "
                f"{100 * self.high_quality:.1f}% high-quality samples")


def mode_report(samples, dataset: Toy, *, min_share: float = 0.2,
                radius: float | None = None) -> ModeReport:
    """Count the modes of ``dataset`` that ``samples`` ``[n, 2]`` cover, and their quality.

    ``radius``: how near a mode a sample must be to count (default ``3 * dataset.std``)."""
    x = _points(samples)
    modes = np.asarray(dataset.modes)
    distance = np.sqrt(((x[:, None, :] - modes[None]) ** 2).sum(-1))  # [n, M]
    nearest = distance.argmin(1)
    radius = 3 * dataset.std if radius is None else radius
    good = distance[np.arange(len(x)), nearest] < radius
    good &= np.isfinite(x).all(1)
    counts = np.bincount(nearest[good], minlength=len(modes))
    covered = int((counts >= min_share * len(x) / len(modes)).sum())
    return ModeReport(covered, len(modes), float(good.mean()), counts)


def modes_covered(samples, dataset: Toy, *, min_share: float = 0.2) -> int:
    """How many modes of ``dataset`` the samples cover (see :func:`mode_report`)."""
    return mode_report(samples, dataset, min_share=min_share).modes_covered


def high_quality_fraction(samples, dataset: Toy) -> float:
    """The fraction of samples within 3 std of some mode."""
    return mode_report(samples, dataset).high_quality


def grid_histogram(samples, bounds, bins: int = 40) -> np.ndarray:
    """A normalised 2-D histogram ``[bins, bins]`` of the samples over ``bounds`` (x0, x1, y0, y1).

    Samples outside the bounds are counted in the border cells, so no mass is lost.
    """
    x = _points(samples)
    x0, x1, y0, y1 = bounds
    x = x[np.isfinite(x).all(1)]
    x = np.clip(x, [x0, y0], [x1 - 1e-9, y1 - 1e-9])
    hist, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=bins, range=[[x0, x1], [y0, y1]])
    return hist / max(hist.sum(), 1)


def kl_divergence(p: np.ndarray, q: np.ndarray, eps: float = 1e-10) -> float:
    """KL(p || q) = sum p log(p / q) of two histograms, ``eps``-smoothed so empty cells of q stay
    finite (GAN Lab's grid KL)."""
    p, q = _smooth(p, eps), _smooth(q, eps)
    return float(np.sum(p * np.log(p / q)))


def js_divergence(p: np.ndarray, q: np.ndarray, eps: float = 1e-10) -> float:
    """JS(p, q) = KL(p || m) / 2 + KL(q || m) / 2 with m = (p + q) / 2; in [0, log 2]."""
    p, q = _smooth(p, eps), _smooth(q, eps)
    m = (p + q) / 2
    return 0.5 * kl_divergence(p, m, 0) + 0.5 * kl_divergence(q, m, 0)


def grid_divergences(real, fake, bounds, bins: int = 40) -> dict[str, float]:
    """Grid KL(real || fake) and JS(real, fake) between two sample sets."""
    p, q = grid_histogram(real, bounds, bins), grid_histogram(fake, bounds, bins)
    return {"kl": kl_divergence(p, q), "js": js_divergence(p, q)}


def _smooth(p: np.ndarray, eps: float) -> np.ndarray:
    p = np.asarray(p, np.float64) + eps
    return p / p.sum()


def _points(samples) -> np.ndarray:
    x = np.asarray(samples, np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"samples must have shape [n, 2] (got {x.shape})")
    return x
