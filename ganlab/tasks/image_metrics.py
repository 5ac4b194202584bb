"""Pixel measures of how close an image is to the truth: mean squared error and PSNR.

For images ``a`` and ``b`` ``[B, H, W, C]`` and a mask ``m`` (1 = counted, e.g. the hidden
pixels of a completion; all pixels if none is given), per image::

    MSE  = sum_p m_p (a_p - b_p)^2 / sum_p m_p
    PSNR = 10 log10(range^2 / MSE)   (dB; range = 2 for images in [-1, 1])

Higher PSNR is closer; every halving of the MSE adds ~3 dB. ``sharpness`` (the mean gradient
magnitude) scores blur. Used by image completion
(:mod:`ganlab.tasks.completion`) and super-resolution (:mod:`ganlab.tasks.superres`).
"""

from __future__ import annotations

import numpy as np


def _region(a, b, mask) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both images as float64 ``[B, H, W, C]`` and the mask broadcast to their shape."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"images must both be [B, H, W, C] (got {a.shape} and {b.shape})")
    weight = np.ones_like(a) if mask is None else np.broadcast_to(np.asarray(mask, np.float64),
                                                                  a.shape)
    return a, b, weight


def mse(a, b, mask=None) -> np.ndarray:
    """Mean squared error per image ``[B]``: ``sum_p m_p (a_p - b_p)^2 / sum_p m_p``, over the
    pixels where ``mask`` (``[H, W, 1]`` or ``[B, H, W, 1]``) is 1; all pixels if it is None."""
    a, b, weight = _region(a, b, mask)
    counted = weight.sum((1, 2, 3))
    if np.any(counted == 0):
        raise ValueError("mask selects no pixel of some image; nothing to measure")
    return (weight * (a - b) ** 2).sum((1, 2, 3)) / counted


def psnr(a, b, mask=None, data_range: float = 2.0) -> np.ndarray:
    """Peak signal-to-noise ratio per image ``[B]`` in dB: ``10 log10(range^2 / MSE)``.

    ``data_range`` is 2 for images in [-1, 1]. A perfect match (MSE = 0) gives 100 dB (the MSE
    is floored at ``range^2 * 1e-10``).
    """
    error = np.maximum(mse(a, b, mask), data_range**2 * 1e-10)
    return 10 * np.log10(data_range**2 / error)


def sharpness(images) -> float:
    """Mean gradient magnitude ``mean sqrt((dI/dx)^2 + (dI/dy)^2)`` of images ``[N, H, W, C]``,
    by forward differences between neighbouring pixels. Blurry images score lower; to compare
    sets, divide by the score of the real images."""
    x = np.asarray(images, np.float64)
    if x.ndim != 4:
        raise ValueError(f"images must have shape [N, H, W, C] (got {x.shape})")
    dx = x[:, :-1, 1:] - x[:, :-1, :-1]
    dy = x[:, 1:, :-1] - x[:, :-1, :-1]
    return float(np.mean(np.sqrt(dx**2 + dy**2)))
