"""Regressions found by differential testing against PyTorch (a throwaway fuzzer outside the
repository): each test's expected values come from the formulas, in NumPy."""

import numpy as np
import pytest

import autograd as ag
import nn
from nn import functional as F

DTYPES = [np.float32, np.float64]


def _log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weight", [None, [0.5, 1.0, 2.0]])
@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_and_nll_keep_the_input_dtype(dtype, weight, ignore_index, smoothing):
    # 'mean' divided by the count of counted samples (NumPy int64) or by the summed class
    # weights in their own dtype (float64 for a list), which promoted a float32 loss to float64
    logits = np.random.default_rng(0).standard_normal((5, 3))
    target = np.array([0, 1, 2, 1, 0])
    x = ag.tensor(logits.astype(dtype), requires_grad=True)
    loss = F.cross_entropy(x, target, weight=weight, ignore_index=ignore_index,
                           label_smoothing=smoothing)
    loss.backward()
    nll = F.nll_loss(x, target, weight=weight, ignore_index=ignore_index)
    assert loss.dtype == dtype and x.grad.dtype == dtype and nll.dtype == dtype
    w = np.ones(3) if weight is None else np.array(weight)
    counted = target != ignore_index
    logp, y = _log_softmax(logits)[counted], target[counted]
    picked = w[y] * logp[np.arange(len(y)), y]
    expected = ((1 - smoothing) * -picked - smoothing / 3 * (w * logp).sum(axis=1)).sum()
    np.testing.assert_allclose(loss.item(), expected / w[y].sum(),
                               rtol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_with_an_input_named_twice_returns_its_gradient_twice(create_graph):
    # the inputs were keyed by tensor, so a repeated one left a slot short: IndexError
    x = ag.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    w = ag.tensor(np.array(3.0), requires_grad=True)
    y = (x * x.exp() * w).sum()
    gx, gw, gx2 = ag.grad(y, [x, w, x], create_graph=create_graph)
    expected = (1 + x.data) * np.exp(x.data) * 3.0
    np.testing.assert_allclose(gx.data, expected, rtol=1e-12)
    np.testing.assert_allclose(gx2.data, expected, rtol=1e-12)
    np.testing.assert_allclose(gw.data, (x.data * np.exp(x.data)).sum(), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", [-0.25, 1.5])
def test_binary_cross_entropy_refuses_inputs_that_are_not_probabilities(dtype, bad):
    # logits passed by mistake gave a loss (log clamped at -100 or NaN) without complaint
    p = ag.tensor(np.array([[0.2, bad], [1.0, 0.0]], dtype), requires_grad=True)
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input values must lie in "
                       r"\[0, 1\].*shape \(2, 2\).*with_logits"):
        F.binary_cross_entropy(p, np.ones((2, 2), dtype))
    assert F.binary_cross_entropy(ag.zeros(0), np.ones(0)).shape == ()  # empty: nothing to check


def test_flatten_an_empty_batch_of_empty_rows():
    # reshape(0, -1) is ambiguous for NumPy: Flatten raised on (0, 0, 3)
    x = ag.zeros(0, 0, 3, requires_grad=True)
    y = nn.Flatten()(x)
    assert y.shape == (0, 0)
    y.sum().backward()
    assert x.grad.shape == (0, 0, 3)
    assert nn.Flatten(0, 1)(ag.zeros(2, 0, 3)).shape == (0, 3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", [0.5, 0.25])
def test_norm_of_order_below_one_has_gradient_zero_at_zero_elements(dtype, ord):
    # |x| ** ord has an infinite slope at 0, which times abs's sign(0) = 0 gave NaN there;
    # PyTorch gives 0, as abs itself does at 0
    data = np.array([[0.0, 1.0, -2.0], [0.0, 0.0, 0.0]], dtype)
    x = ag.tensor(data, requires_grad=True)
    x.norm(ord, axis=1).sum().backward()
    total = (np.abs(data[0]) ** ord).sum()
    expected = np.zeros_like(data)
    nonzero = data[0] != 0
    expected[0, nonzero] = (total ** (1 / ord - 1) * np.abs(data[0, nonzero]) ** (ord - 1)
                            * np.sign(data[0, nonzero]))
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_with_tensor_bounds_sends_the_gradient_to_the_bound_that_is_hit(dtype):
    # Clip's rule returned None for lo and hi: bounds that require grad got none, silently
    x = ag.tensor(np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 0.5], dtype), requires_grad=True)
    lo = ag.tensor(np.array([-1.0, -1.0, -1.0, -1.0, -1.0, 1.0], dtype), requires_grad=True)
    hi = ag.tensor(np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0], dtype), requires_grad=True)
    g = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype)
    x.clip(lo, hi).backward(ag.tensor(g))
    # inside [lo, hi] (bounds included) to x, below to lo, above to hi; lo > hi gives hi
    np.testing.assert_array_equal(x.grad.data, [0, 2, 3, 4, 0, 0])
    np.testing.assert_array_equal(lo.grad.data, [1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(hi.grad.data, [0, 0, 0, 0, 5, 6])
    assert lo.grad.dtype == dtype


def test_clip_with_a_broadcast_tensor_bound_sums_its_gradient():
    x = ag.tensor(np.array([[-3.0, 0.0], [4.0, -5.0]]), requires_grad=True)
    lo = ag.tensor(np.array(-1.0), requires_grad=True)
    y = x.clamp(min=lo) * ag.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    gx, glo = ag.grad(y.sum(), [x, lo])
    np.testing.assert_array_equal(gx.data, [[0, 2], [3, 0]])
    assert glo.shape == () and glo.item() == 5.0


@pytest.mark.parametrize("change", ["*=", "[]=", "fill_"])
def test_using_a_view_taken_before_its_base_changed_in_place_raises(change):
    # the view's values change with its base's, but its graph still led to the old base: after
    # y *= 2, (v * v).sum() gave x the gradient of the old v, half the true one, silently
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    v = y[1:]
    if change == "*=":
        y *= 2
    elif change == "[]=":
        y[2] = x[0] * 4
    else:
        y.fill_(x[0])
    with pytest.raises(RuntimeError, match=r"Mul: an input of shape \(2,\) views a tensor "
                       r"changed in place .* after the view was taken"):
        v * v


def test_views_apart_from_an_in_place_change_or_taken_after_it_keep_their_gradient():
    x = ag.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 1
    untouched = y[:2]  # the change below writes elsewhere
    consumed = y[2:].sum()  # used before the change
    y[2:] = x[2:] * 5
    loss = (untouched * untouched).sum() + consumed + y[2:].sum()  # y[2:]: a fresh view
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0, 6.0, 6.0])
    with ag.no_grad():  # changes outside the graph do not make a view stale
        y *= 3
    assert (untouched * 2).requires_grad


