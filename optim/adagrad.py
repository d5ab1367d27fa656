"""Adagrad: steps scaled by the root of each parameter's sum of squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from autograd import Tensor

from ._jit import elementwise, flat
from .optimizer import Optimizer, _check


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011), with PyTorch's update rule. For each parameter theta with
    gradient g at step t = 1, 2, ... (elementwise):

        g <- g + weight_decay * theta                   (if weight_decay)
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s <- s + g^2                                    (s starts at initial_accumulator_value)
        theta <- theta - lr_t * g / (sqrt(s) + eps)

    Rarely-updated parameters keep large steps, frequent ones get small steps; since s only
    grows, the steps shrink for good (what RMSprop's running average fixes).
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, eps: float = 1e-10,
                 weight_decay: float = 0, lr_decay: float = 0,
                 initial_accumulator_value: float = 0):
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check("weight_decay value", weight_decay)
        _check("lr_decay value", lr_decay)
        _check("initial_accumulator_value", initial_accumulator_value)
        super().__init__(params, dict(lr=lr, eps=eps, weight_decay=weight_decay,
                                      lr_decay=lr_decay,
                                      initial_accumulator_value=initial_accumulator_value))

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = np.full(p.shape, group["initial_accumulator_value"], dtype=p.dtype)
        state["step"] += 1
        lr_t = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        update = np.empty(p.shape, dtype=p.dtype)
        _adagrad(flat(grad), flat(p.data), flat(state["sum"]), flat(update), lr_t, group["eps"],
                 group["weight_decay"])
        p -= update


@elementwise
def _adagrad(grad, param, sum_sq, update, lr_t, eps, weight_decay):
    """Adagrad's rule for one element at a time; `update` receives what to subtract."""
    for i in range(grad.size):
        g = grad[i] + weight_decay * param[i]
        sum_sq[i] += g * g
        update[i] = lr_t * g / (np.sqrt(sum_sq[i]) + eps)
