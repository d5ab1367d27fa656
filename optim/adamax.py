"""Adamax: Adam with the infinity norm of past gradients in place of their root mean square."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .adam import _check_adam_hyperparameters
from .optimizer import Optimizer, _weight_decay


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, 2015, section 7), with PyTorch's update rule. For each parameter
    theta with gradient g at step t = 1, 2, ... (elementwise):

        g <- g + weight_decay * theta                   (L2 penalty, if weight_decay)
        m <- beta1 * m + (1 - beta1) * g               (m starts at 0)
        u <- max(beta2 * u, |g| + eps)                 (u starts at 0)
        theta <- theta - lr / (1 - beta1^t) * m / u

    u, a decaying maximum of |g|, needs no bias correction and never shrinks faster than
    beta2 per step, so one tiny gradient cannot blow the step up.
    """

    def __init__(self, params: Iterable[Any], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0):
        _check_adam_hyperparameters(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay))

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros(theta.shape, dtype=theta.dtype)
            state["exp_inf"] = np.zeros(theta.shape, dtype=theta.dtype)
        state["step"] += 1
        grad = _weight_decay(theta, grad, group)
        m, u = state["exp_avg"], state["exp_inf"]
        m *= beta1
        m += (1 - beta1) * grad
        u *= beta2
        np.maximum(u, np.abs(grad) + group["eps"], out=u)
        theta -= (group["lr"] / (1 - beta1 ** state["step"])) * (m / u)
