"""RAdam: Adam whose adaptive step is switched on only once its variance is tractable."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .adam import _check_adam_hyperparameters, _moments
from .optimizer import Optimizer, _weight_decay


class RAdam(Optimizer):
    """Rectified Adam (Liu et al., 2020), with PyTorch's update rule. For each parameter theta
    with gradient g at step t = 1, 2, ... (elementwise):

        g <- g + weight_decay * theta              (L2; with decoupled_weight_decay instead
                                                    theta <- theta * (1 - lr * weight_decay))
        m <- beta1 * m + (1 - beta1) * g;   v <- beta2 * v + (1 - beta2) * g^2
        m_hat = m / (1 - beta1^t)
        rho_inf = 2 / (1 - beta2) - 1;   rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        if rho_t > 5:
            l = sqrt(1 - beta2^t) / (sqrt(v) + eps)
            r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            theta <- theta - lr * m_hat * l * r
        else:
            theta <- theta - lr * m_hat

    In the first steps v rests on a handful of gradients, so Adam's 1 / sqrt(v) is erratic
    (what a learning-rate warm-up works around); RAdam takes momentum-SGD steps until rho_t,
    the length of v's effective average, passes 5, then scales the adaptive step by r, the
    factor that makes its variance that of the long-run limit.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False):
        _check_adam_hyperparameters(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        grad = _weight_decay(theta, grad, group)
        m, v, t = _moments(theta, grad, state, group)
        lr_hat = group["lr"] / (1 - beta1 ** t)  # lr * m_hat = lr_hat * m
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t)
        if rho_t > 5:
            r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                          / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            denom = np.sqrt(v)  # l = sqrt(1 - beta2^t) / denom
            denom += group["eps"]
            theta -= (lr_hat * r * math.sqrt(1 - beta2 ** t)) * (m / denom)
        else:
            theta -= lr_hat * m
