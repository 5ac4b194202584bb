"""Checks at the door: each names the argument, what it got and what would do instead."""

from __future__ import annotations

import numbers

import numpy as np


def count(name: str, value, minimum: int = 0, hint: str = "") -> int:
    """``value`` as an ``int`` >= ``minimum``; refuses floats such as 2.5, booleans and text."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iu":
            value = int(value)
        else:
            raise ValueError(f"{name} must be a whole number >= {minimum} (got {value!r}){hint}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum} (got {value}){hint}")
    return int(value)


def finite(name: str, array, what: str = "values") -> np.ndarray:
    """``array`` as a NumPy array whose entries are all finite; else an error naming the first
    bad entries and their indices."""
    values = np.asarray(array)
    if values.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric {what} (got dtype {values.dtype})")
    bad = ~np.isfinite(values)
    if bad.any():
        where = np.argwhere(bad)[:3]
        shown = ", ".join(f"{tuple(int(i) for i in w)}={values[tuple(w)]}" for w in where)
        raise ValueError(f"{name} has {int(bad.sum())} NaN or infinite {what} (at {shown}); "
                         "remove or replace them")
    return values
