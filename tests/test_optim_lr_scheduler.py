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
    state, opt_state = sched.state_dict(), opt.state_dict()
    other_opt = make_optimizer()
    other = lr_scheduler.StepLR(other_opt, step_size=2)
    other_opt.load_state_dict(opt_state)  # the rates live in the optimizer, as in PyTorch
    other.load_state_dict(state)
    other.step()
    sched.step()
    assert other.get_last_lr() == sched.get_last_lr() == [pytest.approx(0.01)]


# ---- schedules compose: each step scales the group's current rate (PyTorch's chainable form)

# ExponentialLR(0.9) and StepLR(3, 0.5) on one optimizer, by hand: every epoch * 0.9, and at
# epochs 3 and 6 also * 0.5.
CHAINED = [1.0, 0.9, 0.81, 0.729 * 0.5, 0.6561 * 0.5, 0.59049 * 0.5, 0.531441 * 0.25,
           0.4782969 * 0.25]


def test_two_schedulers_on_one_optimizer_chain():
    opt = make_optimizer()
    exponential = lr_scheduler.ExponentialLR(opt, gamma=0.9)
    step = lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    got = [opt.param_groups[0]["lr"]]
    for _ in range(7):
        opt.step()
        exponential.step()
        step.step()
        got.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(got, CHAINED, rtol=1e-12)
    assert step.get_last_lr() == [got[-1]]


def test_chained_scheduler_steps_each_in_turn():
    opt = make_optimizer()
    chained = lr_scheduler.ChainedScheduler([lr_scheduler.ExponentialLR(opt, gamma=0.9),
                                             lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)])
    np.testing.assert_allclose(lrs(chained, 7), CHAINED, rtol=1e-12)
    state = chained.state_dict()
    assert [s["last_epoch"] for s in state["_schedulers"]] == [7, 7]
    again = make_optimizer()
    resumed = lr_scheduler.ChainedScheduler([lr_scheduler.ExponentialLR(again, gamma=0.9),
                                             lr_scheduler.StepLR(again, step_size=3, gamma=0.5)])
    again.load_state_dict(chained.optimizer.state_dict())
    resumed.load_state_dict(state)
    chained.step()
    resumed.step()
    assert resumed.get_last_lr() == chained.get_last_lr() == [pytest.approx(CHAINED[-1] * 0.9)]
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.ChainedScheduler([lr_scheduler.StepLR(make_optimizer(), 2),
                                       lr_scheduler.StepLR(make_optimizer(), 2)])


@pytest.mark.parametrize("make", [
    lambda opt: lr_scheduler.StepLR(opt, step_size=2, gamma=0.5),
    lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.5),
    lambda opt: lr_scheduler.MultiStepLR(opt, milestones=[1, 2], gamma=0.5),
])
def test_a_manual_rate_change_is_kept_at_the_next_step(make):
    opt = make_optimizer()
    sched = make(opt)
    sched.step()
    opt.param_groups[0]["lr"] = 0.3  # e.g. a user's own warm-up
    sched.step()  # epoch 2: each of these schedules halves the rate there
    assert opt.param_groups[0]["lr"] == pytest.approx(0.15)


@pytest.mark.parametrize("make", [
    lambda opt: lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
    lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.8),
    lambda opt: lr_scheduler.MultiStepLR(opt, milestones=[2, 5, 5], gamma=0.5),
    lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.1),
    lambda opt: lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=4),
])
def test_chained_steps_agree_with_the_closed_form(make):
    sched = make(make_optimizer(2.0, groups=2))
    for _ in range(12):  # past T_max, total_iters and every milestone
        sched.optimizer.step()
        sched.step()
        np.testing.assert_allclose(sched.get_last_lr(), sched._get_closed_form_lr(), rtol=1e-12)


def test_multistep_lr():
    got = lrs(lr_scheduler.MultiStepLR(make_optimizer(), milestones=[5, 2, 5], gamma=0.1), 6)
    np.testing.assert_allclose(got, [1, 1, 0.1, 0.1, 0.1, 0.001, 0.001], rtol=1e-12)


