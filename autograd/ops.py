"""The primitive operations: each forward beside its vector-Jacobian product.

A rule's `backward(ctx, grad)` returns one gradient per forward argument, in order, shaped
like the forward's output where broadcasting is involved: the engine sums it back to the
input's shape. Rules are written with tensor operations, so they can be differentiated again.
Everything else (mean, var, softmax, ...) is composed from these in `tensor.py`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import kernels
from .function import Function
from .tensor import Tensor, _unwrap

# ---- helpers for arguments ------------------------------------------------------------


def as_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """Normalise an int or tuple of ints to a tuple of non-negative axes (None: all)."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    normalised = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dims")
        normalised.append(int(a) % max(ndim, 1))
    if len(set(normalised)) != len(normalised):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(normalised)


def count(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> int:
    """How many elements a reduction over `axis` combines into one."""
    return math.prod(shape) if axis is None else math.prod(shape[a] for a in axis)


def reduced_shape(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> tuple[int, ...]:
    return () if axis is None else tuple(n for i, n in enumerate(shape) if i not in axis)


def _keepdims_shape(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> tuple[int, ...]:
    return tuple(1 if axis is None or i in axis else n for i, n in enumerate(shape))


def as_index(index: Any) -> Any:
    """Tensors inside an index become their arrays, lists become arrays (NumPy semantics)."""
    if isinstance(index, tuple):
        return tuple(as_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _is_advanced(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) for p in parts)


def _has_integer_array(index: Any) -> bool:
    """True if the index may pick an element twice (so its gradient must accumulate)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) and p.dtype.kind in "iu" for p in parts)


def _log_of(value: Any) -> Any:
    return value.log() if isinstance(value, Tensor) else np.log(value)


# ---- arithmetic ------------------------------------------------------------------------


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad if ctx.needs_input_grad[1] else None


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return grad * b if need_a else None, grad * a if need_b else None


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad / b if need_a else None,
                -grad * a / (b * b) if need_b else None)


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = np.asarray(a ** b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b * a ** (b - 1) if need_a else None,  # b a^(b-1)
                grad * out * _log_of(a) if need_b else None)  # a^b log a


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.asarray(np.exp(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / a


class Sqrt(Function):  # a rule of its own: (x ** 0.5)'s rule would recompute the root
    @staticmethod
    def forward(ctx, a):
        out = np.asarray(np.sqrt(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (2 * out)


class Abs(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * np.sign(_unwrap(a)).astype(grad.dtype)


class Clip(Function):
    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.save_for_backward(a)
        ctx.bounds = (lo, hi)
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        inside = np.ones(a.shape, dtype=bool)
        if lo is not None:
            inside &= _unwrap(a) >= lo
        if hi is not None:
            inside &= _unwrap(a) <= hi
        return Where.apply(inside, grad, 0), None, None


def _tie_share(a: Any, b: Any, a_wins: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The share of the gradient that goes to `a`: 1 where it wins, 1/2 on ties."""
    return np.where(a_wins, 1, np.where(_unwrap(a) == _unwrap(b), 0.5, 0)).astype(dtype)


class Maximum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        share = _tie_share(a, b, _unwrap(a) > _unwrap(b), grad.dtype)
        return grad * share, grad * (1 - share)


class Minimum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        share = _tie_share(a, b, _unwrap(a) < _unwrap(b), grad.dtype)
        return grad * share, grad * (1 - share)


class Where(Function):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition = condition = np.asarray(condition, dtype=bool)
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        condition = ctx.condition
        need_a, need_b = ctx.needs_input_grad[1:]
        return (None,
                Where.apply(condition, grad, 0) if need_a else None,
                Where.apply(condition, 0, grad) if need_b else None)


class AsType(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.input_dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.input_dtype), None


# ---- activations: Numba kernels, each with a fused gradient op --------------------------
# The gradient ops are Functions too, so that their own VJPs give second derivatives.


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        y = kernels.sigmoid(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return SigmoidGrad.apply(y, grad)


class SigmoidGrad(Function):
    """grad * y * (1 - y), in one pass."""

    @staticmethod
    def forward(ctx, y, grad):
        ctx.save_for_backward(y, grad)
        return kernels.sigmoid_backward(y, grad)

    @staticmethod
    def backward(ctx, gg):
        y, grad = ctx.saved_tensors
        return gg * grad * (1 - 2 * y), SigmoidGrad.apply(y, gg)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        y = kernels.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return TanhGrad.apply(y, grad)


class TanhGrad(Function):
    """grad * (1 - y^2), in one pass."""

    @staticmethod
    def forward(ctx, y, grad):
        ctx.save_for_backward(y, grad)
        return kernels.tanh_backward(y, grad)

    @staticmethod
    def backward(ctx, gg):
        y, grad = ctx.saved_tensors
        return gg * grad * (-2 * y), TanhGrad.apply(y, gg)


class ReLU(Function):
    @staticmethod
    def forward(ctx, x):
        y = kernels.relu(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return ReLUGrad.apply(y, grad)


class ReLUGrad(Function):
    """grad where y > 0, else 0: piecewise constant in y, linear in grad."""

    @staticmethod
    def forward(ctx, y, grad):
        ctx.save_for_backward(y)
        return kernels.relu_backward(y, grad)

    @staticmethod
    def backward(ctx, gg):
        (y,) = ctx.saved_tensors
        return None, ReLUGrad.apply(y, gg)


class LeakyReLU(Function):
    @staticmethod
    def forward(ctx, x, negative_slope):
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        return kernels.leaky_relu(x, negative_slope)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return LeakyReLUGrad.apply(x, grad, ctx.negative_slope), None


class LeakyReLUGrad(Function):
    """grad where x > 0, else negative_slope * grad."""

    @staticmethod
    def forward(ctx, x, grad, negative_slope):
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        return kernels.leaky_relu_backward(x, grad, negative_slope)

    @staticmethod
    def backward(ctx, gg):
        (x,) = ctx.saved_tensors
        return None, LeakyReLUGrad.apply(x, gg, ctx.negative_slope), None


class ELU(Function):
    @staticmethod
    def forward(ctx, x, alpha):
        if alpha < 0:
            raise ValueError(f"ELU: alpha must be >= 0, got {alpha}")
        y = kernels.elu(x, alpha)
        ctx.save_for_backward(y)
        ctx.alpha = alpha
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return ELUGrad.apply(y, grad, ctx.alpha), None


class ELUGrad(Function):
    """grad where y > 0, else grad * (y + alpha) (= grad * alpha * exp(x))."""

    @staticmethod
    def forward(ctx, y, grad, alpha):
        ctx.save_for_backward(y, grad)
        ctx.alpha = alpha
        return kernels.elu_backward(y, grad, alpha)

    @staticmethod
    def backward(ctx, gg):
        y, grad = ctx.saved_tensors
        negative = (_unwrap(y) <= 0).astype(y.dtype)
        return gg * grad * negative, ELUGrad.apply(y, gg, ctx.alpha), None


# ---- linear algebra ---------------------------------------------------------------------


def _matrix_transpose(t: Tensor) -> Tensor:
    axes = list(range(t.ndim))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return t.transpose(axes)


class MatMul(Function):
    """NumPy's matmul (1-D, 2-D and batched) through BLAS.

    For C = A @ B: dA = dC @ B^T and dB = A^T @ dC; a 1-D operand is treated as a row
    (left) or column (right) vector and the extra axis removed again.
    """

    @staticmethod
    def forward(ctx, a, b):
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise ValueError(f"MatMul: operands must have at least one dimension; got "
                             f"shapes {np.shape(a)} and {np.shape(b)}")
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a_vector, b_vector = a.ndim == 1, b.ndim == 1
        a2 = a.reshape(1, -1) if a_vector else a
        b2 = b.reshape(-1, 1) if b_vector else b
        if b_vector:
            grad = grad[..., None]
        if a_vector:
            grad = grad[..., None, :]
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            grad_a = grad @ _matrix_transpose(b2)
            grad_a = grad_a.squeeze(-2) if a_vector else grad_a
        if need_b:
            grad_b = _matrix_transpose(a2) @ grad
            grad_b = grad_b.squeeze(-1) if b_vector else grad_b
        return grad_a, grad_b


# ---- reductions -------------------------------------------------------------------------


class Sum(Function):
    @staticmethod
    def forward(ctx, a, axis, keepdims):
        ctx.input_shape = a.shape
        ctx.axis = axis
        return np.sum(a, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        kept = _keepdims_shape(ctx.input_shape, ctx.axis)
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
        kept = _keepdims_shape(a.shape, ctx.axis)
        return grad.reshape(kept) * share, None, None


class Max(_Extremum):
    reduce = staticmethod(np.max)


class Min(_Extremum):
    reduce = staticmethod(np.min)


# ---- shape ------------------------------------------------------------------------------


class Reshape(Function):
    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.input_shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.input_shape), None


class Transpose(Function):
    is_view = True

    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        return np.transpose(a, axes)

    @staticmethod
    def backward(ctx, grad):
        axes = ctx.axes
        inverse = None if axes is None else tuple(np.argsort(axes).tolist())
        return grad.transpose(inverse), None


class BroadcastTo(Function):
    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine sums the broadcast axes back


class GetItem(Function):
    """NumPy indexing; basic indexing gives a view, advanced indexing a copy."""

    @staticmethod
    def forward(ctx, a, index):
        index = as_index(index)
        ctx.index, ctx.input_shape = index, a.shape
        return a[index]

    @staticmethod
    def backward(ctx, grad):
        return IndexAdd.apply(grad, ctx.index, ctx.input_shape), None

    @classmethod
    def apply(cls, a, index):
        out = super().apply(a, index)
        if isinstance(out, Tensor) and not _is_advanced(as_index(index)):
            out._version = a._version  # a basic index is a view of `a`
        return out


class IndexAdd(Function):
    """Scatter `grad` into zeros of `shape` at `index`; repeated indices accumulate."""

    @staticmethod
    def forward(ctx, grad, index, shape):
        ctx.index = index
        out = np.zeros(shape, dtype=grad.dtype)
        if _has_integer_array(index):
            np.add.at(out, index, grad)
        else:
            out[index] = grad
        return out

    @staticmethod
    def backward(ctx, gg):
        return gg[ctx.index], None, None


class Concatenate(Function):
    @staticmethod
    def forward(ctx, axis, *tensors):
        ctx.axis = axis
        ctx.sizes = [np.shape(t)[axis] for t in tensors]
        return np.concatenate(tensors, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        axis = ctx.axis % grad.ndim
        pieces, start = [], 0
        for size, need in zip(ctx.sizes, ctx.needs_input_grad[1:]):
            index = (slice(None),) * axis + (slice(start, start + size),)
            pieces.append(grad[index] if need else None)
            start += size
        return (None, *pieces)


def concatenate(tensors: Any, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return Concatenate.apply(axis, *tensors)


def stack(tensors: Any, axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    return concatenate([t.expand_dims(axis) for t in tensors], axis=axis)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """`a` where `condition` holds, else `b` (broadcast together)."""
    return Where.apply(condition, a, b)


def maximum(a: Any, b: Any) -> Tensor:
    return Maximum.apply(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    return Minimum.apply(a, b)
