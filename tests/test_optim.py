"""Optimizers step by step against their update rules written out by hand in NumPy (PyTorch's
rules: Adam's bias-correction form, RMSprop's eps outside the square root, ...), plus the
data model: groups, zero_grad, closures, validation and exact resumption from a state dict."""

import copy
import functools
import math

import numpy as np
import pytest

import autograd as ag
import nn
import optim

STEPS = 6
THETA0 = np.array([[0.5, -1.2, 2.0], [0.03, -0.7, 1.5]])
GRADS = [np.random.default_rng(s).standard_normal(THETA0.shape) * (s + 1) for s in range(STEPS)]


def run(make_optimizer, steps=STEPS, grads=GRADS):
    """Parameter values after each step, feeding the fixed gradient sequence GRADS."""
    p = nn.Parameter(THETA0.copy())
    opt = make_optimizer([p])
    history = []
    for g in grads[:steps]:
        p.grad = ag.tensor(g.copy())
        opt.step()
        history.append(p.data.copy())
    return history


def sgd_reference(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    theta, buf, history = THETA0.copy(), None, []
    for g in GRADS:
        g = g + weight_decay * theta
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        theta = theta - lr * g
        history.append(theta)
    return history


def rmsprop_reference(lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                      centered=False):
    theta, v, a, b, history = THETA0.copy(), 0.0, 0.0, 0.0, []
    for g in GRADS:
        g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g ** 2
        if centered:
            a = alpha * a + (1 - alpha) * g
            d = np.sqrt(v - a ** 2) + eps
        else:
            d = np.sqrt(v) + eps
        if momentum:
            b = momentum * b + g / d
            theta = theta - lr * b
        else:
            theta = theta - lr * g / d
        history.append(theta)
    return history


def adam_reference(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                   decoupled=False):
    b1, b2 = betas
    theta, m, v, vmax, history = THETA0.copy(), 0.0, 0.0, 0.0, []
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            theta = theta * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        vmax = np.maximum(vmax, v)
        v_used = vmax if amsgrad else v
        m_hat = m / (1 - b1 ** t)
        theta = theta - lr * m_hat / (np.sqrt(v_used) / math.sqrt(1 - b2 ** t) + eps)
        history.append(theta)
    return history


def adagrad_reference(lr, eps=1e-10, weight_decay=0.0, lr_decay=0.0, initial=0.0):
    theta, s, history = THETA0.copy(), initial, []
    for t, g in enumerate(GRADS, start=1):
        g = g + weight_decay * theta
        s = s + g ** 2
        theta = theta - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
        history.append(theta)
    return history


def nadam_reference(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                    decoupled=False):
    b1, b2 = betas
    theta, m, v, mu_product, history = THETA0.copy(), 0.0, 0.0, 1.0, []
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            theta = theta * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * theta
        mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_product = mu_product * mu  # prod_{i <= t} mu_i
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat = mu_next * m / (1 - mu_product * mu_next) + (1 - mu) * g / (1 - mu_product)
        v_hat = v / (1 - b2 ** t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        history.append(theta)
    return history


def radam_reference(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    b1, b2 = betas
    rho_inf = 2 / (1 - b2) - 1
    theta, m, v, history = THETA0.copy(), 0.0, 0.0, []
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            theta = theta * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat = m / (1 - b1 ** t)
        rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho_t > 5:  # the variance of the adaptive rate is tractable: rectify it
            adaptive = math.sqrt(1 - b2 ** t) / (np.sqrt(v) + eps)
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            theta = theta - lr * m_hat * adaptive * rect
        else:  # too few steps: plain momentum SGD
            theta = theta - lr * m_hat
        history.append(theta)
    return history


def adamax_reference(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    theta, m, u, history = THETA0.copy(), 0.0, 0.0, []
    for t, g in enumerate(GRADS, start=1):
        g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        theta = theta - lr / (1 - b1 ** t) * m / u
        history.append(theta)
    return history


def adadelta_reference(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    theta, v, u, history = THETA0.copy(), 0.0, 0.0, []
    for g in GRADS:
        g = g + weight_decay * theta
        v = rho * v + (1 - rho) * g ** 2
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta ** 2
        theta = theta - lr * delta
        history.append(theta)
    return history


CASES = {
    "sgd": (lambda ps: optim.SGD(ps, lr=0.1), lambda: sgd_reference(0.1)),
    "sgd momentum": (lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9),
                     lambda: sgd_reference(0.05, momentum=0.9)),
    "sgd momentum dampening weight decay": (
        lambda ps: optim.SGD(ps, lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1),
        lambda: sgd_reference(0.05, momentum=0.8, dampening=0.3, weight_decay=0.1)),
    "sgd nesterov": (lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
                     lambda: sgd_reference(0.05, momentum=0.9, nesterov=True)),
    "rmsprop": (lambda ps: optim.RMSprop(ps, lr=0.01), lambda: rmsprop_reference(0.01)),
    "rmsprop centered momentum": (
        lambda ps: optim.RMSprop(ps, lr=0.01, alpha=0.9, centered=True, momentum=0.5),
        lambda: rmsprop_reference(0.01, alpha=0.9, centered=True, momentum=0.5)),
    "rmsprop eps weight decay": (
        lambda ps: optim.RMSprop(ps, lr=0.02, eps=0.5, weight_decay=0.2),
        lambda: rmsprop_reference(0.02, eps=0.5, weight_decay=0.2)),
    "adam": (lambda ps: optim.Adam(ps, lr=0.01), lambda: adam_reference(0.01)),
    "adam betas eps l2": (
        lambda ps: optim.Adam(ps, lr=0.1, betas=(0.5, 0.9), eps=0.1, weight_decay=0.3),
        lambda: adam_reference(0.1, betas=(0.5, 0.9), eps=0.1, weight_decay=0.3)),
    "adam amsgrad": (lambda ps: optim.Adam(ps, lr=0.05, betas=(0.8, 0.7), amsgrad=True),
                     lambda: adam_reference(0.05, betas=(0.8, 0.7), amsgrad=True)),
    "adamw": (lambda ps: optim.AdamW(ps, lr=0.05, weight_decay=0.5),
              lambda: adam_reference(0.05, weight_decay=0.5, decoupled=True)),
    "adamw amsgrad": (
        lambda ps: optim.AdamW(ps, lr=0.05, betas=(0.8, 0.7), amsgrad=True),
        lambda: adam_reference(0.05, betas=(0.8, 0.7), weight_decay=1e-2, amsgrad=True,
                               decoupled=True)),
    "adagrad": (lambda ps: optim.Adagrad(ps, lr=0.1), lambda: adagrad_reference(0.1)),
    "adagrad decay weight decay": (
        lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.5, weight_decay=0.1,
                                 initial_accumulator_value=0.2, eps=1e-3),
        lambda: adagrad_reference(0.1, eps=1e-3, weight_decay=0.1, lr_decay=0.5, initial=0.2)),
    "nadam": (lambda ps: optim.NAdam(ps), lambda: nadam_reference(2e-3)),
    "nadam momentum decay l2": (
        lambda ps: optim.NAdam(ps, lr=0.05, betas=(0.8, 0.9), eps=0.01, weight_decay=0.2,
                               momentum_decay=0.3),
        lambda: nadam_reference(0.05, betas=(0.8, 0.9), eps=0.01, weight_decay=0.2,
                                momentum_decay=0.3)),
    "nadam decoupled": (
        lambda ps: optim.NAdam(ps, lr=0.05, weight_decay=0.5, decoupled_weight_decay=True),
        lambda: nadam_reference(0.05, weight_decay=0.5, decoupled=True)),
    "radam": (lambda ps: optim.RAdam(ps), lambda: radam_reference(1e-3)),
    # rho_t passes 5 at step 6 for beta2 >= 0.85: steps 1-5 are unrectified, step 6 rectified
    "radam rectified l2": (
        lambda ps: optim.RAdam(ps, lr=0.05, betas=(0.8, 0.85), eps=0.01, weight_decay=0.2),
        lambda: radam_reference(0.05, betas=(0.8, 0.85), eps=0.01, weight_decay=0.2)),
    "radam decoupled": (
        lambda ps: optim.RAdam(ps, lr=0.05, betas=(0.9, 0.9), weight_decay=0.5,
                               decoupled_weight_decay=True),
        lambda: radam_reference(0.05, betas=(0.9, 0.9), weight_decay=0.5, decoupled=True)),
    "adamax": (lambda ps: optim.Adamax(ps), lambda: adamax_reference(2e-3)),
    "adamax betas eps l2": (
        lambda ps: optim.Adamax(ps, lr=0.1, betas=(0.5, 0.7), eps=0.5, weight_decay=0.3),
        lambda: adamax_reference(0.1, betas=(0.5, 0.7), eps=0.5, weight_decay=0.3)),
    "adadelta": (lambda ps: optim.Adadelta(ps), lambda: adadelta_reference()),
    "adadelta rho eps l2": (
        lambda ps: optim.Adadelta(ps, lr=0.5, rho=0.5, eps=0.1, weight_decay=0.3),
        lambda: adadelta_reference(0.5, rho=0.5, eps=0.1, weight_decay=0.3)),
}


@pytest.mark.parametrize("case", CASES)
def test_steps_follow_the_update_rule(case):
    make, reference = CASES[case]
    for ours, expected in zip(run(make), reference(), strict=True):
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("case", ["sgd nesterov", "rmsprop centered momentum", "adam amsgrad",
                                  "adamw", "adagrad decay weight decay",
                                  "nadam momentum decay l2", "radam rectified l2",
                                  "adamax betas eps l2", "adadelta rho eps l2"])
def test_resumed_optimizer_continues_identically(case):
    make = CASES[case][0]
    straight = run(make)[-1]
    p = nn.Parameter(THETA0.copy())
    opt = make([p])
    for g in GRADS[:3]:
        p.grad = ag.tensor(g.copy())
        opt.step()
    saved_params, saved_state = p.data.copy(), copy.deepcopy(opt.state_dict())
    for _ in range(2):  # the original goes on, which must not change what was saved
        p.grad = ag.tensor(np.ones_like(THETA0))
        opt.step()
    q = nn.Parameter(saved_params)
    resumed = make([q])
    resumed.load_state_dict(saved_state)
    for g in GRADS[3:]:
        q.grad = ag.tensor(g.copy())
        resumed.step()
    np.testing.assert_array_equal(q.data, straight)


def test_float32_parameters_stay_float32():
    for make, _ in CASES.values():
        p = nn.Parameter(THETA0.astype(np.float32))
        opt = make([p])
        for g in GRADS[:2]:
            p.grad = ag.tensor(g.astype(np.float32))
            opt.step()
        assert p.dtype == np.float32
        assert all(v.dtype == np.float32 for v in opt.state[p].values()
                   if isinstance(v, np.ndarray))


def test_param_groups_with_their_own_hyperparameters():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.0)
    a.grad = ag.tensor(np.ones(2))
    b.grad = ag.tensor(np.ones(2))
    opt.step()
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_allclose(b.data, 0.5)
    assert opt.param_groups[1]["momentum"] == 0.0 and opt.param_groups[0]["lr"] == 0.1


def test_parameters_without_gradient_are_skipped():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = ag.tensor(np.ones(2))
    opt.step()
    np.testing.assert_array_equal(b.data, 1.0)
    assert b not in opt.state or not opt.state[b]


def test_zero_grad_set_to_none_or_zero():
    p = nn.Parameter(np.ones(3))
    opt = optim.SGD([p], lr=0.1)
    p.grad = ag.tensor(np.ones(3))
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.data, 0)
    opt.zero_grad()
    assert p.grad is None


def test_step_with_closure_returns_the_loss_and_trains():
    ag.manual_seed(0)
    model = nn.Linear(2, 1, dtype=np.float64)
    x = ag.tensor(np.random.default_rng(0).standard_normal((20, 2)))
    y = x.data @ np.array([[2.0], [-1.0]]) + 0.5
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.5)

    def closure():
        opt.zero_grad()
        loss = nn.MSELoss()(model(x), y)
        loss.backward()
        return loss

    first = opt.step(closure).item()
    for _ in range(200):
        last = opt.step(closure).item()
    assert last < 1e-6 < first


