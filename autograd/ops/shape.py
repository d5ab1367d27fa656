"""Reshaping, transposing, broadcasting, indexing and joining."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..function import Primitive
from ..tensor import Tensor
from .arguments import as_axis, as_index, has_integer_array, torch_keywords


def _owning(out: Any, a: Any) -> Any:
    """`out`, a result of indexing or reshaping `a`: a view of `a` as it is, a copy as an array
    of its own. NumPy returns some copies (advanced indexing whose indexed axes it moves, a
    reshape that must copy) as views of a private buffer, which in-place ops would refuse as
    views of a tensor, where PyTorch's copies take them."""
    base = getattr(out, "base", None)  # a NumPy scalar has none
    if base is None or base is a or base is a.base or np.may_share_memory(out, a):
        return out  # (may_share_memory: ag.compile's traced views have other bases)
    return out.copy()


class Reshape(Primitive):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.input_shape = a.shape
        return _owning(a.reshape(shape), a)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.input_shape), None


class Transpose(Primitive):
    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        return np.transpose(a, axes)

    @staticmethod
    def backward(ctx, grad):
        axes = ctx.axes
        inverse = None if axes is None else tuple(np.argsort(axes).tolist())
        return grad.transpose(inverse), None


class BroadcastTo(Primitive):
    @staticmethod
    def forward(ctx, a, shape):
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine sums the broadcast axes back


class GetItem(Primitive):
    """NumPy indexing; basic indexing gives a view, advanced indexing a copy."""

    @staticmethod
    def forward(ctx, a, index):
        index = as_index(index, copy=True)  # a private copy: the caller may change theirs
        ctx.save_for_backward(index)
        ctx.input_shape = a.shape
        return _owning(a[index], a)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return IndexAdd.apply(grad, index, ctx.input_shape), None


class IndexAdd(Primitive):
    """Scatter `grad` into zeros of `shape` at `index`; repeated indices accumulate."""

    @staticmethod
    def forward(ctx, grad, index, shape):
        ctx.save_for_backward(index)
        out = np.zeros_like(grad, shape=shape)  # like grad: traced by ag.compile
        if has_integer_array(index):
            np.add.at(out, index, grad)
        else:
            out[index] = grad
        return out

    @staticmethod
    def backward(ctx, gg):
        (index,) = ctx.saved_tensors
        return gg[index], None, None


class SetItem(Primitive):
    """a with a[index] = value, out of place (the recorded form of `t[index] = value`): the
    gradient reaches `a` except at `index`, and `value` gets what reached `index`."""

    @staticmethod
    def forward(ctx, a, index, value):
        index = as_index(index, copy=True)
        ctx.save_for_backward(index)
        out = np.copy(a)
        out[index] = value
        return out

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        need_a, _, need_value = ctx.needs_input_grad
        return (SetItem.apply(grad, index, 0) if need_a else None, None,
                grad[index] if need_value else None)


class Concatenate(Primitive):
    @staticmethod
    def forward(ctx, axis, *tensors):
        out = np.concatenate(tensors, axis=axis)  # NumPy's errors first, named by `apply`
        ctx.axis = axis
        ctx.sizes = [np.shape(t)[axis] for t in tensors]
        return out

    @staticmethod
    def backward(ctx, grad):
        axis = ctx.axis % grad.ndim
        pieces, start = [], 0
        for size, need in zip(ctx.sizes, ctx.needs_input_grad[1:]):
            index = (slice(None),) * axis + (slice(start, start + size),)
            pieces.append(grad[index] if need else None)
            start += size
        return (None, *pieces)


def _check_items(tensors: Any, op: str) -> list:
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if t is None:
            raise TypeError(f"{op}: item {i} is None; expected tensors or arrays")
    return tensors


@torch_keywords
def concatenate(tensors: Any, axis: int | None = 0) -> Tensor:
    """Join tensors along an existing axis (None: flattened, as NumPy's)."""
    tensors = _check_items(tensors, "concatenate")
    if axis is None:
        tensors = [t.reshape(-1) if isinstance(t, Tensor) else np.ravel(t) for t in tensors]
        axis = 0
    return Concatenate.apply(axis, *tensors)


@torch_keywords
def stack(tensors: Any, axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in _check_items(tensors, "stack")]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    shapes = [t.shape for t in tensors]
    if len(set(shapes)) > 1:
        raise ValueError(f"stack: all tensors must have one shape; got {shapes}")
    axis = as_axis(axis, tensors[0].ndim + 1, "stack")[0]
    return concatenate([t.expand_dims(axis) for t in tensors], axis=axis)
