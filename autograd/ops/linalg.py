"""Matrix products through BLAS (`autograd.blas` sizes its threads to each product)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..blas import matmul
from ..function import Primitive
from ..tensor import Tensor


def _matrix_transpose(t: Tensor) -> Tensor:
    axes = list(range(t.ndim))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return t.transpose(axes)


class MatMul(Primitive):
    """NumPy's matmul (1-D, 2-D and batched) through BLAS.

    For C = A @ B: dA = dC @ B^T and dB = A^T @ dC, so each operand is kept only for the
    other's gradient (as in PyTorch). A 1-D operand is treated as a row (left) or column
    (right) vector and the extra axis removed again; C has fewer axes than the other operand
    exactly when this one is 1-D.
    """

    @staticmethod
    def forward(ctx, a, b):
        if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):  # a list
            a, b = np.asarray(a), np.asarray(b)
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"MatMul: operands must have at least one dimension; got "
                             f"shapes {np.shape(a)} and {np.shape(b)}")
        need_a, need_b = ctx.needs_input_grad
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            a_vector, b_vector = grad.ndim < b.ndim, b.ndim == 1
            b2 = b.reshape(-1, 1) if b_vector else b
            grad_a = matmul(_matrix_axes(grad, a_vector, b_vector), _matrix_transpose(b2))
            grad_a = grad_a.squeeze(-2) if a_vector else grad_a
        if need_b:
            a_vector, b_vector = a.ndim == 1, grad.ndim < a.ndim
            a2 = a.reshape(1, -1) if a_vector else a
            grad_b = matmul(_matrix_transpose(a2), _matrix_axes(grad, a_vector, b_vector))
            grad_b = grad_b.squeeze(-1) if b_vector else grad_b
        return grad_a, grad_b


def _matrix_axes(grad: Any, a_vector: bool, b_vector: bool) -> Any:
    """grad with the axes that 1-D operands lost put back: b's column, then a's row."""
    grad = grad[..., None] if b_vector else grad
    return grad[..., None, :] if a_vector else grad
