"""Tensor factories, NumPy-named, each with `dtype=None, requires_grad=False`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from .compile import replayed
from .function import _named
from .ops import check_device
from .random import get_generator
from .tensor import Tensor


def _on_cpu(factory: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """Let a factory take PyTorch's `device=`: "cpu" (or None) is accepted, nothing else. A
    NumPy error about the arguments (a negative size, an unknown dtype) is named after it."""
    @functools.wraps(factory)
    def with_device(*args: Any, device: Any = None, **kwargs: Any) -> Tensor:
        check_device(device, factory.__name__)
        try:
            return factory(*args, **kwargs)
        except (TypeError, ValueError) as error:
            raise _named(error, factory.__name__, args) from None

    signature = inspect.signature(factory)
    device = inspect.Parameter("device", inspect.Parameter.KEYWORD_ONLY, default=None)
    with_device.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), device])
    return with_device


def _shape(shape: tuple) -> tuple[int, ...]:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _float(dtype: Any) -> Any:
    return np.float32 if dtype is None else dtype


@_on_cpu
def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of `data`."""
    data = data.data if isinstance(data, Tensor) else data
    return Tensor(np.copy(data) if isinstance(data, np.ndarray) else data,
                  dtype=dtype, requires_grad=requires_grad)


@_on_cpu
def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_shape(shape), _float(dtype)), requires_grad=requires_grad)


@_on_cpu
def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_shape(shape), _float(dtype)), requires_grad=requires_grad)


@_on_cpu
def full(shape: Any, value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    dtype = Tensor(value).dtype if dtype is None else dtype  # 7.0 -> float32, 7 -> int64
    return Tensor(np.full(shape, value, dtype), requires_grad=requires_grad)


@_on_cpu
def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.eye(n, m, dtype=_float(dtype)), requires_grad=requires_grad)


@_on_cpu
def arange(*args: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """NumPy's arange; Python floats give float32 and ints int64, as everywhere."""
    if len(args) == 3 and args[2] == 0:
        raise ValueError("arange: step must be nonzero")
    values = np.arange(*args)
    if dtype is None and values.dtype.kind == "f":
        values = values.astype(np.float32)
    return Tensor(values, dtype=dtype, requires_grad=requires_grad)


@_on_cpu
def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros_like(np.asarray(t), dtype=dtype), requires_grad=requires_grad)


@_on_cpu
def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones_like(np.asarray(t), dtype=dtype), requires_grad=requires_grad)


def _random_dtype(dtype: Any, where: str) -> Any:
    dtype = _float(dtype)
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"{where}: dtype must be floating-point; got {np.dtype(dtype)} (random "
                        "values would all round to 0)")
    return dtype


@replayed  # a compiled step draws fresh numbers on every replay
@_on_cpu
def rand(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1), from the global generator (`manual_seed`)."""
    dtype = _random_dtype(dtype, "rand")
    values = get_generator().random(_shape(shape), dtype=np.float64)
    return Tensor(values.astype(dtype), requires_grad=requires_grad)


@replayed  # a compiled step draws fresh numbers on every replay
@_on_cpu
def randn(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal, from the global generator (`manual_seed`)."""
    dtype = _random_dtype(dtype, "randn")
    values = get_generator().standard_normal(_shape(shape))
    return Tensor(values.astype(dtype), requires_grad=requires_grad)


@replayed  # a compiled step draws fresh numbers on every replay
@_on_cpu
def randint(low: int, high: Any = None, size: Any = (), dtype: Any = None,
            requires_grad: bool = False) -> Tensor:
    """Integers uniform on [low, high) (int64 unless `dtype` says otherwise), from the global
    generator; PyTorch's `randint(high, size)` too."""
    if high is None or isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, size if high is None else high
    size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    values = get_generator().integers(low, high, size=size)
    return Tensor(values if dtype is None else values.astype(dtype), requires_grad=requires_grad)


@replayed  # a compiled step draws fresh numbers on every replay
@_on_cpu
def randperm(n: int, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0 .. n - 1 (int64 unless `dtype` says otherwise)."""
    values = get_generator().permutation(n)
    return Tensor(values if dtype is None else values.astype(dtype), requires_grad=requires_grad)


@_on_cpu
def empty(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uninitialised values (whatever the memory held): for buffers that are written next."""
    return Tensor(np.empty(_shape(shape), _float(dtype)), requires_grad=requires_grad)


@_on_cpu
def linspace(start: Any, stop: Any, num: int = 50, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    """`num` evenly spaced values from `start` to `stop`, both included (float32 unless
    `dtype` says otherwise, as for Python floats everywhere)."""
    values = np.linspace(start, stop, num, dtype=_float(dtype))
    return Tensor(values, requires_grad=requires_grad)


def _random_like(t: Any, dtype: Any, where: str) -> tuple[tuple[int, ...], Any]:
    """The shape of `t`, and `dtype` or else `t`'s dtype, which must be floating."""
    t = t if isinstance(t, Tensor) else Tensor(t)
    dtype = t.dtype if dtype is None else np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{where}: random values need a floating-point dtype; the tensor has "
                        f"{dtype} (pass dtype=)")
    return t.shape, dtype


@_on_cpu
def rand_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """`rand` in the shape and (unless `dtype` is given) the dtype of `t`."""
    shape, dtype = _random_like(t, dtype, "rand_like")
    return rand(shape, dtype=dtype, requires_grad=requires_grad)


@_on_cpu
def randn_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """`randn` in the shape and (unless `dtype` is given) the dtype of `t`."""
    shape, dtype = _random_like(t, dtype, "randn_like")
    return randn(shape, dtype=dtype, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing `array`'s memory (a change to either shows in both); its dtype kept."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__} "
                        "(ag.tensor(data) copies any data)")
    return Tensor._make(array, False, None, 0)
