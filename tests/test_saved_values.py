"""What an op keeps for backward is what the gradients of its inputs that require grad read,
as in PyTorch: changing any other value in place afterwards is no error, changing a kept one
raises naming the op. Second derivatives still get what they need."""

import numpy as np
import pytest

import autograd as ag
import nn
from nn import functional as F

DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_buffer_filled_row_by_row_from_scaled_earlier_rows(dtype):
    # ema[t - 1] * 0.9 kept the row it scales, which only a gradient of 0.9 would read, so
    # writing the next row made backward raise that a saved array was modified
    x = ag.tensor(np.arange(10.0, dtype=dtype).reshape(5, 2), requires_grad=True)
    ema = ag.zeros((5, 2), dtype=dtype)
    ema[0] = x[0]
    for t in range(1, 5):
        ema[t] = ema[t - 1] * 0.9 + x[t] * 0.1
    ema.sum().backward()
    expected = [4.0951, 0.3439, 0.271, 0.19, 0.1]  # PyTorch's
    np.testing.assert_allclose(x.grad.data, np.stack([expected, expected], 1), rtol=1e-6)
    assert x.grad.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_same_buffer_scaled_by_a_weight_that_requires_grad_raises(dtype):
    # the weight's gradient reads the row, which the next assignment overwrites (PyTorch raises)
    x = ag.tensor(np.arange(10.0, dtype=dtype).reshape(5, 2), requires_grad=True)
    w = ag.tensor(np.array(0.9, dtype), requires_grad=True)
    ema = ag.zeros((5, 2), dtype=dtype)
    ema[0] = x[0]
    for t in range(1, 5):
        ema[t] = ema[t - 1] * w + x[t] * 0.1
    with pytest.raises(RuntimeError, match="Mul: an array of shape"):
        ema.sum().backward()


def _positive(shape, dtype, seed):
    return np.random.default_rng(seed).uniform(0.5, 2.0, shape).astype(dtype)


# op, shapes, and for each input that requires grad the values its gradient reads (what PyTorch
# keeps: torch 2.13 raises and computes in the same cases, except where said)
BINARY = {
    "mul": (lambda a, b: a * b, ((2, 3), (2, 3)), {"a": "b", "b": "a"}),
    "div": (lambda a, b: a / b, ((2, 3), (2, 3)), {"a": "b", "b": "ab"}),
    "matmul": (lambda a, b: a @ b, ((2, 3), (3, 4)), {"a": "b", "b": "a"}),
    "matmul_vec_mat": (lambda a, b: a @ b, ((3,), (3, 4)), {"a": "b", "b": "a"}),
    "matmul_mat_vec": (lambda a, b: a @ b, ((2, 3), (3,)), {"a": "b", "b": "a"}),
    "matmul_vec_vec": (lambda a, b: a @ b, ((3,), (3,)), {"a": "b", "b": "a"}),
    "matmul_batched_vec": (lambda a, b: a @ b, ((5, 2, 3), (3,)), {"a": "b", "b": "a"}),
    # (PyTorch's matmul copies b here and keeps the copy: it computes where b changed)
    "matmul_batched": (lambda a, b: a @ b, ((2, 3), (5, 3, 4)), {"a": "b", "b": "a"}),
    # a ** b keeps its output for the exponent's gradient only (PyTorch keeps it also when
    # only the base requires grad, and raises then; nothing reads it, so we compute)
    "pow": (lambda a, b: a ** b, ((2, 3), (2, 3)), {"a": "ab", "b": "abo"}),
}
CASES = [(op, wants, changed) for op in BINARY for wants in ("a", "b", "ab")
         for changed in "abo"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op, wants, changed", CASES)
def test_changing_a_value_in_place_after_the_forward(op, wants, changed, dtype):
    fn, shapes, reads = BINARY[op]
    leaves = [ag.tensor(_positive(s, dtype, k), requires_grad=name in wants)
              for k, (s, name) in enumerate(zip(shapes, "ab"))]
    expected = ag.grad(fn(*leaves).sum(), [t for t in leaves if t.requires_grad])
    a, b = [t.clone() for t in leaves]  # non-leaves, so that they can change in place
    out = fn(a, b)
    with ag.no_grad():
        {"a": a, "b": b, "o": out}[changed].__iadd__(1)
    if any(changed in reads[name] for name in wants):
        with pytest.raises(RuntimeError, match=rf"{out.grad_fn.name}: an array of shape"):
            out.sum().backward()
        return
    grads = ag.grad(out.sum(), [t for t in leaves if t.requires_grad])
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got.data, want.data, rtol=1e-6)
        assert got.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_constant_exponent_keeps_only_the_base(dtype):
    # x ** 2 kept its output too, which only an exponent's gradient reads
    x = ag.tensor(np.array([1.0, 2.0], dtype), requires_grad=True)
    y = x.clone() ** 2
    with ag.no_grad():
        y += 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])
    assert x.grad.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_linear_layer_on_data_does_not_keep_its_weight(dtype):
    # the weight's gradient reads the input only; PyTorch computes after the weight changes
    layer = nn.Linear(3, 4, dtype=dtype)
    x = ag.tensor(_positive((2, 3), dtype, 0))
    expected = ag.grad(layer(x).sum(), [layer.weight])[0].data
    y = layer(x)
    with ag.no_grad():
        layer.weight += 1
    y.sum().backward()
    np.testing.assert_allclose(layer.weight.grad.data, expected, rtol=1e-6)


