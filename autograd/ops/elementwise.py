"""Elementwise arithmetic, each forward beside its VJP."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import kernels
from ..function import Primitive
from ..tensor import Tensor, _unwrap


def _log_of(value: Any) -> Any:
    return value.log() if isinstance(value, Tensor) else np.log(value)


class Add(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad if ctx.needs_input_grad[1] else None


class Mul(Primitive):
    """a * b. Each operand is kept only for the other's gradient (as in PyTorch), so x * 0.9
    does not keep x: changing x in place afterwards is no error."""

    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return grad * b if need_a else None, grad * a if need_b else None


class Div(Primitive):
    """a / b; a is kept only for b's gradient (as Mul's operands)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad / b if need_a else None,
                -(grad / b) * (a / b) if need_b else None)  # b * b would underflow or overflow


class Reciprocal(Primitive):
    """1 / a, keeping its output only (as PyTorch's): a number divided by a tensor, c / t, is
    Reciprocal(t) * c, so that neither t nor the quotient is kept."""

    @staticmethod
    def forward(ctx, a):
        out = np.asanyarray(1 / a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return -(grad * out) * out  # out * out first would overflow sooner


class Pow(Primitive):
    """a ** b. At a = 0 the rules take PyTorch's limits where the formulas give 0 * inf:
    d/da is 0 where b = 0 (a ** 0 is flat), d/db is 0 where b >= 0 (0 ** b is flat in b)."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.asanyarray(a ** b)
        ctx.save_for_backward(a, b, out if ctx.needs_input_grad[1] else None)  # b's gradient
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_b = None
        if need_a:  # b a^(b-1)
            if type(b) is int and b == 2:  # a ** 1 is a, exactly: no power, no 0 * inf
                grad_a = grad * b * a
            else:
                grad_a = _zero_where(_unwrap(b) == 0, lambda: grad * b * a ** (b - 1))
        if need_b:  # a^b log a
            flat = (_unwrap(a) == 0) & (_unwrap(b) >= 0)
            grad_b = _zero_where(flat, lambda: grad * out * _log_of(a))
        return grad_a, grad_b


def _zero_where(condition: Any, value: Callable[[], Any]) -> Any:
    """value(), with 0 where condition holds. Where it does, the formula meets 0 * inf; NumPy's
    warnings about those elements are silenced, as they are replaced by the limit."""
    # False: the exponent is a Python number, no array to test; asany: ag.compile guards it
    if condition is False or not np.asanyarray(condition).any():
        return value()
    with np.errstate(divide="ignore", invalid="ignore"):
        return Where.apply(condition, 0, value())


class Neg(Primitive):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Exp(Primitive):
    @staticmethod
    def forward(ctx, a):
        out = np.asanyarray(np.exp(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / a


class Sqrt(Primitive):  # a rule of its own: (x ** 0.5)'s rule would recompute the root
    @staticmethod
    def forward(ctx, a):
        out = np.asanyarray(np.sqrt(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (2 * out)


class Sin(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * Cos.apply(a)


class Cos(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return -grad * Sin.apply(a)


class Log1p(Primitive):  # a rule of its own: log(1 + x) loses the digits of a small x
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log1p(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (1 + a)


class Erf(Primitive):  # no NumPy ufunc: the forward is a kernel (libm's erf), for GELU
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return kernels.erf(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * (2 / math.sqrt(math.pi)) * Exp.apply(-(a * a))


class Clone(Primitive):
    """A copy in new memory: changing either side in place leaves the other alone."""

    @staticmethod
    def forward(ctx, a):
        return np.copy(a)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Std(Sqrt):
    """The square root that turns a variance into a standard deviation. Its derivative at 0
    is taken as 0 (as PyTorch's std): the variance is at its minimum there, where sqrt's
    inf times the variance's zero gradient would be NaN."""

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (2 * Where.apply(_unwrap(out) == 0, np.inf, out))


class Abs(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * np.sign(_unwrap(a)).astype(grad.dtype)


class Clip(Primitive):
    """min(max(a, lo), hi), as np.clip (hi wherever lo > hi). The gradient goes to a inside
    [lo, hi] (the bounds included, as PyTorch's), else to the bound the value was set to."""

    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.save_for_backward(a, lo, hi)
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        a, lo, hi = (_unwrap(t) for t in ctx.saved_tensors)  # the masks: piecewise constant
        need_a, need_lo, need_hi = ctx.needs_input_grad
        above = False if hi is None else (a > hi) | (False if lo is None else lo > hi)
        below = False if lo is None else (a < lo) & ~above
        return (Where.apply(below | above, 0, grad) if need_a else None,
                Where.apply(below, grad, 0) if need_lo else None,
                Where.apply(above, grad, 0) if need_hi else None)


class _Pick(Primitive):
    """Elementwise maximum or minimum: the gradient goes to the input picked, half to each on
    ties."""

    pick: Any  # np.maximum or np.minimum

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return cls.pick(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a, b = _unwrap(a), _unwrap(b)  # the share is piecewise constant
        share = np.where(a == b, 0.5, ctx.fn.pick(a, b) == a).astype(grad.dtype)
        return grad * share, grad * (1 - share)


class Maximum(_Pick):
    pick = staticmethod(np.maximum)


class Minimum(_Pick):
    pick = staticmethod(np.minimum)


class Where(Primitive):
    @staticmethod
    def forward(ctx, condition, a, b):
        condition = np.asanyarray(condition, dtype=bool)
        ctx.save_for_backward(condition)
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad[1:]
        return (None,
                Where.apply(condition, grad, 0) if need_a else None,
                Where.apply(condition, 0, grad) if need_b else None)


class AsType(Primitive):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.input_dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.input_dtype), None

def where(condition: Any, a: Any, b: Any) -> Tensor:
    """`a` where `condition` holds, else `b` (broadcast together)."""
    return Where.apply(condition, a, b)


def maximum(a: Any, b: Any) -> Tensor:
    return Maximum.apply(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    return Minimum.apply(a, b)