def test_norm_of_order_below_one_second_derivatives_ignore_zero_elements():
    # the first derivative's 0 * inf at a zero element came back as NaN in the second, for
    # every element of its row; a zero element adds nothing, so the row without it agrees
    def hessian_vector(data, v):
        x = ag.tensor(np.array(data), requires_grad=True)
        (g,) = ag.grad(x.norm(0.5), x, create_graph=True)
        return ag.grad((g * ag.tensor(np.array(v))).sum(), x)[0].data

    with_zero = hessian_vector([0.0, 1.0, -2.0], [0.3, -0.7, 0.4])
    without = hessian_vector([1.0, -2.0], [-0.7, 0.4])
    np.testing.assert_allclose(with_zero, [0.0, *without], rtol=1e-12)


@pytest.mark.parametrize("call", [
    lambda x, w: F.cross_entropy(x, np.array([0, 2]), weight=w),
    lambda x, w: F.nll_loss(x, np.array([0, 2]), weight=w),
    lambda x, w: F.binary_cross_entropy(x.sigmoid(), np.ones((2, 3)), weight=w),
    lambda x, w: F.binary_cross_entropy_with_logits(x, np.ones((2, 3)), weight=w),
    lambda x, w: F.binary_cross_entropy_with_logits(x, np.ones((2, 3)), pos_weight=w),
], ids=["cross_entropy", "nll_loss", "binary_cross_entropy", "bce_with_logits",
        "bce_with_logits pos_weight"])