@pytest.mark.parametrize("make", [
    optim.SGD, functools.partial(optim.SGD, momentum=0.9), optim.Adam, optim.AdamW,
    optim.RMSprop, optim.Adagrad, optim.Adadelta, optim.Adamax, optim.NAdam, optim.RAdam])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_step_bumps_the_parameter_version(make, dtype):
    """Once per step and parameter (Optimizer.step does it for every algorithm)."""
    p = nn.Parameter(np.ones(2, dtype))
    out = (p * p).sum()
    opt = make([p], lr=0.1)
    p.grad = ag.tensor(np.ones(2, dtype))
    version = p._version[0]
    opt.step()
    assert p._version[0] == version + 1
    with pytest.raises(RuntimeError, match="in place"):
        out.backward()


def adam_numpy_steps(theta, grads, lr, betas, eps, amsgrad):
    """Adam as a sequence of in-place NumPy operations in PyTorch's order, each rounded to
    theta's dtype: what the fused update must give bit for bit."""
    (b1, b2), theta = betas, theta.copy()
    m, v, v_max = np.zeros_like(theta), np.zeros_like(theta), np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        m *= b1
        m += (1 - b1) * g
        v *= b2
        squared = g * g
        squared *= 1 - b2
        v += squared
        used = np.maximum(v_max, v, out=v_max) if amsgrad else v
        denom = np.sqrt(used)
        denom /= math.sqrt(1 - b2 ** t)
        denom += eps
        step = np.divide(m, denom, out=denom)
        step *= lr / (1 - b1 ** t)
        theta -= step
    return theta, m, v


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("layout", ["C", "F"])
def test_adam_step_is_the_numpy_sequence_bit_for_bit(dtype, amsgrad, layout):
    rng = np.random.default_rng(3)
    theta = rng.standard_normal((6, 5)).astype(dtype)
    grads = [(rng.standard_normal((6, 5)) * 10.0 ** rng.integers(-6, 3, (6, 5))).astype(dtype)
             for _ in range(5)]
    grads[2][1, 1], grads[3][2, 2] = np.nan, 0.0
    p = nn.Parameter(theta.copy(order=layout))
    opt = optim.Adam([p], lr=0.01, betas=(0.8, 0.95), eps=1e-6, amsgrad=amsgrad)
    for g in grads:
        p.grad = ag.tensor(g.copy(order=layout))
        with np.errstate(all="ignore"):
            opt.step()
    with np.errstate(all="ignore"):
        expected, m, v = adam_numpy_steps(theta, grads, 0.01, (0.8, 0.95), 1e-6, amsgrad)
    assert np.isnan(p.data).any()  # the NaN went through, as in NumPy
    np.testing.assert_array_equal(p.data, expected, strict=True)
    np.testing.assert_array_equal(opt.state[p]["exp_avg"], m, strict=True)
    np.testing.assert_array_equal(opt.state[p]["exp_avg_sq"], v, strict=True)


