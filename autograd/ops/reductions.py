"""Sums and extrema along axes."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernels
from ..function import Primitive
from ..tensor import _unwrap
from .arguments import keepdims_shape
from .shape import BroadcastTo


class Sum(Primitive):
    @staticmethod
    def forward(ctx, a, axis, keepdims):
        ctx.input_shape = a.shape
        ctx.axis = axis
        if not keepdims and (axis is None or len(axis) == a.ndim):  # NumPy's sum, faster
            return kernels.pairwise_sum(a)
        return np.sum(a, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        shape = ctx.input_shape
        if ctx.axis is None and isinstance(grad, np.ndarray):  # an ordinary backward, all summed
            return _spread(grad, shape), None, None
        return BroadcastTo.apply(grad.reshape(keepdims_shape(shape, ctx.axis)), shape), None, None


def _spread(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A one-element array as a read-only view of `shape` with every stride 0: what
    np.broadcast_to gives, made directly (np.broadcast_to costs ten times as much). Of the
    array's own type: in a step that ag.compile captures, a view of a traced array is traced."""
    view = type(value)(shape, value.dtype, value, 0, (0,) * len(shape))
    view.flags.writeable = False
    return view


class _Extremum(Primitive):
    """max / min along axes; the gradient is split evenly among ties."""

    reduce: Any

    @classmethod
    def forward(cls, ctx, a, axis, keepdims):
        out = np.asanyarray(cls.reduce(a, axis=axis, keepdims=keepdims))
        ctx.save_for_backward(a, out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        kept = keepdims_shape(a.shape, ctx.axis)
        hits = _unwrap(a) == _unwrap(out).reshape(kept)
        share = (hits / hits.sum(axis=ctx.axis, keepdims=True)).astype(grad.dtype)
        return grad.reshape(kept) * share, None, None


class Max(_Extremum):
    reduce = staticmethod(np.max)


class Min(_Extremum):
    reduce = staticmethod(np.min)