def test_a_loss_weight_that_requires_grad_is_refused(call):
    # the weights are used as constants: one that requires grad silently got no gradient,
    # where PyTorch raises that the loss is not differentiable with respect to it
    x = ag.tensor(np.zeros((2, 3)), requires_grad=True)
    w = ag.tensor(np.array([0.5, 1.0, 2.0]), requires_grad=True)
    with pytest.raises(TypeError, match=r"weight .*requires grad"):
        call(x, w)
    with ag.no_grad():
        call(x, w)  # values only: nothing to refuse
    assert call(x, w.detach()).requires_grad


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", [None, [0.5, 1.0, 2.0, 4.0]])
def test_nll_loss_takes_one_unbatched_sample(dtype, reduction, weight):
    # PyTorch takes log-probabilities of shape (C,) with a 0-d target, as cross_entropy did
    # here; nll_loss raised that it expected (N, C)
    log_probs = np.log(np.array([0.1, 0.2, 0.3, 0.4], dtype))
    x = ag.tensor(log_probs, requires_grad=True)
    loss = F.nll_loss(x, np.array(2), weight=weight, reduction=reduction)
    loss.backward()
    w = 1.0 if weight is None or reduction == "mean" else weight[2]
    assert loss.shape == () and loss.dtype == dtype
    np.testing.assert_allclose(loss.item(), -w * log_probs[2], rtol=1e-6)
    np.testing.assert_allclose(x.grad.data, [0, 0, -w, 0], rtol=1e-6)
    assert np.isnan(F.nll_loss(x, np.array(2), ignore_index=2).item())  # nothing counted


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("offset", [0.0, 1e3, -3e4])
@pytest.mark.parametrize("axis, ddof", [(None, 0), (0, 1), (1, 0)])
def test_var_and_std_of_values_far_from_zero_keep_their_digits(dtype, offset, axis, ddof):
    # the mean, rounded to the inputs' dtype, is off by up to half an ulp of the offset, and
    # that error came back squared: float32 values 3e4 + N(0, 1) gave a variance 1e-4 off
    # (800 ulps), where PyTorch's is within one. The deviations from a rounded mean are exact,
    # and their own mean corrects the rest
    data = (offset + np.random.default_rng(0).standard_normal((40, 30))).astype(dtype)
    x = ag.tensor(data, requires_grad=True)
    exact = data.astype(np.longdouble)  # 80-bit on x86: a reference for float64 too
    var = x.var(axis=axis, ddof=ddof)
    expected = exact.var(axis=axis, ddof=ddof)
    ulp = np.finfo(dtype).eps
    assert var.dtype == dtype
    assert np.max(np.abs(var.data / expected - 1)) < 8 * ulp
    np.testing.assert_allclose(x.std(axis=axis, ddof=ddof).data, np.sqrt(expected),
                               rtol=8 * ulp, atol=0)
    var.sum().backward()
    keep = np.mean(exact, axis=axis, keepdims=True)
    gradient = 2 * (exact - keep) / (exact.size // np.size(expected) - ddof)
    np.testing.assert_allclose(x.grad.data, gradient, rtol=0, atol=16 * ulp * np.abs(
        gradient).max())


def test_var_in_a_compiled_step_shifts_by_the_current_mean():
    # the shift is a NumPy call on the data: on a parameter it must be recorded, or a replay
    # shifts by the capture's mean and loses the digits again once the values have moved
    p = nn.Parameter(np.random.default_rng(1).standard_normal(50).astype(np.float32))
    step = ag.compile(lambda: p.var())
    step()
    with ag.no_grad():
        p += 3e4
    assert step().item() == p.var().item()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", [2, 1, 3, 0.5])
def test_norm_of_a_nan_is_nan(dtype, ord):
    # the masks for the slope at 0 took 'total > 0', false for NaN, so a NaN element gave a
    # norm of 0 (ord < 1: the NaN dropped, the norm of the rest), silently; PyTorch gives NaN
    x = ag.tensor(np.array([[1.0, np.nan, -2.0], [0.0, 3.0, -4.0]], dtype), requires_grad=True)
    rows = x.norm(ord, axis=1)
    assert np.isnan(rows.data[0]) and np.isnan(x.norm(ord).item())
    np.testing.assert_allclose(rows.data[1], (3.0 ** ord + 4.0 ** ord) ** (1 / ord), rtol=1e-6)
    rows[1].backward()  # the row without NaN keeps its gradient
    expected = np.array([0.0, 3.0 ** (ord - 1), -(4.0 ** (ord - 1))]) \
        * (3.0 ** ord + 4.0 ** ord) ** (1 / ord - 1)
    np.testing.assert_allclose(x.grad.data[1], expected, rtol=1e-6)


@pytest.mark.parametrize("call, expected", [
    (lambda t: np.clip(t, a_min=-0.5, a_max=0.5), lambda a: np.clip(a, -0.5, 0.5)),
    (lambda t: np.clip(t, min=-0.5), lambda a: np.clip(a, -0.5, None)),
    (lambda t: np.transpose(t, axes=(1, 0)), lambda a: a.T),
    (lambda t: np.reshape(t, shape=(4, 3)), lambda a: a.reshape(4, 3)),
    (lambda t: np.concatenate([t, t[:1]], axis=None), lambda a: np.r_[a.ravel(), a[0]]),
    (lambda t: ag.concatenate([t, t[:1]], axis=None), lambda a: np.r_[a.ravel(), a[0]]),
], ids=["clip a_min/a_max", "clip min", "transpose axes", "reshape shape", "concatenate None",
        "ag.concatenate None"])
def test_numpy_functions_take_numpy_keywords(call, expected):
    # the engine's methods stood in for NumPy's functions with their own argument names, so
    # NumPy's keywords (a_min, axes, shape) were TypeErrors, and axis=None (join flattened)
    # failed inside the op ("tuple indices must be integers")
    data = np.random.default_rng(0).standard_normal((3, 4))
    x = ag.tensor(data, requires_grad=True)
    out = call(x)
    assert isinstance(out, ag.Tensor) and out.requires_grad
    np.testing.assert_array_equal(out.data, expected(data))
    assert ag.gradcheck(call, (x,))


@pytest.mark.parametrize("make", [
    lambda x: x[:, [0, 2]], lambda x: x[..., [1]], lambda x: x[:, [0, 1], :],
    lambda x: x.transpose(2, 0, 1).reshape(-1), lambda x: x.swapaxes(0, 1).reshape(3, 8),
], ids=["x[:, [0, 2]]", "x[..., [1]]", "x[:, [0, 1], :]", "transposed reshape(-1)",
        "swapped reshape"])
def test_in_place_on_a_copy_numpy_returns_as_a_view_of_its_own_buffer(make):
    # advanced indexing and a reshape that must copy give a copy, which NumPy returns as a
    # view of its private buffer (base set): in-place ops refused it as 'a view', where
    # PyTorch, whose results there are copies too, computes
    x = ag.tensor(np.random.default_rng(0).standard_normal((2, 3, 4)), requires_grad=True)
    w = ag.tensor(np.array(1.5), requires_grad=True)
    before = x.data.copy()
    y = make(x)
    expected = make(x.data) * 1.5
    y *= w
    np.testing.assert_array_equal(y.data, expected)
    np.testing.assert_array_equal(x.data, before)  # a copy: x is left alone
    gx, gw = ag.grad(y.sum(), [x, w])
    (uses,) = ag.grad(make(x).sum(), [x])  # how often y holds each element of x
    np.testing.assert_array_equal(gx.data, 1.5 * uses.data)
    np.testing.assert_allclose(gw.item(), make(x.data).sum())


@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_and_argmin_of_a_0d_tensor_take_axis_0_and_minus_1(axis, keepdims):
    # as NumPy's and PyTorch's (and our max/min/sum) do; the check for an axis out of range
    # refused them
    x = ag.tensor(np.array(2.5))
    for find in (x.argmax, x.argmin):
        out = find(axis=axis, keepdims=keepdims)
        assert out.shape == () and out.item() == 0
    with pytest.raises(np.exceptions.AxisError, match="argmax: axis 1 is out of range"):
        x.argmax(axis=1)
