"""Fused layers and losses: one op where the composed formula would cost several nodes
(speed) or lose precision (stability). Each says which; the op table checks each against
its composed formula."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..blas import matmul
from ..function import Primitive
from ..tensor import Tensor
from .activations import Sigmoid
from .elementwise import Log, Log1p, Maximum


class Linear(Primitive):
    """x @ W.T + b as one op, for speed: one node instead of three (transpose, matmul, add),
    and the weight's gradient comes out as grad.T @ x, laid out like the weight (C order), which
    the optimizers' in-place NumPy reads several times faster than a transposed array. x is kept
    only for the weight's gradient and the weight only for x's (as in PyTorch)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, weight: np.ndarray,
                bias: np.ndarray | None) -> np.ndarray:
        if x.shape[-1:] != weight.shape[1:]:  # a weight that is not 2-D fails it too
            raise ValueError(f"Linear: input of shape {x.shape} does not match weight of shape "
                             f"{weight.shape} (its last dimension is the weight's second)")
        need_x, need_weight, _ = ctx.needs_input_grad
        ctx.save_for_backward(x if need_weight else None, weight if need_x else None)
        y = matmul(x, weight.T)
        if bias is not None:
            y += bias
        return y

    @staticmethod
    def backward(ctx: Any, grad: Any) -> tuple[Any, Any, Any]:
        x, weight = ctx.saved_tensors  # arrays, or tensors under create_graph
        need_x, need_weight, need_bias = ctx.needs_input_grad
        grad_rows = grad.reshape(-1, grad.shape[-1]) if grad.ndim != 2 else grad  # (N, out)
        grad_x = matmul(grad, weight) if need_x else None
        grad_weight = None
        if need_weight:
            x_rows = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x  # (N, in)
            grad_weight = matmul(grad_rows.T, x_rows)
        grad_bias = grad_rows.sum(axis=0) if need_bias else None
        return grad_x, grad_weight, grad_bias


class CrossEntropy(Primitive):
    """-log softmax(x)[target], reduced: fused for speed (one node instead of the seven of
    log-softmax, indexing, negation and mean). The gradient is (softmax(x) - onehot) * grad,
    from the softmax made in the forward: x is not kept (PyTorch's log_softmax keeps only its
    output), so it may change in place before backward. Under create_graph the softmax is
    linked back to x's place in the graph (`_SoftmaxOf`), so it can be differentiated again.
    """

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, target: np.ndarray, reduction: str) -> np.ndarray:
        # The ufuncs' reduce is what x.max() and x.sum() call, without their Python wrapper.
        shifted = x - np.maximum.reduce(x, axis=1, keepdims=True)  # log-sum-exp: no overflow
        exp = np.exp(shifted)
        total = np.add.reduce(exp, axis=1, keepdims=True)
        losses = np.log(total[:, 0]) - shifted[np.arange(len(target)), target]
        exp /= total
        ctx.save_for_backward(exp, target)
        ctx.reduction = reduction  # a constant
        if reduction == "none":
            return losses
        total = np.add.reduce(losses)
        return np.asanyarray(total / len(target) if reduction == "mean" else total)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> tuple[Any, None, None]:
        probs, target = ctx.saved_tensors
        reduction = ctx.reduction
        rows = np.arange(len(target))
        if isinstance(grad, Tensor):  # create_graph: differentiable in x
            onehot = np.zeros(probs.shape, dtype=probs.dtype)
            onehot[rows, target] = 1
            diff = _SoftmaxOf.apply(_input(ctx, 0, probs), probs) - onehot
        else:
            diff = probs.copy()
            diff[rows, target] -= 1
        if reduction == "mean":
            return diff * (grad / len(target)), None, None
        if reduction == "sum":
            return diff * grad, None, None
        return diff * grad.reshape(-1, 1), None, None


class _SoftmaxOf(Primitive):
    """softmax(x) over axis 1, given as `probs` computed when x had the values it has in the
    graph: x's values are not read (they may have changed in place since), only its place,
    which the gradient reaches. It keeps its output, as PyTorch's softmax."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, probs: np.ndarray) -> np.ndarray:
        out = probs.copy()  # a primitive's output is fresh
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Any) -> tuple[Any, None]:
        (out,) = ctx.saved_tensors
        return out * (grad - (grad * out).sum(axis=1, keepdims=True)), None


def _input(ctx: Any, i: int, like: np.ndarray) -> Tensor:
    """Input i of ctx's op at its place in the graph (a leaf, or its producer's output),
    with `like` (of its shape and dtype) standing in for its values, which are not read."""
    producer, output_nr = ctx.edges[i][:2]
    if isinstance(producer, Tensor):
        return producer
    return Tensor._make(like, True, producer, output_nr)


class BCEWithLogits(Primitive):
    """Fused for numerical stability: max(x, 0) - x y + log(1 + exp(-|x|)) is finite for any
    logit, and its derivative sigmoid(x) - y has no kink at 0 (the composed form's abs and
    max would give the wrong subgradient there)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x, y)
        # max(x, 0) - x y split by sign, so that an infinite logit gives inf, not inf - inf
        return np.maximum(x, 0) * (1 - y) - np.minimum(x, 0) * y + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx: Any, grad: Any) -> tuple[Any, Any]:
        x, y = ctx.saved_tensors  # arrays, or tensors under create_graph
        grad_x = grad * (Sigmoid.apply(x) - y) if ctx.needs_input_grad[0] else None
        grad_y = -grad * x if ctx.needs_input_grad[1] else None
        return grad_x, grad_y


class BCE(Primitive):
    """-(y log x + (1 - y) log(1 - x)) with each log clamped at -100, as PyTorch's: one op so
    that a probability of exactly 0 or 1 (a saturated float32 sigmoid) gives a finite loss and
    the finite gradient (x - y) / max(x (1 - x), 1e-12), where the composed, clamped logs
    would give 0 * inf = NaN."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x, y)
        log_x, log_1mx = _clamped_logs(x)
        return -(y * log_x + (1 - y) * log_1mx)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> tuple[Any, Any]:
        x, y = ctx.saved_tensors  # arrays, or tensors under create_graph
        need_x, need_y = ctx.needs_input_grad
        grad_x = grad * (x - y) / Maximum.apply(x * (1 - x), 1e-12) if need_x else None
        if not need_y:
            return grad_x, None
        log_x, log_1mx = _clamped_logs(x)
        return grad_x, grad * (log_1mx - log_x)


def _clamped_logs(x: Any) -> tuple[Any, Any]:
    """max(log x, -100) and max(log(1 - x), -100), for arrays or tensors."""
    with np.errstate(divide="ignore"):
        return (Maximum.apply(Log.apply(x), -100.0), Maximum.apply(Log1p.apply(-x), -100.0))
