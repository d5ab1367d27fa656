"""Gradient clipping and flat parameter vectors (PyTorch's `torch.nn.utils`)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

import autograd as ag
from autograd import Tensor


def _tensors(parameters: Tensor | Iterable[Tensor], where: str) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{where}: expected tensors (e.g. model.parameters()), got "
                            f"{type(p).__name__}")
    return params


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float | str = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale the gradients in place so that their joint norm (the norm of all of them as one
    vector; norm_type inf: the largest |g|) is at most `max_norm`: each is multiplied by
    max_norm / (total + 1e-6) when that is below 1. Returns the total norm before clipping."""
    grads = [p.grad for p in _tensors(parameters, "clip_grad_norm_") if p.grad is not None]
    try:
        norm_type = float(norm_type)
    except (TypeError, ValueError):
        raise ValueError(f"clip_grad_norm_: norm_type must be a positive number or 'inf', got "
                         f"{norm_type!r}") from None
    if not grads:
        return ag.tensor(0.0)
    norms = [np.linalg.norm(g.data.ravel(), norm_type) for g in grads]
    total = np.linalg.norm(np.stack(norms), norm_type).astype(grads[0].dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {total}; pass error_if_nonfinite=False to clip anyway")
    # at most 1, NaN when the total is (as PyTorch's clamp); no branch on the value, so that
    # ag.compile records it
    scale = np.minimum(max_norm / (total + 1e-6), 1)
    with ag.no_grad():
        for g in grads:
            g *= scale.astype(g.dtype)  # times 1 when not clipping: the same numbers
    return ag.tensor(total)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value], in place."""
    with ag.no_grad():
        for p in _tensors(parameters, "clip_grad_value_"):
            if p.grad is not None:
                p.grad[...] = np.clip(p.grad.data, -clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated in order into one 1-D tensor (recorded, so
    a gradient through it reaches the parameters)."""
    params = _tensors(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: no parameters to flatten")
    return ag.concatenate([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D `vec` into the parameters, in place (the inverse of
    `parameters_to_vector`)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got "
                        f"{type(vec).__name__}")
    params = _tensors(parameters, "vector_to_parameters")
    sizes = [p.numel() for p in params]
    if vec.ndim != 1 or vec.shape[0] != sum(sizes):
        raise ValueError(f"vector_to_parameters: vec of shape {vec.shape} does not hold the "
                         f"{sum(sizes)} values of the parameters")
    start = 0
    with ag.no_grad():
        for p, size in zip(params, sizes):
            p[...] = vec.data[start:start + size].reshape(p.shape)
            start += size
