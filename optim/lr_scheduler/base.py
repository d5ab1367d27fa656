"""The base class: `last_epoch`, `get_lr` (chainable or closed form), `step`, state."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from autograd.compile import replayed

from ..optimizer import Optimizer


def _check_optimizer(optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _per_group(name: str, optimizer: Optimizer, value: Any) -> list[Any]:
    """One value per param group: a list or tuple of that length, or one value for all."""
    groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ValueError(f"expected {groups} values of {name} (one per param group), got "
                             f"{len(value)}")
        return list(value)
    return [value] * groups


class LRScheduler:
    """Base class: `last_epoch` counts the calls to `step()`; `get_lr()` gives the rates for
    the new epoch, from the groups' current rates (chainable) or from `base_lrs`."""

    _is_initial = False  # True during the step that construction makes

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        for number, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"param 'initial_lr' is not specified in param_groups[{number}] "
                               "when resuming a schedule (last_epoch != -1)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def _undo_initial_step(self) -> None:
        self.last_epoch -= 1

    def get_lr(self) -> list[float]:
        raise NotImplementedError

    def _lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def _set_lrs(self, lrs: Iterable[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = self._lrs()

    @replayed  # ag.compile replays the call (a step may advance its schedule)
    def step(self) -> None:
        """Advance one epoch and set every group's `lr` for it."""
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def _jump_to(self, epoch: int) -> None:
        """Set the rates of `epoch` from the closed form (the chained rule where none)."""
        self.last_epoch = epoch
        closed_form = getattr(self, "_get_closed_form_lr", None)
        self._set_lrs(closed_form() if closed_form is not None else self.get_lr())

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group as last set by this schedule."""
        return self._last_lr

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (and functions, which cannot be saved)."""
        return {k: v for k, v in self.__dict__.items()
                if k not in ("optimizer", "lr_lambdas") and not callable(v)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