@pytest.mark.parametrize("make", [optim.Adam, optim.AdamW])
def test_adam_groups_and_dtypes_at_one_step_each_take_their_own_scalars(make):
    """Each parameter steps as it would alone, whatever the others of the step (Adam makes its
    scalars once per group, step count and dtype)."""
    first, second = dict(lr=0.1, betas=(0.8, 0.9), eps=1e-3), dict(lr=0.3, eps=0.5)
    settings, dtypes = [first, first, second], [np.float64, np.float32, np.float64]
    alone = []
    for setting, dtype in zip(settings, dtypes, strict=True):
        p = nn.Parameter(THETA0.astype(dtype))
        opt = make([p], **setting)
        for g in GRADS:
            p.grad = ag.tensor(g.astype(dtype))
            opt.step()
        alone.append(p.data)
    ps = [nn.Parameter(THETA0.astype(dtype)) for dtype in dtypes]
    opt = make([{"params": ps[:2], **first}, {"params": ps[2:], **second}])
    for g in GRADS:
        for p in ps:
            p.grad = ag.tensor(g.astype(p.dtype))
        opt.step()
    for p, expected in zip(ps, alone, strict=True):
        np.testing.assert_array_equal(p.data, expected, strict=True)


def test_adam_resumed_at_an_earlier_step_uses_the_new_learning_rate():
    p = nn.Parameter(THETA0.copy())
    opt = optim.Adam([p], lr=0.1)
    p.grad = ag.tensor(GRADS[0].copy())
    opt.step()
    saved_params, saved_state = p.data.copy(), copy.deepcopy(opt.state_dict())
    p.grad = ag.tensor(GRADS[1].copy())
    opt.step()  # step 2 at lr 0.1
    p.data[...] = saved_params
    opt.load_state_dict(saved_state)
    opt.param_groups[0]["lr"] = 0.01
    p.grad = ag.tensor(GRADS[1].copy())
    opt.step()  # step 2 again, at lr 0.01
    q = nn.Parameter(saved_params.copy())
    fresh = optim.Adam([q], lr=0.01)
    fresh.load_state_dict(saved_state)
    fresh.param_groups[0]["lr"] = 0.01
    q.grad = ag.tensor(GRADS[1].copy())
    fresh.step()
    np.testing.assert_array_equal(p.data, q.data)


