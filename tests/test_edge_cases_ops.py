"""Edge cases of the tensor ops: exact numerics at extreme values in float32 and float64,
NumPy's semantics where they are subtle, and errors that name the op where the mistake is
made. Each test failed before its fix."""

import numpy as np
import pytest

import autograd as ag
from nn import functional as F


def ulps(actual, exact) -> float:
    """|actual - exact| in ulps of actual's dtype at exact's magnitude."""
    actual = np.asarray(actual)
    exact = np.asarray(exact, dtype=np.float64)
    spacing = np.spacing(np.abs(exact).astype(actual.dtype)).astype(np.float64)
    return float(np.max(np.abs(actual.astype(np.float64) - exact) / spacing))


# ---- softmax, log_softmax, logsumexp ----------------------------------------------------
@pytest.mark.parametrize(("value", "dtype"), [(1e4, np.float32), (1e8, np.float32),
                                              (-3e38, np.float32), (1e16, np.float64),
                                              (1e300, np.float64)])
@pytest.mark.parametrize("n", [3, 7])
def test_softmax_of_equal_logits_is_exactly_one_over_n_at_any_magnitude(value, dtype, n):
    x = ag.tensor(np.full((2, n), value, dtype=dtype))
    assert x.softmax().dtype == dtype
    np.testing.assert_array_equal(x.softmax().data, np.full((2, n), 1 / n, dtype=dtype))
    # -log n as the dtype's own log computes it (NumPy's float32 log(7) is 1 ulp off exact)
    np.testing.assert_array_equal(x.log_softmax().data, np.full((2, n), -np.log(dtype(n))))
    assert ulps(x.logsumexp(axis=-1).data, np.float64(value) + np.log(n)) <= 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_large_logits_is_within_a_few_ulps(dtype):
    offsets = np.array([0.0, 1.0, -3.0, 0.5], dtype=dtype)
    x = ag.tensor(np.asarray(1e4, dtype) + offsets)  # the offsets are exact at 1e4 in both
    exact = np.exp(offsets.astype(np.float64) - np.log(np.exp(offsets.astype(np.float64)).sum()))
    assert ulps(x.softmax().data, exact) <= 4
    assert ulps(x.log_softmax().data, np.log(exact)) <= 4


def test_softmax_gradients_at_large_logits():
    """At 1e6 float64's ulp is 1e-10, so finite differences with eps 1e-4 still resolve."""
    x = ag.tensor(1e6 + np.array([[0.0, 1.0, -2.0], [3.0, 3.0, 3.0]]), requires_grad=True)
    for fn in (lambda t: t.softmax(), lambda t: t.log_softmax(), lambda t: t.logsumexp(axis=1)):
        assert ag.gradcheck(fn, [x], eps=1e-4)
        assert ag.gradgradcheck(fn, [x], eps=1e-4)


@pytest.mark.parametrize(("value", "dtype"), [(1e8, np.float32), (1e16, np.float64)])
def test_cross_entropy_with_probability_targets_at_large_logits(value, dtype):
    logits = ag.tensor(np.full((2, 3), value, dtype=dtype), requires_grad=True)
    target = ag.tensor(np.full((2, 3), 1 / 3, dtype=dtype))
    loss = F.cross_entropy(logits, target)
    assert ulps(loss.data, np.log(3)) <= 2
    loss.backward()
    np.testing.assert_allclose(logits.grad.data, 0, atol=1e-7)
