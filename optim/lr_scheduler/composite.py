"""Schedules made of schedules: one after another, or several at once."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from autograd.compile import replayed

from ..optimizer import Optimizer
from .base import LRScheduler, _check_optimizer


class _Composite(LRScheduler):
    """What SequentialLR and ChainedScheduler share: checks and their schedules' states."""

    def _adopt(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler]) -> None:
        name = type(self).__name__
        if not schedulers:
            raise ValueError(f"{name} expects at least one scheduler")
        for number, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"{name}: schedulers[{number}] is a "
                                f"{type(scheduler).__name__}, not an LRScheduler (a "
                                "ReduceLROnPlateau needs a metric and cannot be composed)")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"{name} expects all schedulers to belong to the same "
                                 f"optimizer; schedulers[{number}] has another one")
        self.optimizer = optimizer
        self._schedulers = list(schedulers)

    def _undo_initial_step(self) -> None:
        for scheduler in self._schedulers:
            scheduler._undo_initial_step()

    def state_dict(self) -> dict[str, Any]:
        """Its own counters, and each schedule's state under '_schedulers'."""
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        own = {k: v for k, v in state_dict.items() if k != "_schedulers"}
        self.__dict__.update(own)
        for scheduler, state in zip(self._schedulers, state_dict["_schedulers"], strict=True):
            scheduler.load_state_dict(state)


class SequentialLR(_Composite):
    """One schedule after another: `schedulers[i]` runs from `milestones[i - 1]` on, restarted
    there from epoch 0 (its closed form from `initial_lr`), e.g. a LinearLR warm-up, then
    a cosine decay: `SequentialLR(opt, [warm_up, decay], milestones=[5])`."""

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1):
        _check_optimizer(optimizer)
        self._adopt(optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR needs one milestones entry fewer than schedulers: "
                             f"got {len(schedulers)} schedulers and {len(milestones)} "
                             "milestones")
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        for group in optimizer.param_groups:  # undo what constructing the schedules did
            group["lr"] = group["initial_lr"]
        self._undo_initial_step()
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    @replayed  # ag.compile replays the call (a step may advance its schedule)
    def step(self) -> None:
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._jump_to(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_Composite):
    """Several schedules stepped together, each scaling the rate the previous one left, e.g.
    a warm-up factor times an exponential decay."""

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None):
        if schedulers and optimizer is None:
            optimizer = getattr(schedulers[0], "optimizer", None)
        self._adopt(optimizer, schedulers)
        self._last_lr = self._lrs()

    @replayed  # ag.compile replays the call (a step may advance its schedule)
    def step(self) -> None:
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = self._lrs()
