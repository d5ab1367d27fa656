"""Adadelta: steps in the units of the parameter, from running averages of g^2 and step^2."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _check, _weight_decay


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), with PyTorch's update rule. For each parameter theta with
    gradient g (elementwise):

        g <- g + weight_decay * theta                   (L2 penalty, if weight_decay)
        v <- rho * v + (1 - rho) * g^2                  (v starts at 0)
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u <- rho * u + (1 - rho) * delta^2              (u starts at 0)
        theta <- theta - lr * delta

    The ratio of the root mean squares of past steps and of gradients has the units of
    theta / g (like an inverse curvature), so no global learning rate needs tuning (`lr`
    only scales it, 1 by default); eps starts the steps off, when u is still 0.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0):
        _check("learning rate", lr)
        _check("rho value", rho, 0.0, 1.0)
        _check("epsilon value", eps)
        _check("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay))

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros(theta.shape, dtype=theta.dtype)
            state["acc_delta"] = np.zeros(theta.shape, dtype=theta.dtype)
        state["step"] += 1
        grad = _weight_decay(theta, grad, group)
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * grad * grad
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * grad
        u *= rho
        u += (1 - rho) * delta * delta
        theta -= group["lr"] * delta