def test_a_linear_layer_on_an_input_that_requires_grad_keeps_its_weight():
    layer = nn.Linear(3, 4)
    x = ag.tensor(_positive((2, 3), np.float32, 0), requires_grad=True)
    y = layer(x)
    with ag.no_grad():
        layer.weight += 1
    with pytest.raises(RuntimeError, match="Linear: an array of shape"):
        y.sum().backward()


SECOND_ORDER = {**{op: (fn, shapes) for op, (fn, shapes, _) in BINARY.items()},
                "linear": (lambda x, w: F.linear(x, w), ((2, 3), (4, 3))),
                "linear_3d": (lambda x, w: F.linear(x, w), ((5, 2, 3), (4, 3)))}


@pytest.mark.parametrize("wants", ["a", "b"])
@pytest.mark.parametrize("op", SECOND_ORDER)
def test_second_derivatives_with_one_input_requiring_grad(op, wants):
    fn, shapes = SECOND_ORDER[op]
    inputs = [ag.tensor(_positive(s, np.float64, k), requires_grad=name == wants)
              for k, (s, name) in enumerate(zip(shapes, "ab"))]
    assert ag.gradcheck(fn, inputs)
    assert ag.gradgradcheck(fn, inputs)


# NumPy functions that write into a tensor's memory (through __array_function__ and
# __array_ufunc__) changed it behind its version counter: a saved tensor changed so gave a
# silently wrong gradient, and one that requires grad was changed while recording
WRITERS = {
    "copyto": lambda t: np.copyto(t, np.zeros(2)),
    "put": lambda t: np.put(t, [0], 5.0),
    "putmask": lambda t: np.putmask(t, np.array([True, False]), 5.0),
    "place": lambda t: np.place(t, np.array([True, False]), [5.0]),
    "put_along_axis": lambda t: np.put_along_axis(t, np.array([0]), 5.0, axis=0),
    "add.at": lambda t: np.add.at(t, [0], 5.0),
    "cumsum(out=)": lambda t: np.cumsum(np.full(2, 3.0), out=t),
    "fill_diagonal": lambda t: np.fill_diagonal(t.reshape(1, 2), 5.0),
}


@pytest.mark.parametrize("writer", WRITERS)
def test_a_numpy_function_writing_into_a_saved_tensor_makes_backward_raise(writer):
    w = ag.tensor([1.0, 2.0])
    x = ag.tensor([3.0, 4.0], requires_grad=True)
    y = (x * w).sum()
    WRITERS[writer](w)
    assert w.data.tolist() != [1.0, 2.0]  # written, as NumPy writes into an array
    with pytest.raises(RuntimeError, match="Mul: an array of shape"):
        y.backward()


