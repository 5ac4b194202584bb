"""Checks at the door of the image applications (completion, super-resolution).

Each refusal is one line that names the argument, says what was wrong and how to fix it, so
that a bad batch never reaches JAX as a broadcasting error or comes back as NaN images.
"""

from __future__ import annotations

import numpy as np

from ganlab.core.validate import finite

RANGE_SLACK = 1e-3  # rounding that still counts as "in [-1, 1]"


def _shape(shape) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def shape_hint(got: tuple[int, ...], expected: tuple[int, ...], name: str = "images") -> str:
    """A fix for the usual shape slips, given one image's ``expected`` shape ``(H, W, C)``."""
    if got == expected:
        return f"; add the batch axis with {name}[None]"
    if got == expected[:2]:
        return f"; add the batch and channel axes with {name}[None, ..., None]"
    if len(got) == 3 and got[1:] == expected[:2]:
        return f"; add the channel axis with {name}[..., None]"
    if len(got) == 4 and got[1:3] == expected[:2] and got[3] != expected[2]:
        if expected[2] == 1:
            return f"; expected 1 channel (grey-scale): convert with {name}.mean(-1, keepdims=True)"
        return f"; expected {expected[2]} channels"
    return ""


def image_batch(name: str, array, shape: tuple[int, int, int] | None = None, *,
                in_range: bool = True, whose: str = "", hint: str = "") -> np.ndarray:
    """``array`` as float32 ``[B, H, W, C]`` with ``B >= 1``, finite, and in [-1, 1] if
    ``in_range``; ``shape`` (when given) is one image's ``(H, W, C)``. ``whose`` ("for this
    generator") and ``hint`` (a fix of the caller's own) extend the shape message."""
    values = np.asarray(array)
    wanted = "[B, H, W, C]" if shape is None else "[B, " + _shape(shape)[1:]
    span = " in [-1, 1]" if in_range else ""
    if values.ndim != 4 or (shape is not None and values.shape[1:] != tuple(shape)):
        fix = hint or ("" if shape is None else shape_hint(values.shape, tuple(shape), name))
        if shape is None and values.ndim == 3:
            fix = fix or (f"; add the batch axis ({name}[None]) or the channel axis "
                          f"({name}[..., None])")
        raise ValueError(f"{name} must have shape {wanted}{span}{whose} "
                         f"(got {values.shape}){fix}")
    if len(values) == 0:
        raise ValueError(f"{name} is an empty batch (shape {values.shape}); pass at least one "
                         "image (check the slice or filter that made it)")
    values = finite(name, values).astype(np.float32)
    if in_range:
        low, high = float(values.min()), float(values.max())
        if low < -1 - RANGE_SLACK or high > 1 + RANGE_SLACK:
            scale = (f"; scale 0..255 pixels with {name} / 127.5 - 1" if low >= 0 and high <= 255
                     else "")
            raise ValueError(f"{name} must be in [-1, 1] (got values from {low:g} to {high:g})"
                             f"{scale}")
    return values
