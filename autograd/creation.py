"""Tensor factories, NumPy-named, each with `dtype=None, requires_grad=False`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .random import get_generator
from .tensor import Tensor


def _shape(shape: tuple) -> tuple[int, ...]:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _float(dtype: Any) -> Any:
    return np.float32 if dtype is None else dtype


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of `data`."""
    data = data.data if isinstance(data, Tensor) else data
    return Tensor(np.array(data, copy=True) if isinstance(data, np.ndarray) else data,
                  dtype=dtype, requires_grad=requires_grad)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_shape(shape), _float(dtype)), requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_shape(shape), _float(dtype)), requires_grad=requires_grad)


def full(shape: Any, value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    dtype = Tensor(value).dtype if dtype is None else dtype  # 7.0 -> float32, 7 -> int64
    return Tensor(np.full(shape, value, dtype), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.eye(n, m, dtype=_float(dtype)), requires_grad=requires_grad)


def arange(*args: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """NumPy's arange; Python floats give float32 and ints int64, as everywhere."""
    values = np.arange(*args)
    if dtype is None and values.dtype.kind == "f":
        values = values.astype(np.float32)
    return Tensor(values, dtype=dtype, requires_grad=requires_grad)


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros_like(np.asarray(t), dtype=dtype), requires_grad=requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones_like(np.asarray(t), dtype=dtype), requires_grad=requires_grad)


def rand(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1), from the global generator (`manual_seed`)."""
    values = get_generator().random(_shape(shape), dtype=np.float64)
    return Tensor(values.astype(_float(dtype)), requires_grad=requires_grad)


def randn(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal, from the global generator (`manual_seed`)."""
    values = get_generator().standard_normal(_shape(shape))
    return Tensor(values.astype(_float(dtype)), requires_grad=requires_grad)
