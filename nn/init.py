"""Weight initialisation, in place, with PyTorch's formulas and fan computation.

Why it matters. If every weight starts equal (all zeros, say), every unit of a layer computes
the same output and receives the same gradient, so the units stay identical forever: the
symmetry is never broken and the layer is as weak as one unit. Random weights break it, and
their scale decides how signals grow. For `y = sum_i w_i x_i` over `fan_in` independent inputs
with zero mean, `Var(y) = fan_in * Var(w) * Var(x)`: unless `Var(w) = 1 / fan_in` the variance
is multiplied at every layer, exploding or vanishing with depth, and so are the gradients
on the way back (there the sum runs over `fan_out`). Glorot/Xavier keep both directions in
balance with `Var(w) = 2 / (fan_in + fan_out)` for units that are linear near zero (tanh);
He/Kaiming double it, `Var(w) = 2 / fan_in`, because ReLU zeroes half of its inputs and so
halves the variance.

Fans: for a weight of shape `(out, in, *k)`, `fan_in = in * prod(k)` and
`fan_out = out * prod(k)` (a Linear weight is `(out_features, in_features)`).
Every function draws from `autograd.random.get_generator()` (seeded by `ag.manual_seed`),
writes the tensor in place and returns it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograd import Tensor
from autograd.random import get_generator

from .module import _assign

_LINEAR_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which `nonlinearity` shrinks the standard deviation of a zero-mean input,
    inverted: 1 for linear and sigmoid, 5/3 for tanh, sqrt(2) for ReLU,
    sqrt(2 / (1 + a^2)) for leaky ReLU with slope `a` (default 0.01), 3/4 for SELU."""
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _check_tensor(tensor: Any, where: str) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init.{where} expects a Tensor (e.g. a Parameter) to fill in place, "
                        f"got {type(tensor).__name__}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError("fan in and fan out can not be computed for a tensor with fewer than "
                         f"2 dimensions (shape {tensor.shape})")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fans(tensor: Tensor, where: str) -> tuple[int, int]:
    """(fan_in, fan_out), both positive: the scaled initialisers divide by them."""
    _check_tensor(tensor, where)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if fan_in == 0 or fan_out == 0:
        raise ValueError(f"nn.init.{where}: a tensor of shape {tensor.shape} has fan_in={fan_in} "
                         f"and fan_out={fan_out}; the scale is undefined for a zero fan")
    return fan_in, fan_out


def _fan(tensor: Tensor, mode: str, where: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} not supported, please use one of 'fan_in', 'fan_out'")
    fan_in, fan_out = _fans(tensor, where)
    return fan_in if mode == "fan_in" else fan_out


def _float_dtype(tensor: Tensor, where: str) -> np.dtype:
    _check_tensor(tensor, where)
    if tensor.dtype.kind != "f":
        raise TypeError(f"nn.init.{where}: cannot fill a tensor of dtype {tensor.dtype} with "
                        "random floats")
    return tensor.dtype


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with U(a, b): mean (a + b) / 2, variance (b - a)^2 / 12."""
    dtype = _float_dtype(tensor, "uniform_")
    if a > b:
        raise ValueError(f"nn.init.uniform_: the range [a, b) needs a <= b, got a={a} > b={b}")
    draw = get_generator().random(tensor.shape, dtype=dtype)
    _assign(tensor, a + (b - a) * draw)
    return tensor


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with N(mean, std^2)."""
    dtype = _float_dtype(tensor, "normal_")
    if std < 0:
        raise ValueError(f"nn.init.normal_: std must be >= 0, got {std}")
    draw = get_generator().standard_normal(tensor.shape, dtype=dtype)
    _assign(tensor, mean + std * draw)
    return tensor


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with `val`. As a weight init it leaves every unit identical (see the module doc)."""
    _check_tensor(tensor, "constant_")
    _assign(tensor, val)
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0 (right for biases; for weights it keeps the units symmetric)."""
    _check_tensor(tensor, "zeros_")
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1 (BatchNorm's initial scale)."""
    _check_tensor(tensor, "ones_")
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot & Bengio (2010): U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)), so that
    Var(w) = gain^2 * 2 / (fan_in + fan_out), the compromise that keeps the variance of the
    activations (forward, over fan_in) and of the gradients (backward, over fan_out) about
    constant across layers of units that are linear near 0, like tanh (use gain 5/3 there)."""
    fan_in, fan_out = _fans(tensor, "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot & Bengio (2010): N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)),
    the same variance as `xavier_uniform_` (which see for the why)."""
    fan_in, fan_out = _fans(tensor, "xavier_normal_")
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """He et al. (2015): U(-b, b) with b = sqrt(3) * gain / sqrt(fan), so Var(w) = gain^2 / fan.
    With ReLU (gain^2 = 2) this is Var(w) = 2 / fan_in: ReLU zeroes half of its inputs, which
    halves the second moment, and the factor 2 restores it, so the activations' variance stays
    constant through the layers (mode='fan_in'; 'fan_out' keeps the gradients' instead).
    `a` is the negative slope of a leaky ReLU (used when nonlinearity='leaky_relu')."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode, "kaiming_uniform_"))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """He et al. (2015): N(0, std^2) with std = gain / sqrt(fan), the variance of
    `kaiming_uniform_` (which see for the why)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode, "kaiming_normal_"))
    return normal_(tensor, 0.0, std)
