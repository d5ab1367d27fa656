"""Activations on the Numba kernels; each gradient is a fused op of its own, a Function
too, so that its VJP gives second derivatives."""

from __future__ import annotations

from typing import Any

from .. import kernels
from ..function import Primitive
from ..tensor import _unwrap


class _DerivativeFromOutput(Primitive):
    """An activation whose derivative is written in its output y, so y is all it saves:
    the forward is the kernel, the VJP the fused gradient op (grad, y) -> grad * f'(x)."""

    kernel: Any
    gradient: type[Primitive]

    @classmethod
    def forward(cls, ctx, x):
        y = cls.kernel(x)
        ctx.save_for_backward(y)
        return y

    @classmethod
    def backward(cls, ctx, grad):
        (y,) = ctx.saved_tensors
        return cls.gradient.apply(y, grad)


class SigmoidGrad(Primitive):
    """grad * y * (1 - y), in one pass."""

    @staticmethod
    def forward(ctx, y, grad):
        ctx.save_for_backward(y, grad)
        return kernels.sigmoid_backward(y, grad)

    @staticmethod
    def backward(ctx, gg):
        y, grad = ctx.saved_tensors
        return gg * grad * (1 - 2 * y), SigmoidGrad.apply(y, gg)


class TanhGrad(Primitive):
    """grad * (1 - y^2), in one pass."""

    @staticmethod
    def forward(ctx, y, grad):
        ctx.save_for_backward(y, grad)
        return kernels.tanh_backward(y, grad)

    @staticmethod
    def backward(ctx, gg):
        y, grad = ctx.saved_tensors
        return gg * grad * (-2 * y), TanhGrad.apply(y, gg)


class ReLUGrad(Primitive):
    """grad where y > 0, else 0: piecewise constant in y, linear in grad."""

    @staticmethod
    def forward(ctx, y, grad):
        ctx.save_for_backward(y)
        return kernels.relu_backward(y, grad)

    @staticmethod
    def backward(ctx, gg):
        (y,) = ctx.saved_tensors
        return None, ReLUGrad.apply(y, gg)


class Sigmoid(_DerivativeFromOutput):
    kernel = staticmethod(kernels.sigmoid)
    gradient = SigmoidGrad


class Tanh(_DerivativeFromOutput):
    kernel = staticmethod(kernels.tanh)
    gradient = TanhGrad


class ReLU(_DerivativeFromOutput):
    kernel = staticmethod(kernels.relu)
    gradient = ReLUGrad


class LeakyReLU(Primitive):
    @staticmethod
    def forward(ctx, x, negative_slope):
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        return kernels.leaky_relu(x, negative_slope)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return LeakyReLUGrad.apply(x, grad, ctx.negative_slope), None


class LeakyReLUGrad(Primitive):
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


class ELU(Primitive):
    @staticmethod
    def forward(ctx, x, alpha):
        if alpha < 0:
            raise ValueError(f"ELU: alpha must be >= 0, got {alpha}")
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return kernels.elu(x, alpha)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return ELUGrad.apply(x, grad, ctx.alpha), None


class ELUGrad(Primitive):
    """grad where x > 0, else grad * alpha * exp(x): from the input, since from the output
    (grad * (y + alpha)) the slope loses float32 digits where y is close to -alpha."""

    @staticmethod
    def forward(ctx, x, grad, alpha):
        ctx.save_for_backward(x, grad)
        ctx.alpha = alpha
        return kernels.elu_backward(x, grad, alpha)

    @staticmethod
    def backward(ctx, gg):
        x, grad = ctx.saved_tensors
        negative = (_unwrap(x) <= 0).astype(x.dtype)  # where the slope is alpha * exp(x)
        return negative * ELUGrad.apply(x, gg * grad, ctx.alpha), \
            ELUGrad.apply(x, gg, ctx.alpha), None
