"""Sums and extrema along axes."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..function import Function
from ..tensor import _unwrap
from .arguments import keepdims_shape, reduced_shape
from .shape import BroadcastTo


class Sum(Function):
    @staticmethod
    def forward(ctx, a, axis, keepdims):
        ctx.input_shape = a.shape
        ctx.axis = axis
        return np.sum(a, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        kept = keepdims_shape(ctx.input_shape, ctx.axis)
        return BroadcastTo.apply(grad.reshape(kept), ctx.input_shape), None, None


class _Extremum(Function):
    """max / min along axes; the gradient is split evenly among ties."""

    reduce: Any

    @classmethod
    def forward(cls, ctx, a, axis, keepdims):
        out = cls.reduce(a, axis=axis, keepdims=True)
        ctx.save_for_backward(a)
        ctx.axis, ctx.extremum = axis, out
        return out if keepdims else out.reshape(reduced_shape(a.shape, axis))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        hits = _unwrap(a) == ctx.extremum
        share = (hits / hits.sum(axis=ctx.axis, keepdims=True)).astype(grad.dtype)
        kept = keepdims_shape(a.shape, ctx.axis)
        return grad.reshape(kept) * share, None, None


class Max(_Extremum):
    reduce = staticmethod(np.max)


class Min(_Extremum):
    reduce = staticmethod(np.min)
