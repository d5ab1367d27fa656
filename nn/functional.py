"""Stateless forms of the layers and losses: `F.relu(x)`, `F.cross_entropy(logits, target)`, ...

Everything is built from the engine's tensor operations, so gradients (of any order) come
from the engine; the fused ops (`autograd.ops.fused`) say why they are one op.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor, ops
from autograd.compile import asarray, replayed
from autograd.random import get_generator

_REDUCTIONS = ("mean", "sum", "none")


def _check_tensor(input: Any, where: str) -> None:
    """A list, array, str or None where a Tensor belongs raises a TypeError naming the function
    or layer, as PyTorch's do (an array is not converted: wrap it, ag.tensor(a))."""
    if not isinstance(input, Tensor):
        hint = "; wrap an array with ag.tensor(a)" if isinstance(input, np.ndarray) else ""
        raise TypeError(f"{where}: argument 'input' must be a Tensor, got "
                        f"{type(input).__name__}{hint}")


def _takes_tensor(fn: Callable) -> Callable:
    """`fn`'s first argument is checked by `_check_tensor`."""
    where = f"{fn.__name__}()"

    @functools.wraps(fn)
    def checked(input: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(input, Tensor):
            _check_tensor(input, where)  # raises
        return fn(input, *args, **kwargs)
    return checked


# ---- activations (inplace=True is accepted as in PyTorch; the result is computed out of place)
def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    if not isinstance(x, Tensor):  # checked here, not by @_takes_tensor: a call fewer a layer
        _check_tensor(x, "relu()")
    return ops.ReLU.apply(x)


@_takes_tensor
def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise."""
    return x.leaky_relu(negative_slope)


@_takes_tensor
def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return x.elu(alpha)


@_takes_tensor
def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return x.sigmoid()


@_takes_tensor
def tanh(x: Tensor) -> Tensor:
    return x.tanh()


@_takes_tensor
def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) = x / 2 * (1 + erf(x / sqrt(2))), Phi the standard normal CDF; with
    approximate='tanh', x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))."""
    if approximate == "tanh":
        inner = (x + 0.044715 * x ** 3) * math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + inner.tanh())
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return 0.5 * x * (1.0 + ops.Erf.apply(x * (1.0 / math.sqrt(2.0))))


