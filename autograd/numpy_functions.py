"""NumPy functions called on tensors (`__array_ufunc__`, `__array_function__`).

The ones the engine has (`np.exp(t)`, `np.add`, `np.sum(t, axis=...)`, `np.concatenate`, ...)
run as the engine's ops and return tensors, recorded as any other op. Any other NumPy function
runs on the arrays; its result comes back as NumPy gives it when it carries no gradient
(booleans, integers, shapes) or when no tensor in the call requires grad. A floating-point
result computed from a tensor that requires grad would silently cut the graph, so that
raises TypeError naming the function. One writing into a tensor (`out=`, `np.copyto`,
`np.put`, `np.add.at`, ...) bumps its version, as an in-place op does, and is refused while
recording a tensor that requires grad.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from . import ops
from .grad_mode import _mode
from .tensor import Tensor


def _ufuncs() -> dict[np.ufunc, Callable]:
    return {
        np.add: ops.Add.apply, np.subtract: ops.Sub.apply, np.multiply: ops.Mul.apply,
        np.divide: ops.Div.apply, np.power: ops.Pow.apply, np.matmul: ops.MatMul.apply,
        np.negative: ops.Neg.apply, np.absolute: ops.Abs.apply, np.exp: ops.Exp.apply,
        np.log: ops.Log.apply, np.sqrt: ops.Sqrt.apply, np.tanh: ops.Tanh.apply,
        np.maximum: ops.Maximum.apply, np.minimum: ops.Minimum.apply, np.square: Tensor.square,
    }


def _functions() -> dict[Callable, Callable]:
    from . import creation, functions  # they import the ops, which import this module

    return {
        np.sum: Tensor.sum, np.mean: Tensor.mean, np.max: Tensor.max, np.amax: Tensor.max,
        np.min: Tensor.min, np.amin: Tensor.min, np.var: Tensor.var, np.std: Tensor.std,
        np.reshape: functions.reshape, np.transpose: functions.transpose,
        np.squeeze: Tensor.squeeze, np.expand_dims: Tensor.expand_dims,
        np.broadcast_to: Tensor.broadcast_to, np.clip: _clip,
        np.concatenate: ops.concatenate, np.stack: ops.stack,
        np.where: ops.where, np.linalg.norm: _linalg_norm, np.zeros_like: creation.zeros_like,
        np.ones_like: creation.ones_like,
    }


def _clip(a: Any, a_min: Any = None, a_max: Any = None, *, min: Any = None,
          max: Any = None) -> Tensor:
    """np.clip with NumPy's argument names (a_min, a_max; min, max since NumPy 2.1)."""
    return ops.Clip.apply(a, min if a_min is None else a_min, max if a_max is None else a_max)


