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
        kept = keepdims_shape(ctx.input_shape, ctx.axis)
        return BroadcastTo.apply(grad.reshape(kept), ctx.input_shape), None, None


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
