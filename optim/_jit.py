"""`elementwise`: compile an optimizer's per-element update loop with Numba, on first use.

Why a compiled loop: an update rule written with NumPy operators makes one pass over memory
(and one temporary array) per operator, about twelve for Adam, plus a Python call each; the
same rule as one loop over the elements reads each array once. On a 535k-parameter MLP Adam
drops from 1.4 ms to 0.8 ms per step, and on small models the saving in calls is larger still.
The loop is the update rule written for one element, so it reads like the docstring's math.

Numba is imported when a kernel is first called (so `import optim` stays light), and the
compiled code is cached on disk when a cache directory is writable.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np


def elementwise(loop: Callable[..., None]) -> Callable[..., None]:
    """Decorator: `loop` becomes a Numba-compiled function, compiled on its first call."""
    compiled: list[Callable[..., None]] = []

    @functools.wraps(loop)
    def call(*args: Any) -> None:
        if not compiled:
            compiled.append(_compile(loop))
        compiled[0](*args)

    return call


def _compile(loop: Callable[..., None]) -> Callable[..., None]:
    import numba

    # error_model="numpy": division by zero gives inf/nan as in NumPy, no check in the loop
    try:
        return numba.njit(cache=True, error_model="numpy")(loop)
    except RuntimeError:  # no writable cache directory: compile in memory only
        return numba.njit(cache=False, error_model="numpy")(loop)


def flat(array: np.ndarray) -> np.ndarray:
    """A 1-D C-ordered view of `array` (a copy if its layout does not allow a view; only for
    arrays the kernel reads)."""
    return array.reshape(-1) if array.flags.c_contiguous else np.ascontiguousarray(array).ravel()


def zeros(p: Any) -> np.ndarray:
    """A C-ordered state array of zeros shaped like parameter `p` (kernels index it flat)."""
    return np.zeros(p.shape, dtype=p.dtype)
