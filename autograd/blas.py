"""Matrix products through BLAS, on one thread where a second one cannot pay off.

After a multi-threaded call OpenBLAS's threads keep spinning, waiting for the next one. For
the small products of the course's models a second thread saves next to nothing, and when
another process keeps a core busy the spinning threads fight it for that core: `train.py`
took 5-41 s (median 22) on 2 cores with one busy, against 4-6.5 s with one BLAS thread. So a
product of fewer than `SERIAL_BELOW` multiply-adds runs with OpenBLAS's thread count set to 1
for the calling thread (`openblas_set_num_threads_local`), restored right after; larger ones
use every thread. Below OpenBLAS's own threshold (4 * 65536 multiply-adds) it is serial anyway,
so nothing is switched. Without an OpenBLAS that has the call, products run as NumPy runs them.
"""

from __future__ import annotations

import ctypes
import glob
import math
import os
from typing import Any

import numpy as np

SERIAL_BELOW = 1 << 24  # multiply-adds, about 256 x 256 x 256
_OPENBLAS_SERIAL_BELOW = 4 * 65536  # OpenBLAS's GEMM_MULTITHREAD_THRESHOLD * SMP_THRESHOLD_MIN


def _find_set_threads_local() -> Any:
    """OpenBLAS's `openblas_set_num_threads_local`, from the library NumPy loaded, or None."""
    numpy_dir = os.path.dirname(np.__file__)
    candidates = glob.glob(os.path.join(numpy_dir, os.pardir, "numpy.libs", "*openblas*"))
    candidates += glob.glob(os.path.join(numpy_dir, ".dylibs", "*openblas*"))
    try:
        with open("/proc/self/maps") as maps:
            candidates += sorted({line.split()[-1] for line in maps if "openblas" in line})
    except OSError:
        pass
    for path in candidates:
        try:
            function = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        function.restype = ctypes.c_int  # no argtypes: a Python int goes as a C int, and
        # the conversion argtypes would add took 1.5 us a call instead of 0.9
        return function
    return None


_set_threads_local = _find_set_threads_local()


def serial(shape_a: tuple, shape_b: tuple) -> bool:
    """True if a product of these shapes runs with the thread count switched to 1."""
    small = _small_products.get((shape_a, shape_b))
    if small is None:
        if len(_small_products) >= _SHAPES_REMEMBERED:  # shapes that vary without end
            _small_products.clear()
        small = _small_products[shape_a, shape_b] = _small(shape_a, shape_b)
    return small and _set_threads_local is not None


def _small(shape_a: tuple, shape_b: tuple) -> bool:
    """Whether the product has from _OPENBLAS_SERIAL_BELOW to SERIAL_BELOW multiply-adds."""
    if len(shape_a) == len(shape_b) == 2:  # the usual matrix times matrix
        work = shape_a[0] * shape_a[1] * shape_b[1]
    else:
        rows = shape_a[-2] if len(shape_a) > 1 else 1
        columns = shape_b[-1] if len(shape_b) > 1 else 1
        batch = math.prod(np.broadcast_shapes(shape_a[:-2], shape_b[:-2]))
        work = batch * rows * columns * shape_a[-1]
    return _OPENBLAS_SERIAL_BELOW <= work < SERIAL_BELOW


# (shape_a, shape_b) -> _small(shape_a, shape_b): a training loop multiplies the same few
# shapes again and again, and looking the answer up takes a third of the bytecodes
_small_products: dict[tuple[tuple, tuple], bool] = {}
_SHAPES_REMEMBERED = 256


def matmul(a: Any, b: Any, out: np.ndarray | None = None) -> Any:
    """np.matmul(a, b) (arrays, or tensors under create_graph), on one BLAS thread when the
    product is too small for two; `out` as NumPy's (ag.compile's replay writes buffers)."""
    if not serial(a.shape, b.shape):
        return np.matmul(a, b, out=out)
    previous = _set_threads_local(1)
    try:
        return np.matmul(a, b, out=out)
    finally:
        _set_threads_local(previous)
