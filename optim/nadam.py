"""NAdam: Adam with Nesterov momentum (the gradient's own share is applied one step ahead)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .adam import _check_adam_hyperparameters, _moments
from .optimizer import Optimizer, _check, _weight_decay


class NAdam(Optimizer):
    """NAdam (Dozat, 2016), with PyTorch's update rule. For each parameter theta with gradient
    g at step t = 1, 2, ... (elementwise), with psi = momentum_decay:

        g <- g + weight_decay * theta              (L2; with decoupled_weight_decay instead
                                                    theta <- theta * (1 - lr * weight_decay))
        mu_t = beta1 * (1 - 0.5 * 0.96^(t psi))     (the momentum warms up to beta1)
        m <- beta1 * m + (1 - beta1) * g;   v <- beta2 * v + (1 - beta2) * g^2
        m_hat = mu_{t+1} m / (1 - mu_1 ... mu_{t+1}) + (1 - mu_t) g / (1 - mu_1 ... mu_t)
        theta <- theta - lr * m_hat / (sqrt(v / (1 - beta2^t)) + eps)

    Adam steps along the current momentum; NAdam along the momentum it is about to have
    (Nesterov's look-ahead), which reacts to a new gradient one step sooner.
    """

    def __init__(self, params: Iterable[Any], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False):
        _check_adam_hyperparameters(lr, betas, eps, weight_decay)
        _check("momentum_decay value", momentum_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        psi, lr = group["momentum_decay"], group["lr"]
        grad = _weight_decay(theta, grad, group)
        m, v, t = _moments(theta, grad, state, group)
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] = state.get("mu_product", 1.0) * mu  # mu_1 ... mu_t
        mu_product = state["mu_product"]
        denom = np.sqrt(v / (1 - beta2 ** t)) + group["eps"]  # not in place: 0-d gives scalars
        theta -= (lr * (1 - mu) / (1 - mu_product)) * (grad / denom)
        theta -= (lr * mu_next / (1 - mu_product * mu_next)) * (m / denom)
