"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from autograd import Tensor
from autograd.compile import replayed

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

    @replayed  # ag.compile replays the call: plain NumPy on persistent state
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; without momentum and weight decay as
        the plain `theta -= lr * g` on the arrays (the per-parameter Python of the general
        rule would cost a tiny model's step several times its arithmetic)."""
        if closure is not None or any(g["momentum"] or g["weight_decay"]
                                      for g in self.param_groups):
            return super().step(closure)
        for group in self.param_groups:
            lr = group["lr"]
            for p in group["params"]:
                grad = p.grad
                if grad is not None:  # as p -= lr * grad under no_grad: update, version bump
                    np.subtract(p.data, lr * grad.data, out=p.data)
                    p._version[0] += 1
        return None

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        momentum, dampening = group["momentum"], group["dampening"]
        grad = _weight_decay(p, grad, group)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= momentum
                buf += (1 - dampening) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        p -= group["lr"] * grad
