"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from autograd import Tensor

from ._jit import elementwise, flat, zeros
from .optimizer import Optimizer, _check


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

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        momentum = group["momentum"]
        first = momentum != 0 and "momentum_buffer" not in state
        if first:
            state["momentum_buffer"] = zeros(p)
        update = np.empty(p.shape, dtype=p.dtype)
        _sgd(flat(grad), flat(p.data), flat(state.get("momentum_buffer", update)), flat(update),
             group["lr"], momentum, group["dampening"], group["weight_decay"],
             group["nesterov"], first)
        p -= update


@elementwise
def _sgd(grad, param, buf, update, lr, momentum, dampening, weight_decay, nesterov, first):
    """SGD's rule for one element at a time; `update` receives what to subtract."""
    for i in range(grad.size):
        g = grad[i] + weight_decay * param[i]
        if momentum != 0:
            buf[i] = g if first else momentum * buf[i] + (1 - dampening) * g
            g = g + momentum * buf[i] if nesterov else buf[i]
        update[i] = lr * g
