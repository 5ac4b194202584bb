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


def to_signed_range(name: str, array, shape: tuple[int, int, int] | None = None
                    ) -> tuple[np.ndarray, str]:
    """``array`` as float32 ``[B, H, W, C]`` in [-1, 1], and the range it was read as.

    The range rule, on the values' minimum and maximum (not their dtype):

    - any value < 0: already in **[-1, 1]** (kept; every value must be in [-1, 1]);
    - else, any value > 1: pixels in **0..255** (``x / 127.5 - 1``; every value must be <= 255);
    - else: in **[0, 1]** (``2 x - 1``).

    So an image in [-1, 1] that happens to have no negative value, or 0..255 pixels that are all
    0 or 1, is read as [0, 1]: a real image or photo never is. With ``shape`` (one image's
    ``(H, W, 1)``), a batch without its channel axis ``[B, H, W]`` and one image ``[H, W, C]`` or
    ``[H, W]`` get the missing axes. Shape, emptiness and NaN are checked by :func:`image_batch`;
    the second value returned is ``"[-1, 1]"``, ``"0..255"`` or ``"[0, 1]"``.
    """
    values = np.asarray(array)
    if shape is not None and shape[-1] == 1 and values.shape in (shape[:2], tuple(shape)):
        values = values.reshape(1, *shape)  # one image
    elif shape is not None and shape[-1] == 1 and values.ndim == 3 \
            and values.shape[1:] == shape[:2]:
        values = values[..., None]  # a batch without its channel axis
    values = image_batch(name, values, shape, in_range=False,
                         hint=_file_hint(values.shape, shape) if shape else "")
    low, high = float(values.min()), float(values.max())
    if low < 0:
        if low < -1 - RANGE_SLACK or high > 1 + RANGE_SLACK:
            raise ValueError(f"{name} has values from {low:g} to {high:g}: negative values mean "
                             "[-1, 1], but some are outside it; pass [-1, 1], [0, 1] or 0..255")
        return np.clip(values, -1, 1), "[-1, 1]"
    if high > 1:
        if high > 255:
            raise ValueError(f"{name} has values up to {high:g}: above 1 means 0..255 pixels, "
                             "but some are above 255; pass [-1, 1], [0, 1] or 0..255")
        return (values / np.float32(127.5) - 1).clip(-1, 1), "0..255"
    return values * 2 - 1, "[0, 1]"


def _file_hint(got: tuple[int, ...], shape: tuple[int, int, int]) -> str:
    """What :func:`to_signed_range` also takes, and the usual fix for ``got``."""
    h, w, c = shape
    if len(got) == 4 and got[1:3] == (h, w):
        fix = "make them grey-scale, e.g. images.mean(-1, keepdims=True)"
    elif len(got) <= 2 and got and got[-1] == h * w * c:
        fix = f"unflatten them, e.g. images.reshape(-1, {h}, {w}, {c})"
    else:
        fix = f"resize or crop them to {h}x{w}"
    return f" ([N, {h}, {w}] and one [{h}, {w}(, {c})] image are taken too); {fix}"
