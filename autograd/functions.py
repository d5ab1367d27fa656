"""The tensor methods as functions: `ag.exp(t)` is `t.exp()`, `ag.sum(t, axis=1)` is
`t.sum(axis=1)`. NumPy's and PyTorch's function spellings (and `np.NAME(t)`, which dispatches
here) reach the same methods, so there is no second implementation of anything."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .ops import concatenate
from .tensor import Tensor


def _as_tensor(t: Any) -> Tensor:
    return t if isinstance(t, Tensor) else Tensor(t)


def _method_as_function(name: str) -> Callable[..., Tensor]:
    """`name(t, *args, **kwargs)` calling `t.name(*args, **kwargs)`, with its signature."""
    method = getattr(Tensor, name)

    def function(t: Any, *args: Any, **kwargs: Any) -> Tensor:
        return method(_as_tensor(t), *args, **kwargs)

    signature = inspect.signature(method)
    self, *rest = signature.parameters.values()
    function.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[self.replace(name="t"), *rest])
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"`ag.{name}(t, ...)` is `t.{name}(...)`. {method.__doc__ or ''}".strip()
    return function


exp = _method_as_function("exp")
log = _method_as_function("log")
sqrt = _method_as_function("sqrt")
abs = _method_as_function("abs")
sin = _method_as_function("sin")
cos = _method_as_function("cos")
log1p = _method_as_function("log1p")
tanh = _method_as_function("tanh")
sigmoid = _method_as_function("sigmoid")
relu = _method_as_function("relu")
sum = _method_as_function("sum")
mean = _method_as_function("mean")
max = _method_as_function("max")
min = _method_as_function("min")
matmul = _method_as_function("matmul")
clip = _method_as_function("clip")
softmax = _method_as_function("softmax")
log_softmax = _method_as_function("log_softmax")


def reshape(t: Any, shape: Any) -> Tensor:
    """`t.reshape(shape)` (NumPy's and PyTorch's signature: the shape is one argument)."""
    return _as_tensor(t).reshape(shape)


def transpose(t: Any, axes: Any = None) -> Tensor:
    """`t.transpose(axes)`: NumPy's permutation (None reverses the axes). PyTorch's
    `transpose(t, 0, 1)` is `ag.swapaxes`'s job; given two axes, this raises TypeError."""
    return _as_tensor(t).transpose(axes)


swapaxes = _method_as_function("swapaxes")
cat = concatenate
# more PyTorch spellings of methods (torch.clamp(t, 0, 1), torch.unsqueeze(t, 0), ...)
clamp = _method_as_function("clamp")
pow = _method_as_function("pow")
square = _method_as_function("square")
mm = _method_as_function("mm")
squeeze = _method_as_function("squeeze")
unsqueeze = _method_as_function("unsqueeze")
permute = _method_as_function("permute")
var = _method_as_function("var")
std = _method_as_function("std")
logsumexp = _method_as_function("logsumexp")
norm = _method_as_function("norm")
