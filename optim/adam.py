"""Adam (adaptive moment estimation) and AdamW (Adam with decoupled weight decay)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from autograd import kernels

from .optimizer import Optimizer, _check, _weight_decay


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with PyTorch's update rule. For each parameter theta with
    gradient g at step t = 1, 2, ... (elementwise):

        g <- g + weight_decay * theta                   (L2 penalty, if weight_decay)
        m <- beta1 * m + (1 - beta1) * g               (momentum: mean of gradients)
        v <- beta2 * v + (1 - beta2) * g^2             (mean of squared gradients)
        v_max <- max(v_max, v);  v_used = v_max   if amsgrad   else   v_used = v
        theta <- theta - lr / (1 - beta1^t) * m / (sqrt(v_used) / sqrt(1 - beta2^t) + eps)

    m and v start at 0, so early on they are biased towards 0; dividing by 1 - beta^t removes
    the bias. The step is about `lr` in every coordinate whatever the gradient's scale
    (RMSprop's adaptive step), in the direction of the averaged gradient (momentum).
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False):
        _check_adam_hyperparameters(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))

    _decay = staticmethod(_weight_decay)  # with weight_decay: the L2 penalty (AdamW's decouples)

    def _step_group(self, group: dict[str, Any], states: dict[Any, dict[str, Any]]) -> None:
        """The base class's loop with the rule inline and what the group's parameters share
        (flags, the step's coefficients) worked out once: each parameter then costs about
        half the bytecodes (the digits MLP's step is dominated by such per-call costs)."""
        amsgrad, decay = group["amsgrad"], group["weight_decay"] != 0
        coefs_by_step: dict[tuple[int, np.dtype], np.ndarray] = {}
        for p in group["params"]:
            grad = p._grad
            if grad is None:
                continue
            theta, grad, state = p.data, grad.data, states[p]
            if decay:
                grad = self._decay(theta, grad, group)
            if not state:
                state["step"] = 0
                state["exp_avg"] = np.zeros(theta.shape, dtype=theta.dtype)
                state["exp_avg_sq"] = np.zeros(theta.shape, dtype=theta.dtype)
                if amsgrad:
                    state["max_exp_avg_sq"] = np.zeros(theta.shape, dtype=theta.dtype)
            t = state["step"] = state["step"] + 1
            coefs = coefs_by_step.get((t, theta.dtype))
            if coefs is None:
                coefs = coefs_by_step[t, theta.dtype] = _coefficients(group, t, theta.dtype)
            m, v = state["exp_avg"], state["exp_avg_sq"]
            v_max = state["max_exp_avg_sq"] if amsgrad else v
            grad = np.asarray(grad, order="C")
            if theta.dtype in _FUSED_DTYPES and theta.flags.c_contiguous:  # as grad and state
                _fused()(theta, grad, m, v, v_max, coefs, amsgrad)
            else:  # another dtype (float16) or layout: the same rule on whole arrays
                theta[...], m[...], v[...], used = _adam_rule(theta, grad, m, v, v_max, coefs,
                                                              amsgrad)
                if amsgrad:
                    v_max[...] = used
            p._version[0] += 1  # changed in place: a graph that saved p must not run


def _coefficients(group: dict[str, Any], t: int, dtype: np.dtype) -> np.ndarray:
    """The scalars of Adam's step t, computed in Python floats, then rounded to the parameter's
    dtype once."""
    beta1, beta2 = group["betas"]
    return np.array([beta1, beta2, 1 - beta1, 1 - beta2, math.sqrt(1 - beta2 ** t), group["eps"],
                     group["lr"] / (1 - beta1 ** t)], dtype)


def _adam_rule(theta: Any, g: Any, m: Any, v: Any, v_max: Any, coefs: tuple,
               amsgrad: bool) -> tuple[Any, Any, Any, Any]:
    """Adam's update (the class docstring) of numbers or of whole arrays: new theta, m, v and
    v_max. The operations and their order are those of PyTorch's step."""
    beta1, beta2, one_minus_beta1, one_minus_beta2, bias2_sqrt, eps, step_size = coefs
    m = beta1 * m + one_minus_beta1 * g
    v = beta2 * v + one_minus_beta2 * (g * g)
    v_max = np.maximum(v_max, v) if amsgrad else v
    theta = theta - step_size * (m / (np.sqrt(v_max) / bias2_sqrt + eps))
    return theta, m, v, v_max


_FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _adam_loop(theta, g, m, v, v_max, coefs, amsgrad):
    """`_adam_rule` over every element of C-contiguous arrays, in place (compiled by `_fused`)."""
    theta, g, m = theta.reshape(theta.size), g.reshape(g.size), m.reshape(m.size)
    v, v_max = v.reshape(v.size), v_max.reshape(v_max.size)
    for i in range(theta.size):
        theta[i], m[i], v[i], used = _adam_rule(theta[i], g[i], m[i], v[i], v_max[i], coefs,
                                                amsgrad)
        if amsgrad:
            v_max[i] = used


@functools.cache
def _fused() -> Callable:
    """`_adam_loop` compiled: one pass, bit for bit the NumPy result (the 12 NumPy passes
    with their temporaries took about twice as long on the digits MLP's layers)."""
    return kernels.jit(_adam_loop, _adam_rule)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019): Adam with the weight decay decoupled from the
    gradient. For each parameter theta with gradient g:

        theta <- theta * (1 - lr * weight_decay)        (decay first, outside the moments)
        then Adam's step on g (without L2 term): m, v, bias corrections, as in `Adam`.

    With Adam's L2 penalty the decay term is divided by sqrt(v) like the gradient, so weights
    with large gradients are barely regularised; decoupling shrinks every weight at the same
    relative rate.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)

    @staticmethod
    def _decay(theta: np.ndarray, grad: np.ndarray, group: dict[str, Any]) -> np.ndarray:
        """theta shrinks in place; the gradient, returned, is left as it is."""
        theta *= 1 - group["lr"] * group["weight_decay"]
        return grad


def _check_adam_hyperparameters(lr: float, betas: tuple[float, float], eps: float,
                                weight_decay: float) -> None:
    _check("learning rate", lr)
    _check("epsilon value", eps)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair of numbers (beta1, beta2), got {betas!r}")
    _check("beta parameter at index 0", betas[0], 0.0, 1.0, high_open=True)
    _check("beta parameter at index 1", betas[1], 0.0, 1.0, high_open=True)
    _check("weight_decay value", weight_decay)


def _moments(theta: np.ndarray, grad: np.ndarray, state: dict[str, Any],
             group: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, int]:
    """Count the step and update Adam's moment estimates in place (both start at 0):
    m <- beta1 m + (1 - beta1) g,  v <- beta2 v + (1 - beta2) g^2.  Returns m, v, t."""
    beta1, beta2 = group["betas"]
    if "step" not in state:
        state["step"] = 0
        state["exp_avg"] = np.zeros(theta.shape, dtype=theta.dtype)
        state["exp_avg_sq"] = np.zeros(theta.shape, dtype=theta.dtype)
    state["step"] += 1
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    squared = grad * grad
    squared *= 1 - beta2
    v += squared
    return m, v, state["step"]
