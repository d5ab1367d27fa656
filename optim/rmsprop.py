"""RMSprop: divide each parameter's step by a running root-mean-square of its gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _check, _weight_decay


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012), with PyTorch's update rule. For each parameter theta with
    gradient g (all operations elementwise):

        g <- g + weight_decay * theta                                (if weight_decay)
        v <- alpha * v + (1 - alpha) * g^2                           (v starts at 0)
        if centered:
            a <- alpha * a + (1 - alpha) * g                         (a starts at 0)
            d = sqrt(v - a^2) + eps       (the gradient's running standard deviation)
        else:
            d = sqrt(v) + eps             (its running root mean square)
        if momentum:
            b <- momentum * b + g / d;   theta <- theta - lr * b     (b starts at 0)
        else:
            theta <- theta - lr * g / d

    Dividing by the gradient's own scale gives every parameter a step of about `lr`, so
    parameters whose gradients differ by orders of magnitude move at similar speeds.
    Note eps is added outside the square root.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False):
        _check("learning rate", lr)
        _check("alpha value", alpha)
        _check("epsilon value", eps)
        _check("weight_decay value", weight_decay)
        _check("momentum value", momentum)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros(theta.shape, dtype=theta.dtype)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros(theta.shape, dtype=theta.dtype)
            if group["centered"]:
                state["grad_avg"] = np.zeros(theta.shape, dtype=theta.dtype)
        state["step"] += 1
        grad = _weight_decay(theta, grad, group)
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            grad_avg += (1 - alpha) * grad
            denom = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            denom = np.sqrt(square_avg)
        denom += group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += grad / denom
            theta -= group["lr"] * buf
        else:
            theta -= group["lr"] * (grad / denom)
