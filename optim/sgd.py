"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _check, _weight_decay


class SGD(Optimizer):
    """SGD, with PyTorch's update rule. For each parameter theta with gradient g:

        g <- g + weight_decay * theta                      (L2 penalty, if weight_decay)
        if momentum:
            b <- g                          on the first step,
            b <- momentum * b + (1 - dampening) * g        afterwards
            g <- g + momentum * b   if nesterov   else   b
        theta <- theta - lr * g

    Momentum averages successive gradients, so steps along a consistent direction grow (up to
    1 / (1 - momentum) times) while oscillations across a narrow valley cancel (Goh, "Why
    Momentum Really Works"). Nesterov evaluates the momentum step one step ahead.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False):
        _check("learning rate", lr)
        _check("momentum value", momentum)
        _check("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        momentum = group["momentum"]
        grad = _weight_decay(theta, grad, group)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(grad)  # an array even when 0-d
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        theta -= group["lr"] * grad