def test_state_loaded_in_another_layout_steps_as_the_original():
    p, q = nn.Parameter(THETA0.astype(np.float32)), nn.Parameter(THETA0.astype(np.float32))
    first, second = optim.Adam([p], lr=0.1), optim.Adam([q], lr=0.1)
    p.grad = ag.tensor(GRADS[0].astype(np.float32))
    first.step()
    saved = first.state_dict()
    saved["state"][0] = {k: np.asfortranarray(v) if isinstance(v, np.ndarray) else v
                         for k, v in saved["state"][0].items()}
    q.data[...] = p.data
    second.load_state_dict(saved)
    p.grad = q.grad = ag.tensor(GRADS[1].astype(np.float32))
    first.step()
    second.step()
    np.testing.assert_array_equal(q.data, p.data)


@pytest.mark.parametrize("make, message", [
    (lambda ps: optim.SGD(ps, lr=-0.1), "learning rate"),
    (lambda ps: optim.SGD(ps, momentum=-1), "momentum"),
    (lambda ps: optim.SGD(ps, nesterov=True), "Nesterov"),
    (lambda ps: optim.SGD(ps, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
    (lambda ps: optim.Adam(ps, betas=(1.0, 0.999)), "beta parameter at index 0"),
    (lambda ps: optim.Adam(ps, betas=(0.9, -0.1)), "beta parameter at index 1"),
    (lambda ps: optim.AdamW(ps, eps=-1e-8), "epsilon"),
    (lambda ps: optim.Adam(ps, weight_decay=-1), "weight_decay"),
    (lambda ps: optim.RMSprop(ps, alpha=-0.5), "alpha"),
    (lambda ps: optim.Adagrad(ps, lr_decay=-1), "lr_decay"),
    (lambda ps: optim.NAdam(ps, momentum_decay=-1), "momentum_decay"),
    (lambda ps: optim.RAdam(ps, betas=(0.9, 1.0)), "beta parameter at index 1"),
    (lambda ps: optim.Adamax(ps, lr=-1), "learning rate"),
    (lambda ps: optim.Adadelta(ps, rho=1.5), "rho"),
    (lambda ps: optim.SGD([], lr=0.1), "empty"),
])
def test_invalid_hyperparameters_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make([nn.Parameter(np.ones(1))] if message != "empty" else [])


def test_invalid_parameters_are_refused():
    p = nn.Parameter(np.ones(2))
    with pytest.raises(TypeError, match="iterable"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def test_state_dict_layout_and_mismatch_errors():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}])
    a.grad = ag.tensor(np.ones(2))
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.5
    assert set(sd["state"]) == {0} and sd["state"][0]["step"] == 1
    other = optim.Adam([nn.Parameter(np.ones(2))])
    with pytest.raises(ValueError, match="groups"):
        other.load_state_dict(sd)