@_takes_tensor
def silu(x: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return x * x.sigmoid()


@_takes_tensor
def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, a smooth relu; x itself where beta x > threshold (equal
    to float precision there, and exp cannot overflow)."""
    z = x * beta
    smooth = z.clip(None, threshold).exp().log1p()  # clipped: the unused branch stays finite
    return ag.where(z.data > threshold, z, smooth) / beta


@_takes_tensor
@ops.torch_keywords
def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along `axis` (computed stably by the engine)."""
    return x.softmax(axis=axis)


@_takes_tensor
@ops.torch_keywords
def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along `axis`."""
    return x.log_softmax(axis=axis)


@_takes_tensor
def one_hot(labels: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape labels.shape + (num_classes,), 1 at each label's class, else 0;
    num_classes=-1 means labels.max() + 1."""
    values = labels.data
    if values.dtype.kind not in "iu":
        raise TypeError(f"one_hot(): labels must be integers, got dtype {values.dtype}")
    if values.size and values.min() < 0:
        raise ValueError(f"one_hot(): labels must be non-negative, got {values.min()}")
    if num_classes == -1:
        num_classes = int(values.max()) + 1 if values.size else 0
    if values.size and values.max() >= num_classes:
        raise ValueError(f"one_hot(): label {values.max()} is out of range for "
                         f"num_classes={num_classes}")
    return Tensor((values[..., None] == np.arange(num_classes)).astype(np.int64))  # recorded


# ---- layers ---------------------------------------------------------------------------------
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias, with weight of shape (out_features, in_features)."""
    if not isinstance(x, Tensor):  # checked here, not by @_takes_tensor: a call fewer a layer
        _check_tensor(x, "linear()")
    return ops.Linear.apply(x, weight, bias)  # which checks the shapes


@_takes_tensor
def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: zero each element with probability `p` and scale the survivors by
    1 / (1 - p), so the expected output equals the input and evaluation needs no rescaling.
    The identity when not training. Draws from `autograd.random.get_generator()`."""
    _check_dropout_p(p, "dropout")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * np.zeros(x.shape, dtype=x.dtype)
    return x * Tensor(_dropout_mask(x.shape, p, x.dtype))  # a tensor: Mul keeps it by reference


def _check_dropout_p(p: Any, where: str) -> None:
    try:
        within = 0.0 <= p <= 1.0
    except TypeError:
        raise TypeError(f"{where}: p must be a number, got {type(p).__name__}") from None
    if not within:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


@replayed  # a compiled step draws a fresh mask on every replay
def _dropout_mask(shape: tuple, p: float, dtype: np.dtype) -> np.ndarray:
    """1 / (1 - p) where an element is kept (probability 1 - p), else 0."""
    keep = get_generator().random(shape, dtype=np.float32) >= p
    mask = keep.astype(dtype)
    mask *= 1.0 / (1.0 - p)
    return mask


def _channel_axes(x: Tensor, num_features: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Axes to reduce over and the broadcast shape of per-channel statistics, for (N, C) or
    (N, C, L) input."""
    if x.ndim not in (2, 3) or x.shape[1] != num_features:
        raise ValueError(f"batch_norm: expected input of shape (N, {num_features}) or "
                         f"(N, {num_features}, L), got {x.shape}")
    if x.ndim == 2:
        return (0,), (1, num_features)
    return (0, 2), (1, num_features, 1)


@_takes_tensor
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
                running_mean += momentum * mean.reshape(num_features)  # tensor ops: a compiled
                running_var *= 1.0 - momentum  # step replays them
                running_var += (momentum * count / (count - 1)) * var.reshape(num_features)
    else:
        # Evaluation: a fixed per-channel affine map x * scale + shift (tensor ops on the
        # running statistics, so that a compiled step reads their current values).
        inv_std = 1.0 / (running_var + eps).sqrt()
        scale = inv_std.reshape(stat_shape).astype(x.dtype)
        y = x * scale - (running_mean * inv_std).reshape(stat_shape).astype(x.dtype)
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
    return value.data if isinstance(value, Tensor) else asarray(value)


def _constant(weight: Any, where: str, name: str = "weight") -> np.ndarray:
    """A loss's weight as an array: it is a constant, so one that requires grad is refused
    (it would get no gradient, silently), as PyTorch's losses refuse it."""
    if isinstance(weight, Tensor) and weight.requires_grad and ag.is_grad_enabled():
        raise TypeError(f"{where}: {name} of shape {weight.shape} requires grad, but the loss "
                        f"is not differentiable with respect to it; pass {name}.detach()")
    return _as_array(weight)


def _target(target: Any, where: str) -> Any:
    """A target as given if it is a Tensor, else as an array of numbers."""
    if isinstance(target, Tensor):
        return target
    array = asarray(target)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{where}(): argument 'target' must be a Tensor or an array of "
                        f"numbers, got {type(target).__name__}")
    return array


def _same_shape(input: Tensor, target: Any, where: str, reduction: str) -> Any:
    """The target, checked to have the input's shape (and the reduction to be known)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{where}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    target = _target(target, where)
    if target.shape != input.shape:
        raise ValueError(f"{where}: target shape {target.shape} differs from input shape "
                         f"{input.shape}")
    return target


@_takes_tensor
def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """(input - target)^2, averaged (or summed) over all elements."""
    diff = input - _same_shape(input, target, "mse_loss", reduction)
    return _reduce(diff * diff, reduction)


@_takes_tensor
def l1_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """|input - target| (its gradient at 0 is 0, as PyTorch's)."""
    return _reduce((input - _same_shape(input, target, "l1_loss", reduction)).abs(), reduction)


def _quadratic_then_linear(diff: Tensor, width: float) -> Tensor:
    """0.5 d^2 / width for |d| < width, |d| - 0.5 width beyond: smooth at the join."""
    size = diff.abs()
    return ag.where(size.data < width, (0.5 / width) * diff * diff, size - 0.5 * width)


@_takes_tensor
def smooth_l1_loss(input: Tensor, target: Any, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, with d = input - target;
    beta = 0 is the L1 loss."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    diff = input - _same_shape(input, target, "smooth_l1_loss", reduction)
    return _reduce(_quadratic_then_linear(diff, beta) if beta > 0 else diff.abs(), reduction)


@_takes_tensor
def huber_loss(input: Tensor, target: Any, reduction: str = "mean",
               delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): delta * smooth_l1(beta=delta)."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    diff = input - _same_shape(input, target, "huber_loss", reduction)
    return _reduce(delta * _quadratic_then_linear(diff, delta), reduction)


def _picked(weight: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """weight[classes], written as a NumPy function of `classes`, so that ag.compile records
    it when the classes are a step's values (indexing a plain array by them is not seen)."""
    return np.take_along_axis(weight, classes, axis=0)


def _check_class_targets(scores: Tensor, target: np.ndarray, ignore_index: int,
                         op: str) -> bool:
    """Raise unless every target is a class index in [0, C) or ignore_index; return whether
    every one is counted (none is ignore_index). The usual case (every target a class, and
    ignore_index none) takes two reductions, not the elementwise masks (speed)."""
    shape = scores.shape
    if len(shape) != 2 or target.shape != shape[:1]:
        raise ValueError(f"{op}: expected input of shape (N, C) and target of shape (N,), got "
                         f"input {shape} and target {target.shape}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: class targets must be integers, got dtype {target.dtype}")
    classes = shape[1]
    if not target.size:
        return True
    # every target is a class (the ufuncs' reduce: np.min and np.max add a Python call each)
    if 0 <= np.minimum.reduce(target) and np.maximum.reduce(target) < classes:
        return not 0 <= ignore_index < classes or bool((target != ignore_index).all())
    out_of_range = (target < 0) | (target >= classes)  # no mask: ag.compile replays it
    if (out_of_range & (target != ignore_index)).any():
        valid = target[target != ignore_index]
        raise IndexError(f"{op}: target values must lie in [0, {classes}) or equal "
                         f"ignore_index={ignore_index}, got [{valid.min()}, {valid.max()}]")
    return False  # the targets out of range are ignore_index


def _class_weights(weight: Any, input: Tensor, classes: int, where: str) -> np.ndarray | None:
    """The class weights in the input's dtype (a list or float64 array must not promote a
    float32 loss)."""
    if weight is None:
        return None
    if isinstance(weight, str):
        raise TypeError(f"{where}: weight must hold one number per class, got {weight!r}; "
                        f"pass reduction={weight!r} by keyword (PyTorch's order: input, target, "
                        "weight, ...)")
    weight = _constant(weight, where)
    if weight.shape != (classes,):
        raise ValueError(f"{where}: weight must have shape ({classes},), one per class, got "
                         f"{weight.shape}")
    return weight.astype(input.dtype)


def _per_position(loss: Callable, input: Tensor, target: Any, reduction: str,
                  **options: Any) -> Tensor:
    """`loss` on scores (N, C, d1, ...) as PyTorch takes them: each position (n, d1, ...) is a
    sample of C scores, its target of shape (N, d1, ...) (or probabilities like the input);
    'none' gives the losses in that shape."""
    positions = (input.shape[0], *input.shape[2:])
    if target.shape not in (positions, input.shape):
        raise ValueError(f"{loss.__name__}: scores of shape {input.shape} need class targets "
                         f"of shape {positions} (or probabilities like the scores), got "
                         f"{target.shape}")
    axes = (0, *range(2, input.ndim), 1)
    rows = input.transpose(axes).reshape(-1, input.shape[1])
    targets = target.reshape(-1) if target.shape == positions else \
        target.transpose(axes).reshape(-1, input.shape[1])
    losses = loss(rows, targets, reduction=reduction, **options)
    return losses.reshape(positions) if reduction == "none" else losses


def _unbatched(loss: Callable, input: Tensor, target: np.ndarray, reduction: str,
               **options: Any) -> Tensor:
    """`loss` on one sample of C scores (C,), with a class (0-d) or probabilities (C,) as its
    target, as PyTorch takes it: a batch of one ('none' gives a 0-d loss)."""
    shape = (1,) if target.dtype.kind in "iu" else (1, -1)
    losses = loss(input.reshape(1, -1), target.reshape(shape), reduction=reduction, **options)
    return losses.reshape(()) if reduction == "none" else losses


@_takes_tensor
def nll_loss(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """-w[y_i] * input[i, y_i] for log-probabilities (N, C) and integer class targets (N,)
    (or (N, C, d1, ...) and (N, d1, ...): a sample per position; or (C,) and a 0-d target:
    one sample); samples whose target is `ignore_index` count for nothing. 'mean' divides
    by the sum of the weights of the counted samples (their number, without `weight`)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"nll_loss: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    target = _as_array(_target(target, "nll_loss"))
    if input.ndim == 1:
        return _unbatched(nll_loss, input, target, reduction, weight=weight,
                          ignore_index=ignore_index)
    if input.ndim > 2:
        return _per_position(nll_loss, input, target, reduction, weight=weight,
                             ignore_index=ignore_index)
    all_counted = _check_class_targets(input, target, ignore_index, "nll_loss")
    weight = _class_weights(weight, input, input.shape[1], "nll_loss")
    rows = np.arange(target.shape[0])
    if weight is None and all_counted:
        return _reduce(-input[rows, target], reduction)
    counted = target != ignore_index
    safe = np.where(counted, target, 0)
    w = (np.ones(len(target), input.dtype) if weight is None else _picked(weight, safe)) \
        * counted
    losses = -input[rows, safe] * w
    return _weighted_mean(losses, w.sum()) if reduction == "mean" else _reduce(losses, reduction)


def _weighted_mean(losses: Tensor, total: Any) -> Tensor:
    """sum(losses) / total. With nothing counted (total 0: every target ignore_index) the mean
    is NaN, as PyTorch's, and its gradient 0, not the NaN of 0 * (1 / 0) that a step would
    spread into every parameter."""
    if total == 0:
        return losses.sum() * 0.0 + np.nan
    return losses.sum() / total


@_takes_tensor
def cross_entropy(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """-log softmax(input)[target], from logits of shape (N, C) (or (C,), or (N, C, d1, ...):
    a sample per position) and integer class targets of shape (N,) (or a scalar, or
    (N, d1, ...)); class probabilities of the input's shape also work.

    Without options it is one fused op (logsumexp(x) - x[target], the max subtracted first,
    finite for logits of any size). `weight`, `ignore_index` as in `nll_loss`;
    `label_smoothing` e mixes the target with the uniform distribution:
    (1 - e) * nll + e / C * sum_c -w_c log p_c (normalised as the nll part is, for 'mean')."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {_REDUCTIONS}, got "
                         f"{reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    target_array = _as_array(_target(target, "cross_entropy"))
    ndim = input.ndim
    if ndim == 1:
        return _unbatched(cross_entropy, input, target_array, reduction, weight=weight,
                          ignore_index=ignore_index, label_smoothing=label_smoothing)
    if ndim > 2:
        return _per_position(cross_entropy, input, target if isinstance(target, Tensor) else
                             target_array, reduction, weight=weight, ignore_index=ignore_index,
                             label_smoothing=label_smoothing)
    classes = input.shape[1] if ndim == 2 else 0
    weight = _class_weights(weight, input, classes, "cross_entropy")
    if target_array.dtype.kind == "f":
        if target_array.shape != input.shape:
            raise ValueError(f"cross_entropy: probability targets of shape {target_array.shape} "
                             f"must match the input's shape {input.shape}")
        if label_smoothing:
            target = target * (1.0 - label_smoothing) + label_smoothing / classes
        log_probs = input.log_softmax(axis=1)
        if weight is not None:
            log_probs = log_probs * weight
        return _reduce(-(log_probs * target).sum(axis=1), reduction)
    all_counted = _check_class_targets(input, target_array, ignore_index, "cross_entropy")
    if weight is None and not label_smoothing and all_counted:
        return ops.CrossEntropy.apply(input, target_array, reduction)
    counted = target_array != ignore_index
    log_probs = input.log_softmax(axis=1)
    nll = nll_loss(log_probs, target_array, weight, ignore_index, reduction)
    if not label_smoothing:
        return nll
    if weight is not None:
        log_probs = log_probs * weight
    smooth = -log_probs.sum(axis=1) * counted.astype(input.dtype)
    if reduction == "mean":
        total = counted.sum(dtype=input.dtype) if weight is None else \
            _picked(weight, target_array[counted]).sum()
        smooth = _weighted_mean(smooth, total)
    else:
        smooth = _reduce(smooth, reduction)
    return (1.0 - label_smoothing) * nll + (label_smoothing / classes) * smooth


def _elementwise_weight(loss: Tensor, weight: Any, where: str) -> Tensor:
    return loss if weight is None else loss * _constant(weight, where).astype(loss.dtype)


@_takes_tensor
def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None,
                         reduction: str = "mean") -> Tensor:
    """-w [y log x + (1 - y) log(1 - x)] for probabilities x, each log clamped at -100 as in
    PyTorch, so that x = 0 or 1 gives a finite loss and gradient (one op, `ops.BCE`)."""
    target = _same_shape(input, target, "binary_cross_entropy", reduction)
    if input.data.size and not 0 <= input.data.min() <= input.data.max() <= 1:
        raise ValueError(f"binary_cross_entropy: input values must lie in [0, 1] "
                         f"(probabilities), got [{input.data.min()}, {input.data.max()}] in an "
                         f"input of shape {input.shape}; for logits use "
                         f"binary_cross_entropy_with_logits")
    if not isinstance(target, Tensor):
        target = target.astype(input.dtype)
    return _reduce(_elementwise_weight(ops.BCE.apply(input, target), weight,
                                       "binary_cross_entropy"), reduction)


@_takes_tensor
def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None,
                                     reduction: str = "mean", pos_weight: Any = None) -> Tensor:
    """-w [p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] from logits x, computed as
    max(x, 0) - x y + log(1 + exp(-|x|)) so that it stays finite for logits of any size;
    `pos_weight` p (broadcast along the last axis: one per class) weighs the positives, adding
    (p - 1) y log(1 + exp(-x)) to that."""
    target = _same_shape(input, target, "binary_cross_entropy_with_logits", reduction)
    if not isinstance(target, Tensor):
        target = target.astype(input.dtype)
    loss = ops.BCEWithLogits.apply(input, target)
    if pos_weight is not None:
        extra = _constant(pos_weight, "binary_cross_entropy_with_logits", "pos_weight") \
            .astype(input.dtype) - 1
        softplus_of_minus_x = ops.BCEWithLogits.apply(input, np.ones(input.shape, input.dtype))
        loss = loss + extra * target * softplus_of_minus_x
    return _reduce(_elementwise_weight(loss, weight, "binary_cross_entropy_with_logits"),
                   reduction)
