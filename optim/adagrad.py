"""Adagrad: steps scaled by the root of each parameter's sum of squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _check, _weight_decay


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011), with PyTorch's update rule. For each parameter theta with
    gradient g at step t = 1, 2, ... (elementwise):

        g <- g + weight_decay * theta                   (if weight_decay)
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s <- s + g^2                                    (s starts at initial_accumulator_value)
        theta <- theta - lr_t * g / (sqrt(s) + eps)

    Rarely-updated parameters keep large steps, frequent ones get small steps; since s only
    grows, the steps shrink for good (what RMSprop's running average fixes).

    The arguments after `lr` are keyword-only: their order differs from PyTorch's.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, *, eps: float = 1e-10,
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

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = np.full(theta.shape, group["initial_accumulator_value"], theta.dtype)
        state["step"] += 1
        grad = _weight_decay(theta, grad, group)
        lr_t = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        denom = np.sqrt(state["sum"])
        denom += group["eps"]
        theta -= lr_t * (grad / denom)
