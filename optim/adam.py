"""Adam (adaptive moment estimation) and AdamW (Adam with decoupled weight decay)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from autograd import Tensor

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

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        self._adam_step(p, _weight_decay(p, grad, group), state, group)

    @staticmethod
    def _adam_step(p: Tensor, grad: np.ndarray, state: dict[str, Any],
                   group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        if group["amsgrad"] and not state:
            state["max_exp_avg_sq"] = np.zeros(p.shape, dtype=p.dtype)
        m, v, t = _moments(p, grad, state, group)
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        denom = np.sqrt(v)  # sqrt(v_used) / sqrt(1 - beta2^t) + eps
        denom /= math.sqrt(1 - beta2 ** t)
        denom += group["eps"]
        step = np.divide(m, denom, out=denom)  # lr / (1 - beta1^t) * m / denom
        step *= group["lr"] / (1 - beta1 ** t)
        p -= step


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

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        if group["weight_decay"] != 0:
            p *= 1 - group["lr"] * group["weight_decay"]
        self._adam_step(p, grad, state, group)


def _check_adam_hyperparameters(lr: float, betas: tuple[float, float], eps: float,
                                weight_decay: float) -> None:
    _check("learning rate", lr)
    _check("epsilon value", eps)
    _check("beta parameter at index 0", betas[0], 0.0, 1.0, high_open=True)
    _check("beta parameter at index 1", betas[1], 0.0, 1.0, high_open=True)
    _check("weight_decay value", weight_decay)


def _moments(p: Tensor, grad: np.ndarray, state: dict[str, Any],
             group: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, int]:
    """Count the step and update Adam's moment estimates in place (both start at 0):
    m <- beta1 m + (1 - beta1) g,  v <- beta2 v + (1 - beta2) g^2.  Returns m, v, t."""
    beta1, beta2 = group["betas"]
    if "step" not in state:
        state["step"] = 0
        state["exp_avg"] = np.zeros(p.shape, dtype=p.dtype)
        state["exp_avg_sq"] = np.zeros(p.shape, dtype=p.dtype)
    state["step"] += 1
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    squared = grad * grad
    squared *= 1 - beta2
    v += squared
    return m, v, state["step"]