def _linalg_norm(x: Tensor, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:
    """np.linalg.norm as the engine's vector norm `Tensor.norm`. NumPy takes a matrix norm for
    a 2-D input without axis, or two axes, when ord is given: only Frobenius is the same."""
    two_axes = axis is None and x.ndim == 2 or isinstance(axis, tuple) and len(axis) == 2
    if two_axes and ord not in (None, "fro"):
        raise TypeError(f"np.linalg.norm: the matrix norm ord={ord!r} is not an operation of "
                        "the engine; use ord=None or 'fro', or an int axis for a vector norm")
    return x.norm(2 if ord is None else ord, axis, keepdims)


_TABLES: dict[str, dict] = {}


def _implementation(kind: str, func: Any) -> Callable | None:
    """The engine's version of a NumPy ufunc or function: from the table above, else the
    `autograd` function of the same name (sin, cos, ...), else None."""
    if not _TABLES:
        _TABLES.update(ufunc=_ufuncs(), function=_functions())
    found = _TABLES[kind].get(func)
    if found is None:
        import autograd
        candidate = getattr(autograd, getattr(func, "__name__", ""), None)
        if callable(candidate) and getattr(candidate, "__module__", "").startswith(
                "autograd.functions"):
            found = candidate
    return found


def _tensors(values: Any) -> list[Tensor]:
    """The tensors among the arguments, also inside lists and tuples (np.concatenate)."""
    found = []
    for value in values:
        if isinstance(value, Tensor):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(_tensors(value))
    return found


def _arrays(values: Any) -> Any:
    """The arguments with every tensor replaced by its array."""
    if isinstance(values, Tensor):
        return values.data
    if isinstance(values, (list, tuple)):
        return type(values)(_arrays(v) for v in values)
    if isinstance(values, dict):
        return {k: _arrays(v) for k, v in values.items()}
    return values


def _carries_gradient(result: Any) -> bool:
    if isinstance(result, (tuple, list)):
        return any(_carries_gradient(r) for r in result)
    return np.asarray(result).dtype.kind in "fc" if isinstance(
        result, (np.ndarray, np.generic, float, complex)) else False


def _numpy_result(name: str, call: Callable[[], Any], tensors: list[Tensor]) -> Any:
    result = call()
    if _mode.enabled and any(t._requires_grad for t in tensors) and _carries_gradient(result):
        raise TypeError(
            f"np.{name} is not an operation of the engine: on a tensor that requires grad its "
            "result would silently cut the graph. Use the tensor's own operations, or "
            f"np.{name}(t.data) for values only (or call it under ag.no_grad()).")
    return result


def apply_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    tensors = _tensors(inputs) + _tensors(kwargs.get("out", ()))
    implementation = _implementation("ufunc", ufunc)
    if method == "__call__" and not kwargs and implementation is not None:
        return implementation(*inputs)
    name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
    call = partial(getattr(ufunc, method), *_arrays(inputs), **_arrays(kwargs))
    if "out" in kwargs:
        out = kwargs["out"]
        _write_into(f"{name}(..., out=...)", call, tensors, _tensors(out))
        return out[0] if len(out) == 1 else out
    if method == "at":  # ufunc.at(a, indices, b) adds (or ...) into a
        return _write_into(name, call, tensors, _tensors(inputs[:1]))
    return _numpy_result(name, call, tensors)


# The NumPy functions that write into their first argument.
_WRITING = {np.copyto, np.put, np.putmask, np.place, np.fill_diagonal, np.put_along_axis}


def _write_into(name: str, call: Callable[[], Any], tensors: list[Tensor],
                targets: list[Tensor]) -> Any:
    """A NumPy call writing into tensors' memory: values only, so refused while recording a
    tensor that requires grad; the tensors written into have their version bumped, so that a
    graph that saved one refuses backward instead of using the new values."""
    if _mode.enabled and any(t._requires_grad for t in tensors):
        raise TypeError(f"np.{name}: writing into a tensor's memory cannot be recorded for a "
                        "tensor that requires grad; use the tensor's own operations "
                        "(t[...] = v, t.copy_(v), out of place), or call it under ag.no_grad()")
    result = call()
    for target in targets:
        target._version[0] += 1
    return result


def apply_function(func: Callable, args: tuple, kwargs: dict) -> Any:
    implementation = _implementation("function", func)
    if implementation is not None:
        first = args[0] if args else None
        if implementation.__qualname__.startswith("Tensor.") and not isinstance(first, Tensor):
            args = (Tensor(first), *args[1:])
        return implementation(*args, **kwargs)
    tensors = _tensors(args) + _tensors(kwargs.values())
    call = partial(func, *_arrays(args), **_arrays(kwargs))
    if func in _WRITING:
        return _write_into(func.__name__, call, tensors, _tensors(args[:1]))
    if "out" in kwargs:
        _write_into(f"{func.__name__}(..., out=...)", call, tensors, _tensors([kwargs["out"]]))
        return kwargs["out"]
    return _numpy_result(func.__name__, call, tensors)
