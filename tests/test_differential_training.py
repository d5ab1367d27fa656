"""Regressions found by comparing training machinery (grad modes, optimizers, schedulers,
modules, data loading) against PyTorch with a throwaway fuzzer outside the repository; each
expected value is PyTorch's documented behaviour, written out here."""

import numpy as np
import pytest

import autograd as ag


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