def test_a_set_of_parameters_is_refused_its_order_being_undefined():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    with pytest.raises(TypeError, match="set"):
        optim.SGD({a, b}, lr=0.1)
    with pytest.raises(TypeError, match="set"):
        optim.SGD([{"params": {a, b}}], lr=0.1)
    opt = optim.SGD([a], lr=0.1)
    with pytest.raises(TypeError, match="set"):
        opt.add_param_group({"params": {b}})


@pytest.mark.parametrize("beta2", [0.85, 0.9, 0.999])
def test_radam_cases_check_both_branches(beta2):
    rho_inf = 2 / (1 - beta2) - 1
    rho = [rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t) for t in range(1, STEPS + 1)]
    assert [r > 5 for r in rho] == [False] * 5 + [True]


def test_new_optimizers_have_pytorchs_defaults():
    p = [nn.Parameter(np.ones(1))]
    assert optim.NAdam(p).defaults == dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8,
                                           weight_decay=0, momentum_decay=4e-3,
                                           decoupled_weight_decay=False)
    assert optim.RAdam(p).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                                           weight_decay=0, decoupled_weight_decay=False)
    assert optim.Adamax(p).defaults == dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8,
                                            weight_decay=0)
    assert optim.Adadelta(p).defaults == dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_a_0d_parameter_steps_as_a_1_element_one(case, dtype):
    """A 0-d parameter (the course's scalar models) gets the bits a 1-element one gets, state
    included. (NAdam's step had raised on it: its np.sqrt(..., out=) got a NumPy scalar.)"""
    make = CASES[case][0]
    params = [ag.tensor(np.array(v, dtype), requires_grad=True) for v in (1.5, [1.5])]
    states = []
    for p in params:
        opt = make([p])
        for _ in range(4):
            opt.zero_grad()
            (p * p * 0.7 - p).sum().backward()
            opt.step()
        states.append({k: np.asarray(v).tobytes() for k, v in opt.state[p].items()})
    assert params[0].shape == () and params[0].data.tobytes() == params[1].data.tobytes()
    assert states[0] == states[1]
