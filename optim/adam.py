"""Adam (adaptive moment estimation) and AdamW (Adam with decoupled weight decay)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from autograd import Tensor

from ._jit import elementwise, flat, zeros
from .optimizer import Optimizer, _check


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
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check("beta parameter at index 0", betas[0], 0.0, 1.0, high_open=True)
        _check("beta parameter at index 1", betas[1], 0.0, 1.0, high_open=True)
        _check("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))

    _decoupled = False  # AdamW: decay the weights directly instead of adding an L2 gradient

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = zeros(p)
            state["exp_avg_sq"] = zeros(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros(p)
        state["step"] += 1
        beta1, beta2 = group["betas"]
        t = state["step"]
        update = np.empty(p.shape, dtype=p.dtype)
        _adam(flat(grad), flat(p.data), flat(state["exp_avg"]), flat(state["exp_avg_sq"]),
              flat(state.get("max_exp_avg_sq", update)), flat(update), beta1, beta2,
              group["lr"], 1 - beta1 ** t, math.sqrt(1 - beta2 ** t), group["eps"],
              group["weight_decay"], self._decoupled, group["amsgrad"])
        p -= update


@elementwise
def _adam(grad, param, exp_avg, exp_avg_sq, max_exp_avg_sq, update, beta1, beta2, lr,
          bias_correction1, bias_correction2_sqrt, eps, weight_decay, decoupled, amsgrad):
    """Adam's rule for one element at a time; `update` receives what to subtract."""
    for i in range(grad.size):
        g = grad[i]
        if weight_decay != 0 and not decoupled:
            g += weight_decay * param[i]
        exp_avg[i] = beta1 * exp_avg[i] + (1 - beta1) * g
        exp_avg_sq[i] = beta2 * exp_avg_sq[i] + (1 - beta2) * g * g
        v = exp_avg_sq[i]
        if amsgrad:
            max_exp_avg_sq[i] = max(max_exp_avg_sq[i], v)
            v = max_exp_avg_sq[i]
        denom = np.sqrt(v) / bias_correction2_sqrt + eps
        update[i] = lr / bias_correction1 * exp_avg[i] / denom
        if decoupled:  # theta * (1 - lr * wd) - step  ==  theta - (lr * wd * theta + step)
            update[i] += lr * weight_decay * param[i]


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

    _decoupled = True
