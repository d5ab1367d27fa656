"""Learning-rate schedules against their closed forms and PyTorch's plateau logic."""

import math

import numpy as np
import pytest

import autograd as ag
import nn
import optim
from optim import lr_scheduler


def make_optimizer(lr=1.0, groups=1):
    params = [{"params": [nn.Parameter(np.zeros(1))], "lr": lr * (i + 1)} for i in range(groups)]
    return optim.SGD(params, lr=lr)


def lrs(scheduler, epochs):
    out = [scheduler.get_last_lr()[0]]
    for _ in range(epochs):
        scheduler.optimizer.step()
        scheduler.step()
        out.append(scheduler.get_last_lr()[0])
    return out


def test_step_lr():
    got = lrs(lr_scheduler.StepLR(make_optimizer(), step_size=3, gamma=0.5), 7)
    np.testing.assert_allclose(got, [1, 1, 1, .5, .5, .5, .25, .25])


def test_exponential_lr():
    got = lrs(lr_scheduler.ExponentialLR(make_optimizer(2.0), gamma=0.9), 4)
    np.testing.assert_allclose(got, [2.0 * 0.9 ** e for e in range(5)])


def test_cosine_annealing_lr():
    got = lrs(lr_scheduler.CosineAnnealingLR(make_optimizer(), T_max=4, eta_min=0.1), 4)
    expected = [0.1 + 0.9 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(5)]
    np.testing.assert_allclose(got, expected)
    assert got[-1] == pytest.approx(0.1)


def test_lambda_lr_per_group_and_only_lr_changes():
    opt = make_optimizer(1.0, groups=2)
    sched = lr_scheduler.LambdaLR(opt, [lambda e: 1 / (e + 1), lambda e: 0.5 ** e])
    opt.step()
    sched.step()
    assert sched.get_last_lr() == [0.5, 1.0]
    assert opt.param_groups[0]["momentum"] == 0 and opt.param_groups[1]["initial_lr"] == 2.0


def test_schedule_changes_the_optimizers_learning_rate():
    p = nn.Parameter(np.zeros(1))
    opt = optim.SGD([p], lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.1)
    for expected in (-1.0, -1.1, -1.11):
        p.grad = ag.tensor(np.ones(1))
        opt.step()
        sched.step()
        np.testing.assert_allclose(p.data, [expected])


def test_reduce_on_plateau_patience_threshold_cooldown_min_lr():
    opt = make_optimizer(1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, threshold=0.1,
                                           cooldown=1, min_lr=0.2)
    # 10 -> 9.5 is not a 10% improvement: bad epochs accumulate
    metrics = [10, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5]
    got = []
    for metric in metrics:
        sched.step(metric)
        got.append(sched.get_last_lr()[0])
    # bad epochs 1, 2, 3 (> patience) -> 0.5; one cooldown epoch; then 3 more bad -> 0.25; ...
    assert got == [1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2]


def test_reduce_on_plateau_max_mode_and_abs_threshold():
    opt = make_optimizer(1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=0, threshold=0.5,
                                           threshold_mode="abs")
    sched.step(1.0)
    sched.step(1.6)  # better by more than 0.5
    assert sched.get_last_lr() == [1.0]
    sched.step(2.0)  # better, but not by 0.5
    assert sched.get_last_lr() == [pytest.approx(0.1)]


def test_reduce_on_plateau_validation():
    with pytest.raises(ValueError, match="factor"):
        lr_scheduler.ReduceLROnPlateau(make_optimizer(), factor=1.0)
    with pytest.raises(ValueError, match="mode"):
        lr_scheduler.ReduceLROnPlateau(make_optimizer(), mode="up")


def test_scheduler_state_dict_round_trip():
    opt = make_optimizer()
    sched = lr_scheduler.StepLR(opt, step_size=2)
    for _ in range(3):
        sched.step()
    state = sched.state_dict()
    other = lr_scheduler.StepLR(make_optimizer(), step_size=2)
    other.load_state_dict(state)
    other.step()
    sched.step()
    assert other.get_last_lr() == sched.get_last_lr()
