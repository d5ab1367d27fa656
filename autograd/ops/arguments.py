"""Normalising the arguments of operations: axes, reduced shapes, indices."""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Tensor


def as_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """Normalise an int or tuple of ints to a tuple of non-negative axes (None: all).

    A 0-d tensor takes the int axis 0 or -1 as its one element, as NumPy's sum/max/min do
    (and PyTorch for every reduction); anything out of range raises NumPy's AxisError.
    """
    if axis is None:
        return None
    if isinstance(axis, Tensor):  # torch.max(a, b) is elementwise; ag.max(a, b) would reduce
        raise TypeError(f"{op}: axis must be an int or a tuple of ints, not a Tensor (for the "
                        "elementwise maximum or minimum of two tensors: ag.maximum, ag.minimum)")
    if ndim == 0 and _is_int(axis) and axis in (0, -1):
        return ()
    axes = (axis,) if _is_int(axis) else axis
    if not isinstance(axes, (tuple, list)) or not all(_is_int(a) for a in axes):
        raise TypeError(f"{op}: axis must be an int or a tuple of ints; got {axis!r}")
    normalised = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(f"{op}: axis {a} is out of range for a tensor with "
                                          f"{ndim} dims")
        normalised.append(int(a) % ndim)
    if len(set(normalised)) != len(normalised):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(normalised)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def count(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> int:
    """How many elements a reduction over `axis` combines into one."""
    return math.prod(shape) if axis is None else math.prod(shape[a] for a in axis)


def reduced_shape(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> tuple[int, ...]:
    return () if axis is None else tuple(n for i, n in enumerate(shape) if i not in axis)


def keepdims_shape(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> tuple[int, ...]:
    return tuple(1 if axis is None or i in axis else n for i, n in enumerate(shape))


def as_index(index: Any, copy: bool = False) -> Any:
    """Tensors inside an index become their arrays, lists become arrays (NumPy semantics: an
    empty list picks nothing, a list of 0-d tensors is a list of integers); with `copy`,
    arrays are copies the caller cannot change."""
    if isinstance(index, tuple):
        return tuple(as_index(i, copy) for i in index)
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, list):
        array = np.asarray([as_index(i) for i in index])
        return array.astype(np.intp) if array.size == 0 else array
    if copy and isinstance(index, np.ndarray):
        return index.copy()
    return index


def has_integer_array(index: Any) -> bool:
    """True if the index may pick an element twice (so its gradient must accumulate)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) and p.dtype.kind in "iu" for p in parts)



_TORCH_KEYWORDS = {"dim": "axis", "keepdim": "keepdims", "p": "ord"}


def torch_keywords(fn: Callable) -> Callable:
    """Let `fn` also take PyTorch's `dim=` for its `axis=`, `keepdim=` for its `keepdims=` and
    `p=` for its `ord=` (given both: TypeError). Functions without those come back unchanged."""
    parameters = inspect.signature(fn).parameters
    renames = {torch: ours for torch, ours in _TORCH_KEYWORDS.items() if ours in parameters}
    if not renames:
        return fn

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            for torch, ours in renames.items():
                if torch in kwargs:
                    if ours in kwargs:
                        raise TypeError(f"{fn.__name__}: got both {ours}= and {torch}= (its "
                                        "PyTorch spelling); give one")
                    kwargs[ours] = kwargs.pop(torch)
        return fn(*args, **kwargs)
    return wrapper


def check_device(device: Any, where: str) -> None:
    """The engine computes on the CPU: `device="cpu"` (PyTorch's "cpu:0" too, or None) is
    accepted, nothing else."""
    if device is not None and str(device) not in ("cpu", "cpu:0"):
        raise ValueError(f"{where}: device {str(device)!r} is not available: this engine runs "
                         "on the CPU only (use device='cpu', or leave device out)")