def test_linear_lr():
    got = lrs(lr_scheduler.LinearLR(make_optimizer(), start_factor=0.25, total_iters=3), 5)
    np.testing.assert_allclose(got, [0.25, 0.5, 0.75, 1.0, 1.0, 1.0], rtol=1e-12)
    default = lrs(lr_scheduler.LinearLR(make_optimizer(3.0)), 6)  # 1/3 -> 1 over 5 epochs
    np.testing.assert_allclose(default, [1, 1.4, 1.8, 2.2, 2.6, 3.0, 3.0], rtol=1e-12)
    with pytest.raises(ValueError, match="start_factor"):
        lr_scheduler.LinearLR(make_optimizer(), start_factor=0)


def test_cosine_annealing_warm_restarts():
    sched = lr_scheduler.CosineAnnealingWarmRestarts(make_optimizer(), T_0=2, T_mult=2,
                                                     eta_min=0.0)
    half_cos = [(1 + math.cos(math.pi * c)) / 2 for c in (0, 1 / 2, 0, 1 / 4, 2 / 4, 3 / 4, 0)]
    np.testing.assert_allclose(lrs(sched, 6), half_cos, rtol=1e-12, atol=1e-15)  # T_i 2, 4, 8
    sched.step(1.5)  # a fractional epoch, within the first period
    assert sched.get_last_lr()[0] == pytest.approx((1 + math.cos(math.pi * 0.75)) / 2)
    sched.step(7)  # epochs 0-1, 2-5, 6-13: epoch 7 is 1 into a period of 8
    assert sched.get_last_lr()[0] == pytest.approx((1 + math.cos(math.pi / 8)) / 2)
    with pytest.raises(ValueError, match="T_mult"):
        lr_scheduler.CosineAnnealingWarmRestarts(make_optimizer(), T_0=2, T_mult=0)


# (T_0, T_mult, eta_min, last_epoch, step() arguments (None: the next epoch), the rates after
# construction and each step: torch 2.13's, initial_lr 0.5)
WARM_RESTARTS_RESUMED = [
    (3, 2, 0.01, 7, [None] * 6, [0.3775, 0.255, 0.1325, 0.04282377607281252, 0.5,
                                 0.4916518274408217, 0.4671762239271875]),
    (2, 1, 0.0, 10, [None] * 3, [0.25, 0.5, 0.25, 0.5]),  # T_cur: (10 + 1) % 2
    (3, 1, 0.0, -3, [None] * 2, [0.5, 0.375, 0.125]),  # a negative last_epoch starts at 0
    (2, 3, 0.05, 4, [None, 9, None, None, 2.5, None],
     [0.4698557158514987, 0.3875, 0.49658174442774683, 0.4864308396768294,
      0.4698557158514987, 0.49233331091504035, 0.4340990257669732]),
    # epoch 121 starts a period (1 + 3 + ... + 81), but PyTorch's log rounds to the period
    # before, whose end gives eta_min
    (1, 3, 0.0, 0, [121, 120.5], [0.5, 0.0, 4.700738787466464e-05]),
]


@pytest.mark.parametrize("T_0, T_mult, eta_min, last_epoch, calls, expected",
                         WARM_RESTARTS_RESUMED)
def test_cosine_annealing_warm_restarts_resumed_as_pytorch(T_0, T_mult, eta_min, last_epoch,
                                                           calls, expected):
    # resumed at last_epoch = k, the rates differed from PyTorch's (T_cur restarted by
    # subtraction, not modulo, and a negative last_epoch was not taken as 0)
    opt = make_optimizer(0.1)
    opt.param_groups[0]["initial_lr"] = 0.5
    sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0, T_mult=T_mult, eta_min=eta_min,
                                                     last_epoch=last_epoch)
    got = [sched.get_last_lr()[0]]
    for epoch in calls:
        sched.step(epoch)
        got.append(sched.get_last_lr()[0])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("eta_min", ["0", None, np.float32(0.1)])
def test_cosine_annealing_warm_restarts_refuses_an_eta_min_that_is_not_a_number(eta_min):
    with pytest.raises(ValueError, match="eta_min must be a float or int"):
        lr_scheduler.CosineAnnealingWarmRestarts(make_optimizer(), T_0=2, eta_min=eta_min)


