"""Stateless forms of the layers and losses: `F.relu(x)`, `F.cross_entropy(logits, target)`, ...

Everything is built from the engine's tensor operations, so gradients (of any order) come
from the engine; the fused ops (`autograd.ops.fused`) say why they are one op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor, ops
from autograd.random import get_generator

_REDUCTIONS = ("mean", "sum", "none")


# ---- activations ----------------------------------------------------------------------------
def relu(x: Tensor) -> Tensor:
    """max(x, 0)."""
    return x.relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, negative_slope * x otherwise."""
    return x.leaky_relu(negative_slope)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return x.elu(alpha)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


@ops.torch_keywords
def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along `axis` (computed stably by the engine)."""
    return x.softmax(axis=axis)


@ops.torch_keywords
def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along `axis`."""
    return x.log_softmax(axis=axis)


# ---- layers ---------------------------------------------------------------------------------
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias, with weight of shape (out_features, in_features)."""
    if x.shape[-1:] != weight.shape[-1:] or weight.ndim != 2:
        raise ValueError(f"linear: input of shape {x.shape} does not match weight of shape "
                         f"{weight.shape} (expected last input dimension {weight.shape[-1]})")
    return ops.Linear.apply(x, weight, bias)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability `p` and scale the survivors by
    1 / (1 - p), so the expected output equals the input and evaluation needs no rescaling.
    The identity when not training. Draws from `autograd.random.get_generator()`."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * np.zeros(x.shape, dtype=x.dtype)
    keep = get_generator().random(x.shape, dtype=np.float32) >= p
    mask = keep.astype(x.dtype)
    mask *= 1.0 / (1.0 - p)
    return x * Tensor(mask)  # a tensor, so Mul keeps it by reference (an array is copied)


def _channel_axes(x: Tensor, num_features: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Axes to reduce over and the broadcast shape of per-channel statistics, for (N, C) or
    (N, C, L) input."""
    if x.ndim not in (2, 3) or x.shape[1] != num_features:
        raise ValueError(f"batch_norm: expected input of shape (N, {num_features}) or "
                         f"(N, {num_features}, L), got {x.shape}")
    if x.ndim == 2:
        return (0,), (1, num_features)
    return (0, 2), (1, num_features, 1)


def batch_norm(x: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel to zero mean and unit variance, then scale by `weight` (gamma)
    and shift by `bias` (beta).

    Training: the batch's mean and biased variance normalise, and the running statistics
    (if given) are smoothed in place: r = (1 - momentum) * r + momentum * batch_statistic,
    with the unbiased variance (times n / (n - 1)) for `running_var`. Otherwise the running
    statistics normalise.
    """
    return _batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps,
                       _batch_statistics)


def _batch_statistics(x: Tensor, axes: tuple[int, ...]) -> tuple[Tensor, Tensor, Tensor, int]:
    """The batch's per-channel mean, x - mean and biased variance (kept dims), and the number
    of values per channel."""
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    return mean, centered, (centered * centered).mean(axis=axes, keepdims=True), \
        x.data.size // x.shape[1]


def _batch_norm(x: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
                weight: Tensor | None, bias: Tensor | None, training: bool, momentum: float,
                eps: float, statistics: Callable) -> Tensor:
    """batch_norm, with the batch statistics from `statistics(x, axes)` (SyncBatchNorm's are
    over every rank's batch)."""
    given = [t for t in (running_mean, running_var, weight, bias) if t is not None]
    num_features = given[0].shape[0] if given else (x.shape[1] if x.ndim > 1 else 0)
    axes, stat_shape = _channel_axes(x, num_features)
    if training or running_mean is None:
        mean, centered, var, count = statistics(x, axes)
        if count <= 1 and training:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {x.shape}")
        y = centered * (var + eps) ** -0.5
        if training and running_mean is not None:
            with ag.no_grad():
                running_mean *= 1.0 - momentum
                running_mean += momentum * mean.data.reshape(num_features)
                running_var *= 1.0 - momentum
                running_var += (momentum * count / (count - 1)) * var.data.reshape(num_features)
    else:
        # Evaluation: a fixed per-channel affine map x * scale + shift.
        inv_std = 1.0 / np.sqrt(running_var.data + eps)
        scale = inv_std.reshape(stat_shape).astype(x.dtype, copy=False)
        y = x * scale - (running_mean.data * inv_std).reshape(stat_shape).astype(x.dtype)
    if weight is not None:
        y = y * weight.reshape(*stat_shape)
    if bias is not None:
        y = y + bias.reshape(*stat_shape)
    return y


# ---- losses ---------------------------------------------------------------------------------
def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _as_array(value: Any) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """(input - target)^2, averaged (or summed) over all elements."""
    if tuple(np.shape(_as_array(target))) != input.shape:
        raise ValueError(f"mse_loss: target shape {np.shape(_as_array(target))} differs from "
                         f"input shape {input.shape}")
    diff = input - target
    return _reduce(diff * diff, reduction)


def _check_class_targets(scores: Tensor, target: np.ndarray) -> None:
    if scores.ndim != 2 or target.shape != (scores.shape[0],):
        raise ValueError(f"expected input of shape (N, C) and target of shape (N,), got input "
                         f"{scores.shape} and target {target.shape}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"class targets must be integers, got dtype {target.dtype}")
    if target.size and (target.min() < 0 or target.max() >= scores.shape[1]):
        raise IndexError(f"target values must lie in [0, {scores.shape[1]}), got "
                         f"[{target.min()}, {target.max()}]")


def nll_loss(log_probs: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """-log_probs[i, target[i]]: the negative log-likelihood of integer class targets."""
    target = _as_array(target)
    _check_class_targets(log_probs, target)
    picked = log_probs[np.arange(target.shape[0]), target]
    return _reduce(-picked, reduction)


def cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """-log softmax(input)[target], from logits of shape (N, C) (or (C,)) and integer class
    targets of shape (N,) (or a scalar); class probabilities of the input's shape also work.
    Computed as logsumexp(x) - x[target] with the max subtracted first, so it stays finite for
    logits of any size."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    target_array = _as_array(target)
    if input.ndim == 1:  # one sample: treat as a batch of one
        shape = (1,) if target_array.dtype.kind in "iu" else (1, -1)
        loss = cross_entropy(input.reshape(1, -1), target_array.reshape(shape), reduction)
        return loss.reshape(()) if reduction == "none" else loss
    if target_array.dtype.kind == "f":
        if target_array.shape != input.shape:
            raise ValueError(f"cross_entropy: probability targets of shape {target_array.shape} "
                             f"must match the input's shape {input.shape}")
        return _reduce(-(input.log_softmax(axis=1) * target).sum(axis=1), reduction)
    _check_class_targets(input, target_array)
    return ops.CrossEntropy.apply(input, target_array, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Any,
                                     reduction: str = "mean") -> Tensor:
    """-[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] from logits x, computed as
    max(x, 0) - x y + log(1 + exp(-|x|)) so that it stays finite for logits of any size."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if tuple(np.shape(_as_array(target))) != input.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: target shape "
                         f"{np.shape(_as_array(target))} differs from input shape {input.shape}")
    if not isinstance(target, Tensor):
        target = np.asarray(target, dtype=input.dtype)
    return _reduce(ops.BCEWithLogits.apply(input, target), reduction)
