"""Learning-rate schedules, with PyTorch's names and rules.

Call `scheduler.step()` once per epoch (or per batch for OneCycleLR) after
`optimizer.step()` (`step(metric)` for `ReduceLROnPlateau`); `get_last_lr()` gives the rates
it last set. Constructing a schedule sets the rates for epoch 0 and records each group's
`initial_lr`.

Schedules compose as PyTorch's do: most steps scale each group's *current* lr (the
"chainable" form), so two schedules on one optimizer multiply, `ChainedScheduler` steps
several at once, and a rate set by hand (`group['lr'] = ...`) is kept and scaled from there.
Where the schedule has a closed form lr(epoch) from the initial rates it is
`_get_closed_form_lr()`; `SequentialLR` uses it to restart a schedule at a milestone.

>>> import numpy as np, nn, optim
>>> from optim import lr_scheduler
>>> opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
>>> decay = lr_scheduler.ExponentialLR(opt, gamma=0.9)
>>> halve = lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
>>> for epoch in range(3):
...     opt.step()
...     decay.step()
...     halve.step()
>>> round(opt.param_groups[0]["lr"], 6)  # 0.9 ** 3 * 0.5
0.3645
"""

from .base import LRScheduler
from .composite import ChainedScheduler, SequentialLR
from .cycles import CosineAnnealingWarmRestarts, OneCycleLR
from .decay import CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR, MultiStepLR, StepLR
from .plateau import ReduceLROnPlateau

__all__ = [
    "ChainedScheduler", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "ExponentialLR",
    "LRScheduler", "LambdaLR", "LinearLR", "MultiStepLR", "OneCycleLR", "ReduceLROnPlateau",
    "SequentialLR", "StepLR",
]
