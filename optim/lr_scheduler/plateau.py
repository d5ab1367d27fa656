"""ReduceLROnPlateau: a rate cut when a metric stops improving."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd.compile import replayed

from ..optimizer import Optimizer
from .base import _check_optimizer, _per_group


def _scalar(metric: Any, where: str) -> float:
    """A Python float from a number, a 0-d or one-element array or tensor."""
    value = np.asarray(metric)
    if value.dtype.kind not in "biuf":
        raise TypeError(f"{where}: the metric must be a number, got {type(metric).__name__} "
                        f"{metric!r:.40}")
    if value.size != 1:
        raise ValueError(f"{where}: the metric must be one number (e.g. a one-element "
                         f"tensor), got shape {value.shape}")
    return float(value.item())


class ReduceLROnPlateau:
    """Multiply the rate by `factor` when a metric has stopped improving.

    `step(metric)` once per epoch (a number or a one-element tensor, e.g. the validation
    loss). The metric improves when it beats the best so far by more than `threshold`
    (relative, best * (1 -+ threshold), with threshold_mode='rel'; absolute, best -+
    threshold, with 'abs'), lower being better in mode 'min' and higher in 'max'. After more
    than `patience` epochs without improvement, lr <- max(lr * factor, min_lr) (changes
    smaller than `eps` are skipped) and `cooldown` epochs pass before counting again.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | Sequence[float] = 0, eps: float = 1e-8):
        _check_optimizer(optimizer)
        if factor >= 1.0:
            raise ValueError(f"factor should be < 1.0, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode!r} is unknown, use 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode!r} is unknown, use 'rel' or 'abs'")
        self.min_lrs = _per_group("min_lr", optimizer, min_lr)
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, current: float, best: float) -> bool:
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return current < best * (1 - self.threshold)
            return current < best - self.threshold
        if self.threshold_mode == "rel":
            return current > best * (1 + self.threshold)
        return current > best + self.threshold

    @replayed  # ag.compile replays the call (a step may advance its schedule)
    def step(self, metrics: Any) -> None:
        current = _scalar(metrics, "ReduceLROnPlateau.step")
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:  # in cooldown: bad epochs are not counted
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        return self._last_lr

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
