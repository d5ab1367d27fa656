"""Regressions found by comparing training machinery (grad modes, gradcheck, optimizers,
schedulers, modules, data loading) against PyTorch with a throwaway fuzzer outside the
repository; each expected value is PyTorch's documented behaviour, written out here."""

import numpy as np
import pytest

import autograd as ag
import nn


@pytest.mark.parametrize("switch, inside", [(ag.no_grad, False), (lambda: ag.no_grad, False),
                                            (ag.enable_grad, True),
                                            (lambda: ag.set_grad_enabled(False), False)])
def test_a_decorated_generator_runs_its_body_in_the_mode(switch, inside):
    # the decorator switched the mode only while the call built the generator object, so the
    # body (run at each next()) recorded a graph under @no_grad, as PyTorch's does not
    x = ag.tensor(np.array([1.0, 2.0]), requires_grad=True)

    @switch()
    def batches(n):
        for k in range(n):
            received = yield ag.is_grad_enabled(), (x * k).requires_grad
            assert received == k

    outer = not inside
    with ag.set_grad_enabled(outer):
        gen = batches(2)
        assert next(gen) == (inside, inside) and ag.is_grad_enabled() is outer
        assert gen.send(0) == (inside, inside) and ag.is_grad_enabled() is outer
        with pytest.raises(StopIteration):
            gen.send(1)
        assert ag.is_grad_enabled() is outer
    assert ag.is_grad_enabled()


def test_a_decorated_generator_sees_the_mode_when_closed_or_thrown_into():
    seen = []

    @ag.no_grad()
    def loop():
        try:
            while True:
                try:
                    yield
                except KeyError:
                    seen.append(("thrown", ag.is_grad_enabled()))
        finally:
            seen.append(("closed", ag.is_grad_enabled()))

    gen = loop()
    next(gen)
    gen.throw(KeyError)
    gen.close()
    assert seen == [("thrown", False), ("closed", False)] and ag.is_grad_enabled()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_with_a_nan_total_scales_every_gradient_by_nan(dtype, norm_type):
    # the factor max_norm / (total + 1e-6) is NaN; 'where(scale < 1, scale, 1)' read it as 1
    # and left the finite gradients as they were, where PyTorch's clamp(max=1) keeps the NaN
    a, b = nn.Parameter(np.zeros(2, dtype)), nn.Parameter(np.zeros(3, dtype))
    a.grad = ag.tensor(np.array([np.nan, 1.0], dtype))
    b.grad = ag.tensor(np.array([3.0, -4.0, 0.5], dtype))
    total = nn.utils.clip_grad_norm_([a, b], max_norm=1.0, norm_type=norm_type)
    assert np.isnan(total.item()) and total.dtype == dtype
    assert np.isnan(a.grad.data).all() and np.isnan(b.grad.data).all()
    assert b.grad.dtype == dtype


class _ZeroGradient(ag.Function):
    """x * x with a wrong backward: no gradient at all."""

    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, grad):
        return grad * 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["transposed", "strided"])
def test_gradcheck_perturbs_an_input_that_is_not_c_contiguous(dtype, layout):
    # the float64 copy keeps the input's layout, and reshape(-1) of a transposed array is a
    # copy: the perturbations never reached the input and every numeric derivative was 0, so
    # a backward giving no gradient passed and right ones failed
    base = (np.arange(1.0, 13.0).reshape(3, 4) / 4).astype(dtype)
    data = base.T if layout == "transposed" else base.T[::2]
    x = ag.tensor(data, requires_grad=True)
    assert not x.data.flags.c_contiguous
    assert ag.gradcheck(lambda t: (t * t.exp()).sum(axis=0), [x])
    assert ag.gradgradcheck(lambda t: (t ** 3).sum(), [x])
    assert not ag.gradcheck(_ZeroGradient.apply, [x], raise_exception=False)
    with pytest.raises(ag.GradcheckError, match=r"input 0 \(shape \((4|2), 3\)\), element "
                                                 r"\(0, 0\): analytic 0 vs numeric -?0\.0*[1-9]"):
        ag.gradcheck(_ZeroGradient.apply, [x])


def test_module_apply_visits_children_in_order_before_their_parent():
    # a reversed pre-order walk visited the siblings last to first, so an init that counts the
    # layers (depth-scaled, say) gave the last layer the first layer's scale
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2), nn.ReLU()),
                          nn.Linear(2, 2))
    names = {id(m): name or "model" for name, m in model.named_modules()}
    visited = []
    assert model.apply(lambda m: visited.append(names[id(m)])) is model
    assert visited == ["0", "1.0", "1.1", "1", "2", "model"]  # PyTorch's order

    depth = []

    def scaled(m):
        if isinstance(m, nn.Linear):
            depth.append(m)
            nn.init.constant_(m.weight, 1.0 / len(depth))

    model.apply(scaled)
    assert [model[0].weight.data[0, 0], model[1][0].weight.data[0, 0],
            model[2].weight.data[0, 0]] == pytest.approx([1.0, 0.5, 1 / 3])


def test_a_module_registered_twice_under_one_parent_is_one_child():
    # children() gave it once per name, so apply() called fn on it twice (PyTorch: once)
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = self.b = nn.Linear(1, 1)
            self.c = nn.ReLU()

    model = Twice()
    assert [name for name, _ in model.named_children()] == ["a", "c"]
    assert list(model.children()) == [model.a, model.c]
    visited = []
    model.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "ReLU", "Twice"]