def cos_anneal(start, end, pct):
    return end + (start - end) * (1 + math.cos(math.pi * pct)) / 2


def test_one_cycle_lr_and_momentum():
    params = [nn.Parameter(np.zeros(1))]
    opt = optim.SGD(params, lr=123.0, momentum=0.9)  # the schedule sets lr and momentum itself
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    lo, hi, floor = 1.0 / 25, 1.0, 1.0 / 25 / 1e4
    # warm-up over steps 0..2 (pct_start * total - 1 = 2), annealing over steps 2..9
    expected = [cos_anneal(lo, hi, s / 2) for s in range(3)]
    expected += [cos_anneal(hi, floor, (s - 2) / 7) for s in range(3, 10)]
    momentum = [cos_anneal(0.95, 0.85, s / 2) for s in range(3)]
    momentum += [cos_anneal(0.85, 0.95, (s - 2) / 7) for s in range(3, 10)]
    got_lr, got_momentum = [], []
    for _ in range(10):
        got_lr.append(opt.param_groups[0]["lr"])
        got_momentum.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    np.testing.assert_allclose(got_lr, expected, rtol=1e-12)
    np.testing.assert_allclose(got_momentum, momentum, rtol=1e-12)
    with pytest.raises(ValueError, match="total"):
        sched.step()  # step 11 of 10


def test_one_cycle_lr_linear_three_phase_and_adam_betas():
    opt = optim.Adam([nn.Parameter(np.zeros(1))], betas=(0.9, 0.99))
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.5, epochs=2, steps_per_epoch=5,
                                    pct_start=0.2, anneal_strategy="linear", three_phase=True,
                                    div_factor=10.0, final_div_factor=100.0)
    lo, hi, floor = 0.05, 0.5, 0.0005
    # phases end at steps 1 (0.2 * 10 - 1), 2 (2 * 0.2 * 10 - 2) and 9
    expected = [lo, hi, lo] + [lo + (floor - lo) * (s - 2) / 7 for s in range(3, 10)]
    np.testing.assert_allclose(lrs(sched, 9), expected, rtol=1e-12)
    assert opt.param_groups[0]["betas"] == (pytest.approx(0.95), 0.99)
    with pytest.raises(ValueError, match="momentum"):
        lr_scheduler.OneCycleLR(optim.Adagrad([nn.Parameter(np.zeros(1))]), max_lr=1.0,
                                total_steps=5)


def test_sequential_lr_warm_up_then_decay():
    opt = make_optimizer()
    warm_up = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    decay = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    sched = lr_scheduler.SequentialLR(opt, [warm_up, decay], milestones=[2])
    # LinearLR: 0.5, 0.75; at the milestone ExponentialLR restarts from initial_lr: 1, 0.5, ...
    np.testing.assert_allclose(lrs(sched, 5), [0.5, 0.75, 1.0, 0.5, 0.25, 0.125], rtol=1e-12)
    state = sched.state_dict()
    assert [s["last_epoch"] for s in state["_schedulers"]] == [1, 3]
    with pytest.raises(ValueError, match="milestones"):
        lr_scheduler.SequentialLR(opt, [warm_up, decay], milestones=[])


def test_reduce_on_plateau_refuses_a_non_optimizer():
    with pytest.raises(TypeError, match="Optimizer"):
        lr_scheduler.ReduceLROnPlateau("adam")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reduce_on_plateau_steps_on_a_one_element_loss_tensor(dtype):
    sched = lr_scheduler.ReduceLROnPlateau(make_optimizer(), patience=0)
    sched.step(ag.tensor(np.array(2.0, dtype=dtype)))
    sched.step(ag.tensor(np.array([3.0], dtype=dtype), requires_grad=True))
    assert sched.best == 2.0 and sched.get_last_lr() == [pytest.approx(0.1)]
    with pytest.raises(ValueError, match="ReduceLROnPlateau.*one"):
        sched.step(ag.tensor(np.ones(2, dtype=dtype)))


def test_exports():
    for name in ("MultiStepLR", "LinearLR", "OneCycleLR", "CosineAnnealingWarmRestarts",
                 "SequentialLR", "ChainedScheduler"):
        assert name in lr_scheduler.__all__ and hasattr(optim.lr_scheduler, name)
