"""Matrix products through BLAS (`autograd.blas` sizes its threads to each product)."""

from __future__ import annotations

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

    For C = A @ B: dA = dC @ B^T and dB = A^T @ dC; a 1-D operand is treated as a row
    (left) or column (right) vector and the extra axis removed again.
    """

    @staticmethod
    def forward(ctx, a, b):
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise ValueError(f"MatMul: operands must have at least one dimension; got "
                             f"shapes {np.shape(a)} and {np.shape(b)}")
        ctx.save_for_backward(a, b)
        return matmul(a, b)

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
            grad_a = matmul(grad, _matrix_transpose(b2))
            grad_a = grad_a.squeeze(-2) if a_vector else grad_a
        if need_b:
            grad_b = matmul(_matrix_transpose(a2), grad)
            grad_b = grad_b.squeeze(-1) if b_vector else grad_b
        return grad_a, grad_b
