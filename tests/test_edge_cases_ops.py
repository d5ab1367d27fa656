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


# ---- pow at base 0 and at negative bases ------------------------------------------------
DTYPES = [np.float32, np.float64]


def grads(fn, *values, dtype=np.float64):
    tensors = [ag.tensor(np.asarray(v, dtype), requires_grad=True) for v in values]
    fn(*tensors).sum().backward()
    return [t.grad.data for t in tensors]


@pytest.mark.parametrize("dtype", DTYPES)
def test_d_x_to_the_0_dx_at_0_is_0(dtype):
    assert grads(lambda x: x ** 0, [0.0, 2.0], dtype=dtype)[0].tolist() == [0, 0]
    assert grads(lambda x: x ** ag.tensor(np.zeros(2, dtype)), [0.0, 2.0],
                 dtype=dtype)[0].tolist() == [0, 0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("y", [0.0, 0.5, 2.0])
def test_d_x_to_the_y_dy_at_x_0_is_0_for_y_at_least_0(dtype, y):
    """PyTorch's limits: 0 ** y is flat in y from the right."""
    dx, dy = grads(lambda x, e: x ** e, 0.0, y, dtype=dtype)
    assert dy == 0
    assert dx == {0.0: 0.0, 0.5: np.inf, 2.0: 0.0}[y]


@pytest.mark.parametrize("dtype", DTYPES)
def test_x_squared_at_0_has_gradient_0_and_second_derivative_2(dtype):
    x = ag.tensor(np.zeros(3, dtype), requires_grad=True)
    (first,) = ag.grad((x ** 2).sum(), [x], create_graph=True)
    (second,) = ag.grad(first.sum(), [x])
    assert first.data.tolist() == [0, 0, 0]
    assert second.data.tolist() == [2, 2, 2]


@pytest.mark.parametrize("dtype", DTYPES)
def test_negative_bases_with_integer_exponents(dtype):
    x = np.array([-2.0, -0.5, 3.0])
    assert grads(lambda t: t ** 3, x, dtype=dtype)[0].tolist() == (3 * x ** 2).tolist()
    assert grads(lambda t: t ** ag.tensor(np.asarray(3.0, dtype)), x,
                 dtype=dtype)[0].tolist() == (3 * x ** 2).tolist()
    assert ag.gradgradcheck(lambda t: t ** 3, [ag.tensor(x, requires_grad=True)])
    dx, dy = grads(lambda t, e: t ** e, [-2.0], [3.0], dtype=dtype)
    assert dx.tolist() == [12.0]  # the exponent's gradient (log of -2) does not leak into x's
    assert np.isnan(dy).all()  # as PyTorch: d(x**y)/dy = x**y log x has no real value


# ---- std and var ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("values", [[2.0, 2.0, 2.0], [5.0], 3.0])
def test_std_at_zero_spread_has_gradient_0(dtype, values):
    (dx,) = grads(lambda t: t.std(), values, dtype=dtype)
    np.testing.assert_array_equal(dx, np.zeros_like(dx))
    (dx,) = grads(lambda t: t.std(axis=0, keepdims=True), np.ones((2, 3)), dtype=dtype)
    np.testing.assert_array_equal(dx, np.zeros_like(dx))


def test_std_second_order_stays_right_next_to_zero_spread():
    x = ag.tensor(np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]]), requires_grad=True)
    (first,) = ag.grad(x.std(axis=1).sum(), [x], create_graph=True)
    (second,) = ag.grad((first * ag.tensor(np.arange(6.0).reshape(2, 3))).sum(), [x])
    assert np.isfinite(second.data).all()
    assert ag.gradgradcheck(lambda t: t.std(axis=1), [ag.tensor([[1.0, 2.0, 4.0]],
                                                                requires_grad=True)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("values", "ddof"), [([1.0, 2.0], 2), ([1.0, 2.0], 3), ([1.0], 5),
                                              ([2.0, 2.0], 2), (np.zeros(0), 0)])
def test_var_and_std_with_ddof_at_least_n_follow_numpy(dtype, values, ddof):
    x = ag.tensor(np.asarray(values, dtype))
    with np.errstate(divide="ignore", invalid="ignore"):
        for name in ("var", "std"):
            with pytest.warns(RuntimeWarning):
                expected = getattr(np, name)(x.data, ddof=ddof)
            with pytest.warns(RuntimeWarning, match=f"{name}: ddof={ddof} leaves no degrees"):
                value = getattr(x, name)(ddof=ddof)
            np.testing.assert_array_equal(value.data, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ddof", [2, 3])
def test_var_gradient_with_ddof_at_least_n_is_infinite_or_nan_never_finite(dtype, ddof):
    # the divisor max(n - ddof, 0) is 0: d var / dx_i = 2 (x_i - mean) / 0, -inf or inf, NaN
    # where x_i is the mean (PyTorch's along an axis); the mean's share of it, 0, came out as
    # inf * 0 = NaN for every element
    x = ag.tensor(np.array([[1.0, 2.0], [3.0, 3.0]], dtype), requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"), \
            pytest.warns(RuntimeWarning, match=f"var: ddof={ddof} leaves no degrees of freedom"):
        y = x.var(axis=1, ddof=ddof)
        y.sum().backward()
    np.testing.assert_array_equal(y.data, [np.inf, np.nan])
    np.testing.assert_array_equal(x.grad.data, [[-np.inf, np.inf], [np.nan, np.nan]])
    assert x.grad.dtype == dtype
    z = ag.tensor(np.array([1.0, 2.0, 6.0], dtype), requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"), pytest.warns(RuntimeWarning):
        z.var(ddof=ddof + 1).backward()
    np.testing.assert_array_equal(z.grad.data, [-np.inf, -np.inf, np.inf])


@pytest.mark.parametrize("dtype", DTYPES)
def test_std_gradient_with_ddof_at_least_n_is_nan_as_pytorch(dtype):
    for values, ddof in (([1.0, 2.0], 2), ([3.0], 1)):
        x = ag.tensor(np.array(values, dtype), requires_grad=True)
        with np.errstate(divide="ignore", invalid="ignore"), pytest.warns(RuntimeWarning):
            x.std(ddof=ddof).backward()
        assert np.isnan(x.grad.data).all()


# ---- BCE with logits, and the divisor's gradient ------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_at_infinite_logits_is_inf_not_nan(dtype):
    logits = ag.tensor(np.array([np.inf, np.inf, -np.inf, -np.inf], dtype), requires_grad=True)
    target = ag.tensor(np.array([0.0, 0.5, 1.0, 0.5], dtype))
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    assert loss.data.tolist() == [np.inf] * 4
    loss.sum().backward()
    assert logits.grad.data.tolist() == [1.0, 0.5, -1.0, -0.5]


@pytest.mark.parametrize("dtype", DTYPES)
def test_d_a_over_b_db_does_not_underflow_for_huge_b(dtype):
    big = np.sqrt(np.finfo(dtype).max) * 4
    a, b = 2 * big, big
    da, db = grads(lambda x, y: x / y, a, b, dtype=dtype)
    assert da == pytest.approx(1 / b, rel=1e-6)
    assert db == pytest.approx(-a / b / b, rel=1e-6) and db != 0


# ---- NumPy semantics --------------------------------------------------------------------
def test_integer_and_array_separated_by_a_slice_index_as_numpy():
    data = np.arange(60.0).reshape(3, 4, 5)
    index = (np.array([0, 2, 0]), slice(None), 2)
    x = ag.tensor(data, requires_grad=True)
    y = x[index]
    assert y.shape == data[index].shape == (3, 4)
    u = np.arange(12.0).reshape(3, 4)
    y.backward(ag.tensor(u))
    expected = np.zeros_like(data)
    np.add.at(expected, index, u)
    np.testing.assert_array_equal(x.grad.data, expected)


def test_axis_errors_and_user_exceptions_keep_their_type():
    with pytest.raises(np.exceptions.AxisError, match=r"^Transpose: .*Tensor\(2,\)"):
        ag.ones(2).transpose(3)

    class Mistake(ValueError):
        pass

    class Raises(ag.Function):
        @staticmethod
        def forward(ctx, a):
            raise Mistake("wrong input")

    with pytest.raises(Mistake, match=r"^Raises: wrong input \(operands: Tensor\(2,\)"):
        Raises.apply(ag.ones(2))


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var", "std", "logsumexp"])
@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_of_a_0d_tensor_over_axis_0_or_minus_1(name, axis, keepdims):
    """As NumPy's sum/max/min (and PyTorch for all): the one element, shape ()."""
    x = ag.tensor(np.float64(3.0), requires_grad=True)
    out = getattr(x, name)(axis=axis, keepdims=keepdims)
    expected = {"var": 0.0, "std": 0.0}.get(name, 3.0)
    assert out.shape == () and out.item() == expected
    out.backward()
    assert x.grad.item() == {"var": 0.0, "std": 0.0}.get(name, 1.0)


@pytest.mark.parametrize("axis", [1, (0,), -2])
def test_reductions_of_a_0d_tensor_over_other_axes_raise_axis_error(axis):
    with pytest.raises(np.exceptions.AxisError, match=r"^sum: axis"):
        ag.tensor(3.0).sum(axis=axis)


def test_empty_list_and_list_of_tensors_as_index():
    t = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert t[[]].shape == (0,)
    picked = t[[ag.tensor(0), ag.tensor(2)]]
    assert picked.data.tolist() == [1.0, 3.0]
    picked.sum().backward()
    assert t.grad.data.tolist() == [1.0, 0.0, 1.0]


def test_broadcast_to_an_int_shape():
    out = ag.tensor(2.0).broadcast_to(3)
    assert out.shape == (3,) and out.data.tolist() == [2.0, 2.0, 2.0]


# ---- errors where the mistake is made --------------------------------------------------
@pytest.mark.parametrize("axis", [1.5, (0, 1.5), ("a",), "0", (0, None)])
def test_axis_that_is_not_an_integer_raises_type_error(axis):
    with pytest.raises(TypeError, match=r"^sum: axis must be an int or a tuple of ints; got"):
        ag.ones(2, 3).sum(axis=axis)


def test_duplicate_axes_raise_value_error():
    with pytest.raises(ValueError, match=r"^mean: repeated axis in \(0, -2\)"):
        ag.ones(2, 3).mean(axis=(0, -2))


def test_concatenate_errors_name_the_op_and_the_shapes():
    with pytest.raises(np.exceptions.AxisError, match=r"^Concatenate: axis 5 .*Tensor\(2,\)"):
        ag.concatenate([ag.ones(2), ag.ones(2)], axis=5)
    with pytest.raises(ValueError, match=r"^Concatenate: zero-dimensional .*Tensor\(\)"):
        ag.concatenate([ag.tensor(1.0), ag.tensor(2.0)])
    with pytest.raises(TypeError, match=r"^concatenate: item 1 is None"):
        ag.concatenate([ag.ones(2), None])
    with pytest.raises(TypeError, match=r"^stack: item 0 is None"):
        ag.stack([None, ag.ones(2)])


def test_squeeze_expand_dims_and_stack_errors_name_the_op_and_the_shape():
    with pytest.raises(ValueError, match=r"^squeeze: axis 0 has size 2, not 1 \(shape \(2, 3\)\)"):
        ag.ones(2, 3).squeeze(0)
    with pytest.raises(np.exceptions.AxisError, match=r"^squeeze: axis 5 .*2 dims"):
        ag.ones(2, 3).squeeze(5)
    with pytest.raises(np.exceptions.AxisError, match=r"^expand_dims: axis 5 .*3 dims"):
        ag.ones(2, 3).expand_dims(5)
    with pytest.raises(ValueError, match=r"^stack: all tensors must have one shape; got "
                                         r"\[\(2, 3\), \(2, 4\)\]"):
        ag.stack([ag.ones(2, 3), ag.ones(2, 4)])
    with pytest.raises(np.exceptions.AxisError, match=r"^stack: axis 4 .*3 dims"):
        ag.stack([ag.ones(2, 3), ag.ones(2, 3)], axis=4)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_softmax_axis_and_dtype_errors_name_the_function(name):
    with pytest.raises(np.exceptions.AxisError, match=rf"^{name}: axis 3 "):
        getattr(ag.ones(2, 3), name)(axis=3)
    for data in ([1, 2], [True, False]):
        with pytest.raises(TypeError, match=rf"^{name}: needs a floating-point tensor; got dtype"):
            getattr(ag.tensor(data), name)()


@pytest.mark.parametrize("data", ["abc", None, {"a": 1}, {1, 2}, np.array([1, "a"], dtype=object),
                                  [1.0, "a"], np.array(["x"])])
def test_tensor_of_non_numeric_data_raises_type_error(data):
    with pytest.raises(TypeError, match=r"^tensor: data must be numeric .*; got .*dtype"):
        ag.tensor(data)
    with pytest.raises(TypeError, match=r"^tensor: data must be numeric"):
        ag.Tensor(data)


@pytest.mark.parametrize("factory", [ag.rand, ag.randn])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool])
def test_rand_and_randn_with_an_integer_dtype_raise_type_error(factory, dtype):
    with pytest.raises(TypeError, match=rf"^{factory.__name__}: dtype must be floating"):
        factory(3, dtype=dtype)


def test_in_place_operator_errors_name_the_operator_and_both_shapes():
    t = ag.ones(2, 3)
    with pytest.raises(ValueError, match=r"^in-place \+=: .*\(tensor of shape \(2, 3\) float32, "
                                         r"value of shape \(4,\) float32\)"):
        t += ag.ones(4)
    with pytest.raises(ValueError, match=r"^in-place \*=: .*\(2, 3\) .* \(3, 3\) float64"):
        t *= np.ones((3, 3))
    with pytest.raises(ValueError, match=r"^in-place \[\]=: .*\(2, 3\) .* \(2,\) float32"):
        t[0] = ag.ones(2)
    i = ag.tensor([1, 2])
    with pytest.raises(TypeError, match=r"^in-place -=: .*\(2,\) int64, value of shape \(\) "):
        i -= 1.5


def test_gradcheck_refuses_inputs_that_prove_nothing():
    with pytest.raises(ValueError, match=r"^gradcheck: no input requires grad"):
        ag.gradcheck(lambda a: a * 2, [ag.tensor([1.0, 2.0])])
    with pytest.raises(ValueError, match=r"^gradgradcheck: no input requires grad"):
        ag.gradgradcheck(lambda a: a * 2, [ag.tensor([1.0, 2.0])])
    for eps in (0, -1e-6):
        with pytest.raises(ValueError, match=r"^gradcheck: eps must be positive"):
            ag.gradcheck(lambda a: a * 2, [ag.tensor([1.0], requires_grad=True)], eps=eps)


def test_no_grad_and_enable_grad_work_as_bare_decorators():
    @ag.no_grad
    def doubled(x):
        return x * 2

    @ag.enable_grad
    def tripled(x):
        return x * 3

    x = ag.ones(2, requires_grad=True)
    assert not doubled(x).requires_grad and doubled.__name__ == "doubled"
    with ag.no_grad():
        assert tripled(x).requires_grad
    assert ag.is_grad_enabled()


def test_float_int_and_format_of_one_element_tensors():
    assert float(ag.tensor([1.5])) == 1.5 and type(float(ag.tensor(2))) is float
    assert int(ag.tensor(2.7)) == 2 and int(ag.tensor([[3]])) == 3
    assert format(ag.tensor(1.23456), ".3f") == "1.235"
    assert f"{ag.tensor([2.5], requires_grad=True):.1f}" == "2.5"
    assert format(ag.tensor([1.0, 2.0])) == str(ag.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"^float: only a one-element tensor converts .* shape "
                                        r"\(2,\)"):
        float(ag.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"^format: only a one-element tensor"):
        format(ag.tensor([1.0, 2.0]), ".3f")


@pytest.mark.parametrize("dtype", DTYPES)
def test_pow_at_base_0_takes_the_limits_without_warnings(dtype):
    """Where the formula meets 0 * inf the rule puts PyTorch's limit, so NumPy's warnings about
    those elements are noise; a truly infinite derivative (x ** 0.5 at 0) still warns."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for y in (0.0, 2.0):
            dx, dy = grads(lambda x, e: x ** e, 0.0, y, dtype=dtype)
            assert dx == 0 and dy == 0
