"""Tensor creation, dtype rules, attributes, operators, and the errors bad input gets."""

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor


def test_python_floats_become_float32_ints_int64_and_arrays_keep_their_dtype():
    assert ag.tensor([1.0, 2.0]).dtype == np.float32
    assert ag.tensor(3.5).dtype == np.float32
    assert ag.tensor([1, 2]).dtype == np.int64
    assert ag.tensor(np.zeros(2, np.float64)).dtype == np.float64
    assert ag.tensor(np.zeros(2, np.int32)).dtype == np.int32
    assert Tensor([1.0], dtype=np.float64).dtype == np.float64


def test_tensor_copies_numpy_data_but_the_constructor_wraps_it():
    array = np.ones(3)
    copied, wrapped = ag.tensor(array), Tensor(array)
    array[0] = 5
    assert copied.data[0] == 1 and wrapped.data[0] == 5


@pytest.mark.parametrize("data", [[1, 2], np.array([True, False])])
def test_requires_grad_on_integer_or_bool_data_is_a_type_error(data):
    with pytest.raises(TypeError, match="only floating-point tensors can require grad; got "
                                        "dtype (int64|bool)"):
        ag.tensor(data, requires_grad=True)
    with pytest.raises(TypeError):
        ag.tensor(data).requires_grad_()


@pytest.mark.parametrize(("factory", "args"), [
    (ag.zeros, (2, 3)), (ag.ones, ((2, 3),)), (ag.rand, (2, 3)), (ag.randn, (2, 3)),
])
def test_creation_functions_take_shapes_dtype_and_requires_grad(factory, args):
    t = factory(*args, requires_grad=True)
    assert t.shape == (2, 3) and t.dtype == np.float32 and t.requires_grad and t.is_leaf
    assert factory(*args, dtype=np.float64).dtype == np.float64


def test_other_creation_functions():
    assert ag.full((2, 2), 7.0).data.tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert ag.full((2,), 7.0).dtype == np.float32
    assert np.array_equal(ag.eye(3).data, np.eye(3))
    assert ag.arange(5).dtype == np.int64 and ag.arange(0.0, 1.0, 0.25).dtype == np.float32
    x = ag.randn(2, 3, dtype=np.float64)
    assert ag.zeros_like(x).dtype == np.float64 and ag.ones_like(x).data.sum() == 6


def test_manual_seed_repeats_random_draws():
    ag.manual_seed(3)
    first = ag.randn(4).data.copy(), ag.rand(4).data.copy()
    ag.manual_seed(3)
    assert np.array_equal(ag.randn(4).data, first[0]) and np.array_equal(ag.rand(4).data, first[1])


def test_attributes_and_conversions():
    t = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert t.ndim == 2 and t.numel() == 4 and len(t) == 2
    assert np.asarray(t) is t.data and t.numpy() is t.data
    assert t.T.data.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert t.sum().item() == 10.0 and t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert t.grad is None and t.grad_fn is None
    y = t * 2
    assert not y.is_leaf and y.grad_fn.name == "Mul"
    assert "grad_fn=<Mul>" in repr(y) and "dtype=float32" in repr(y)
    assert "requires_grad=True" in repr(t)
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.data is y.data


def test_operators_broadcast_in_both_orders_with_numpy_type_promotion():
    x = ag.tensor([1.0, 2.0])
    assert (x + 1).dtype == np.float32 and (1 + x).data.tolist() == [2.0, 3.0]
    assert (2 - x).data.tolist() == [1.0, 0.0] and (2 / x).data.tolist() == [2.0, 1.0]
    assert (2 ** x).data.tolist() == [2.0, 4.0] and (-x).data.tolist() == [-1.0, -2.0]
    assert abs(ag.tensor([-1.5])).data.tolist() == [1.5]
    assert (np.ones(2) * x).dtype == np.float64  # float64 array * float32 tensor
    assert isinstance(np.ones(2) * x, Tensor)
    assert (x * ag.tensor([2])).dtype == np.float64  # float32 with int64, as NumPy does
    assert (np.ones((2, 2)) @ x).shape == (2,)


def test_comparisons_give_bool_tensors_outside_the_graph():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (x < 2, x <= 2, x > 2, x >= 2, x == 2, x != 2):
        assert result.dtype == np.bool_ and not result.requires_grad
    assert (x > 1.5).tolist() == [False, True, True]


def test_integer_results_of_tensors_that_require_grad_do_not_require_grad():
    x = ag.tensor([1.5, 2.5], requires_grad=True)
    assert not (x.astype(np.int64)).requires_grad


def test_shape_mismatch_names_the_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"Add: .*\(operands: Tensor\(2, 3\) float32, "
                                         r"Tensor\(4,\) float32\)"):
        ag.ones(2, 3) + ag.ones(4)
    with pytest.raises(ValueError, match=r"MatMul: .*Tensor\(2, 3\) float32, Tensor\(2, 3\)"):
        ag.ones(2, 3) @ ag.ones(2, 3)
    with pytest.raises(ValueError, match=r"MatMul: operands must have at least one dimension"):
        ag.ones(2) @ ag.tensor(2.0)
    with pytest.raises(ValueError, match=r"Reshape: .*Tensor\(2, 3\)"):
        ag.ones(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=r"sum: axis 2 is out of range for a tensor with 2 dims"):
        ag.ones(2, 3).sum(axis=2)


def test_in_place_on_a_tensor_that_requires_grad_raises_outside_no_grad():
    w = ag.ones(3, requires_grad=True)
    for update in (lambda: w.__iadd__(1), lambda: w.__isub__(1), lambda: w.__imul__(2),
                   lambda: w.__itruediv__(2), lambda: w.__setitem__(0, 5.0)):
        with pytest.raises(RuntimeError, match=r"in-place .* shape \(3,\) that requires grad"):
            update()
    with ag.no_grad():
        w -= 0.5
        w *= 2
        w[0] = 7.0
    assert w.data.tolist() == [7.0, 1.0, 1.0]


def test_elu_rejects_a_negative_alpha():
    with pytest.raises(ValueError, match="ELU: alpha must be >= 0"):
        ag.ones(2).elu(-1.0)


def test_float32_stays_float32_through_forward_and_backward():
    x = ag.randn(4, 3, requires_grad=True)
    w = ag.randn(3, 2, requires_grad=True)
    loss = (x @ w).tanh().sigmoid().relu().elu().leaky_relu().log_softmax().mean()
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


@pytest.mark.filterwarnings("error")
def test_stable_formulas_give_no_nan_or_warnings_at_extreme_inputs():
    x = ag.tensor([-1e4, 0.0, 1e4], requires_grad=True)
    outputs = [x.softmax(), x.log_softmax(), x.logsumexp(), x.sigmoid(), x.tanh(), x.elu()]
    for out in outputs:
        assert np.all(np.isfinite(out.data)), out
        out.sum().backward()
        assert np.all(np.isfinite(x.grad.data))
        x.grad = None
    assert x.logsumexp().item() == pytest.approx(1e4)
    assert ag.tensor([-np.inf, 0.0]).logsumexp().item() == 0.0


def test_manual_seed_stream_is_independent_of_numpy_with_the_same_seed():
    ag.manual_seed(0)
    ours = ag.randn(1000, dtype=np.float64).data
    numpy = np.random.default_rng(0).standard_normal(1000)
    assert abs(np.corrcoef(ours, numpy)[0, 1]) < 0.1