@pytest.mark.parametrize("writer", WRITERS)
def test_a_numpy_function_writing_into_a_tensor_that_requires_grad_is_refused(writer):
    x = ag.tensor([3.0, 4.0], requires_grad=True)
    name = writer.partition("(")[0]
    with pytest.raises(TypeError, match=rf"np\.{name}"):
        WRITERS[writer](x)
    assert x.data.tolist() == [3.0, 4.0]
    with ag.no_grad():  # as an optimizer's update
        WRITERS[writer](x)
    assert x.data.tolist() != [3.0, 4.0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["*=", "/="])
def test_an_in_place_product_copies_the_old_values_only_when_they_are_kept(op, dtype):
    # y *= c (c needs no gradient) keeps nothing of y, so the old values need no copy
    x = ag.tensor(np.array([1.0, 2.0], dtype), requires_grad=True)
    y = x * 1
    before = y.grad_fn
    y = y.__imul__(4.0) if op == "*=" else y.__itruediv__(0.25)
    assert y.grad_fn.edges[0][0] is before  # no Clone in between
    w = ag.tensor(np.array([3.0, 5.0], dtype), requires_grad=True)
    y = y.__imul__(w) if op == "*=" else y.__itruediv__(w)  # keeps the old y for w's gradient
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [12.0, 20.0] if op == "*=" else [4 / 3, 4 / 5],
                               rtol=1e-6)
    np.testing.assert_allclose(w.grad.data, [4.0, 8.0] if op == "*=" else
                               [-4 / 9, -8 / 25], rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("changed", ["t", "y"])
def test_a_number_divided_by_a_tensor_keeps_neither_operand(changed, dtype):
    # c / t is reciprocal(t) * c, as in PyTorch: the reciprocal's output (internal) is all that
    # t's gradient reads, so changing t, or the quotient, in place afterwards is no error; 3.0 / t
    # kept t and raised
    x = ag.tensor(np.array([1.0, 2.0], dtype), requires_grad=True)
    t = x.clone()
    y = 3.0 / t
    with ag.no_grad():
        {"t": t, "y": y}[changed].__iadd__(1)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [-3.0, -0.75], rtol=1e-6)  # PyTorch's
    assert x.grad.dtype == dtype


def _logits_and_targets(dtype):
    rng = np.random.default_rng(5)
    return rng.standard_normal((3, 4)).astype(dtype), np.array([0, 3, 1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("leaf", [True, False])
def test_changing_the_logits_after_cross_entropy(leaf, reduction, dtype):
    # the gradient reads softmax(x), made in the forward (PyTorch's log_softmax keeps its
    # output); F.cross_entropy kept x and raised
    logits, target = _logits_and_targets(dtype)
    x = ag.tensor(logits, requires_grad=True)
    expected = ag.grad(F.cross_entropy(x, target, reduction=reduction).sum(), [x])[0].data
    x = ag.tensor(logits, requires_grad=True)
    z = x if leaf else x * 1
    loss = F.cross_entropy(z, target, reduction=reduction).sum()
    with ag.no_grad():
        z += 1
    loss.backward()
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-6)
    assert x.grad.dtype == dtype


@pytest.mark.parametrize("leaf", [True, False])
def test_changing_the_logits_after_cross_entropy_keeps_second_derivatives(leaf):
    # under create_graph the gradient is rebuilt from the forward's softmax, linked to x's
    # place in the graph, as PyTorch's saved log_softmax output is: x's new values are not read
    logits, target = _logits_and_targets(np.float64)
    v = np.random.default_rng(6).standard_normal((3, 4))

    def hessian_vector(change):
        x = ag.tensor(logits, requires_grad=True)
        z = x if leaf else x * 1
        loss = F.cross_entropy(z, target)
        if change:
            with ag.no_grad():
                z += 1
        (g,) = ag.grad(loss, [x], create_graph=True)
        (g * ag.tensor(v)).sum().backward()
        return g.data, x.grad.data

    for got, want in zip(hessian_vector(True), hessian_vector(False)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.abs(hessian_vector(False)[1]).max() > 1e-3  # a Hessian that is not 0
