"""No silent wrong gradient: what a node keeps is checked, shared memory shares a version
counter, NumPy functions record or refuse, assignments never drop a gradient path, concurrent
backward passes lose nothing, hooks and `.grad` are validated, and a custom `Function`
written as in PyTorch works."""

import sys
import threading

import numpy as np
import pytest

import autograd as ag
import nn
from nn import functional as F

# ---- 1. everything a backward reads from its forward is checked --------------------------


def test_class_targets_changed_after_the_forward_do_not_change_the_gradient():
    logits = ag.tensor([[1.0, 2.0, 3.0], [1.0, 0.0, -1.0]], requires_grad=True)
    targets = ag.tensor([0, 1])
    loss = F.cross_entropy(logits, targets)
    expected = ag.grad(F.cross_entropy(logits, ag.tensor([0, 1])), logits)[0].data
    with ag.no_grad():
        targets[:] = 2
    loss.backward()
    np.testing.assert_allclose(logits.grad.data, expected)


def test_a_plain_array_operand_is_snapshotted():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = np.array([1.0, 0.0, 1.0], dtype=np.float32)
    y = (x * mask).sum()
    mask[:] = 5
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [1, 0, 1])


def test_a_where_condition_changed_afterwards_does_not_change_the_gradient():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    condition = np.array([True, False, True])
    y = ag.where(condition, x, 0.0).sum()
    condition[:] = False
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [1, 0, 1])


def test_clip_bounds_changed_afterwards_do_not_change_the_gradient():
    x = ag.tensor([-2.0, 0.0, 2.0], requires_grad=True)
    lo, hi = np.full(3, -1.0, np.float32), np.full(3, 1.0, np.float32)
    y = x.clip(lo, hi).sum()
    lo[:], hi[:] = -5, 5
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1, 0])


def test_index_arrays_changed_afterwards_do_not_change_the_gradient():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    index = np.array([0, 0, 2])
    y = x[index].sum()
    index[:] = 1
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2, 0, 1])


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_an_extremum_changed_in_place_makes_backward_raise(reduce):
    x = ag.tensor([1.0, 5.0, 3.0], requires_grad=True)
    m = getattr(x, reduce)()
    with ag.no_grad():
        m += 1
    with pytest.raises(RuntimeError, match=f"{reduce.capitalize()}: an array of shape"):
        m.backward()


# ---- 2. one buffer, one version counter --------------------------------------------------


@pytest.mark.parametrize("alias", [
    lambda x: nn.Parameter(x),
    lambda x: ag.Tensor(x),
    lambda x: x.detach(),
])
def test_tensors_over_the_same_buffer_share_a_version_counter(alias):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    p = alias(x)
    with ag.no_grad():
        p += 1
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_a_custom_function_returning_its_input_shares_its_version_counter():
    class Identity(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad

    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    out = Identity.apply(x)
    with ag.no_grad():
        out += 1
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


# ---- 3. np.array copies, np.asarray shares ----------------------------------------------


def test_np_array_copies_and_np_asarray_shares():
    x = ag.tensor([1.0, 2.0])
    a = np.array(x)
    a[:] = 0
    np.testing.assert_array_equal(x.data, [1, 2])
    assert np.asarray(x) is x.data or np.shares_memory(np.asarray(x), x.data)
    assert np.array(x, dtype=np.float64).dtype == np.float64


# ---- 4. NumPy functions on tensors record, or refuse -------------------------------------


def test_numpy_ufuncs_on_tensors_are_recorded():
    w = ag.tensor([1.0], requires_grad=True)
    y = (np.exp(w) + w).sum()
    assert isinstance(y, ag.Tensor)
    y.backward()
    np.testing.assert_allclose(w.grad.data, [np.e + 1], rtol=1e-6)


@pytest.mark.parametrize(("call", "expected"), [
    (lambda w: np.add(w, 2.0), lambda a: a + 2.0),
    (lambda w: np.maximum(w, 0.5), lambda a: np.maximum(a, 0.5)),
    (lambda w: np.sum(w * w, axis=0), lambda a: np.sum(a * a, axis=0)),
    (lambda w: np.mean(w), np.mean),
    (lambda w: np.matmul(w, w.T), lambda a: a @ a.T),
    (lambda w: np.concatenate([w, w]), lambda a: np.concatenate([a, a])),
    (lambda w: np.where(w.data > 0, w, 0.0), lambda a: np.where(a > 0, a, 0.0)),
    (lambda w: np.reshape(w, -1), lambda a: a.reshape(-1)),
    (lambda w: np.tanh(w) * 2 ** w, lambda a: np.tanh(a) * 2 ** a),
    (lambda w: np.square(w), np.square),  # the engine has them as t.square(), t.norm()
    (lambda w: np.linalg.norm(w), np.linalg.norm),
    (lambda w: np.linalg.norm(w, 1, axis=0), lambda a: np.linalg.norm(a, 1, axis=0)),
    (lambda w: np.linalg.norm(w, axis=1, keepdims=True),
     lambda a: np.linalg.norm(a, axis=1, keepdims=True)),
])
def test_supported_numpy_functions_return_recorded_tensors(call, expected):
    data = np.array([[0.3, -1.2], [2.0, 0.7]])
    w = ag.tensor(data, requires_grad=True)
    out = call(w)
    assert isinstance(out, ag.Tensor) and out.grad_fn is not None
    np.testing.assert_allclose(out.data, expected(data))
    assert ag.gradcheck(call, (w,))


@pytest.mark.parametrize("like", [np.zeros_like, np.ones_like])
def test_numpy_zeros_like_on_a_tensor_is_the_engines_constant(like):
    w = ag.tensor([[1.0, 2.0]], requires_grad=True)
    out = like(w)
    assert isinstance(out, ag.Tensor) and not out.requires_grad
    assert out.dtype == np.float32 and out.shape == (1, 2)
    np.testing.assert_array_equal(out.data, like(w.data))
    assert like(w, np.float64).dtype == np.float64


def test_unsupported_numpy_functions_refuse_a_tensor_that_requires_grad():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="fft"):
        np.fft.fft(w)
    with pytest.raises(TypeError, match="sinh"):
        np.sinh(w)
    with pytest.raises(TypeError, match="matrix norm ord=2"):  # NumPy's spectral norm
        np.linalg.norm(w.reshape(1, 2), 2)
    with ag.no_grad():
        assert isinstance(np.sinh(w), np.ndarray)  # nothing to record: NumPy's result
    assert isinstance(np.sinh(ag.tensor([1.0])), np.ndarray)


def test_a_ufunc_with_out_on_a_tensor_that_requires_grad_refuses():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="out="):
        np.exp(w, out=np.empty(2, np.float32))


# ---- 5. assignments never drop a gradient path silently -----------------------------------


def test_assigning_a_tensor_that_requires_grad_records_it_as_pytorch_does():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    buf = ag.zeros(3)
    buf[1:] = w * 3  # buf joins the graph
    assert buf.grad_fn.name == "SetItem" and not buf.is_leaf
    (buf * ag.tensor([5.0, 6.0, 7.0])).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [18, 21])
    w.grad = None
    acc = ag.zeros(2)
    acc += w
    acc *= w  # the old value is kept for the gradient: d(w * w)/dw = 2w
    acc.sum().backward()
    np.testing.assert_array_equal(w.grad.data, [2, 4])
    with ag.no_grad():  # a value copy, explicitly outside the graph
        buf[...] = 0.0
    np.testing.assert_array_equal(buf.data, [0, 0, 0])


def test_in_place_on_a_view_or_a_leaf_that_requires_grad_while_recording_raises():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    base = ag.zeros(2, 2)
    row = base[0]
    with pytest.raises(RuntimeError, match=r"in-place \[\]= on a view of shape \(2,\)"):
        row[...] = w
    with pytest.raises(RuntimeError, match=r"in-place \+= on a leaf tensor of shape \(2,\)"):
        w += 1



@pytest.mark.parametrize("index, rows", [(0, 1), ([0, 2], 2), (Ellipsis, 4)])
def test_a_buffer_changed_every_step_keeps_its_notes_of_the_changes_bounded(index, rows):
    # Each recorded change is noted on the version list the buffer's views share (so that a
    # view taken before it is refused); a buffer carried across steps with detach() kept
    # every step's note: memory and the check's loop grew with the number of steps.
    w = ag.tensor(np.ones(3, np.float32), requires_grad=True)
    buf = ag.zeros(4, 3)
    for _ in range(50):
        buf[index] = w * 2
        (buf * buf).sum().backward()
        buf = buf.detach()
    assert len(buf._version) <= 2
    np.testing.assert_array_equal(w.grad.data, 50 * 8 * rows)  # d(2w)^2/dw, in each row


def test_views_of_rows_filled_one_by_one_stay_usable_after_later_rows_change():
    # the rows of an unrolled recurrence written into one buffer: each view is taken after
    # its row is written, and later changes touch other rows only
    x = ag.tensor(np.arange(1.0, 11.0), requires_grad=True)
    h = ag.zeros(10, 2)
    rows = []
    for t in range(10):
        h[t] = (h[t - 1] if t else ag.zeros(2)) + x[t]  # h[t] = x[0] + ... + x[t]
        rows.append(h[t])
    ag.stack(rows).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 2 * np.arange(10, 0, -1))
    assert len(h._version) == 11  # one note per row: none covers another


def test_a_change_of_another_block_keeps_the_note_of_an_earlier_change():
    x = ag.tensor(np.arange(1.0, 5.0), requires_grad=True)
    y = x * 1
    head = y[:2]  # taken before both changes; only the first touches it
    y[:2] = x[:2] * 3
    y[2:] = x[2:] * 5  # the same size, another block: the first note stays
    with pytest.raises(RuntimeError, match=r"Mul: an input of shape \(2,\) views a tensor "
                       "changed in place"):
        head * head


def test_a_constant_view_taken_before_its_memory_joined_the_graph_is_refused():
    # row viewed buf before buf[:2] = w * 2 made buf part of the graph: row passed for a
    # constant, its values w * 2 but no path to w, so w's gradient through it was lost
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    buf = ag.zeros(3)
    row = buf[:2]
    buf[:2] = w * 2
    with pytest.raises(RuntimeError, match=r"Mul: an input of shape \(2,\) views a tensor "
                       "changed in place"):
        row * 3
    with ag.no_grad():
        later = buf[:2]  # taken after the change, outside the graph on purpose
    detached = buf[:2].detach()
    (later * 3 + detached * w).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [2, 4])

# ---- 6. concurrent backward passes lose no accumulation -----------------------------------


def test_concurrent_backward_into_a_shared_leaf_is_exact():
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so that a race shows
    w = ag.tensor(np.ones(4), requires_grad=True)
    xs = ag.tensor(np.full(4, 1.0))
    steps = 3000

    def work():
        for _ in range(steps):
            (w * xs).sum().backward()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sys.setswitchinterval(interval)
    np.testing.assert_array_equal(w.grad.data, np.full(4, 2.0 * steps))


# ---- 7. hooks and .grad are validated ----------------------------------------------------


def test_a_hook_returning_the_wrong_shape_or_type_raises_naming_both():
    x = ag.ones(3, requires_grad=True)
    x.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match=r"hook.*shape \(\).*shape \(3,\)"):
        (x * 2).sum().backward()
    y = ag.ones(3, requires_grad=True)
    y.register_hook(lambda g: 1.0)
    with pytest.raises(TypeError, match="hook returned float"):
        (y * 2).sum().backward()


def test_assigning_a_wrong_shaped_grad_raises():
    p = ag.ones(3, requires_grad=True)
    with pytest.raises(ValueError, match=r"grad of shape \(2,\).*shape \(3,\)"):
        p.grad = ag.ones(2)
    with pytest.raises(TypeError, match="grad"):
        p.grad = "nope"
    p.grad = ag.zeros(3)
    p.grad = None


def test_a_leaf_grad_does_not_alias_the_gradient_passed_to_backward():
    x = ag.ones(3, requires_grad=True)
    seed = ag.tensor([1.0, 2.0, 3.0])
    x.backward(seed)
    seed.data[:] = 0
    np.testing.assert_array_equal(x.grad.data, [1, 2, 3])
    y = ag.ones(3, requires_grad=True)
    (y + 0).backward(seed)
    assert not np.shares_memory(y.grad.data, seed.data)


# ---- 8. custom Functions written as in PyTorch ---------------------------------------------


class Softplus(ag.Function):
    """log(1 + exp(x)), written with tensor methods as a PyTorch user would."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x.exp() + 1).log()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        assert isinstance(x, ag.Tensor) and isinstance(grad, ag.Tensor)
        return grad * x.sigmoid()


class DetachingSoftplus(Softplus):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.detach().sigmoid()


def test_a_pytorch_style_function_gets_tensors_and_is_differentiable_twice():
    x = ag.tensor(np.array([-1.0, 0.5, 2.0]), requires_grad=True)
    y = Softplus.apply(x)
    assert isinstance(y, ag.Tensor) and y.grad_fn.name == "Softplus"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 1 / (1 + np.exp(-x.data)))
    assert ag.gradcheck(Softplus.apply, (x,))
    assert ag.gradgradcheck(Softplus.apply, (x,))


def test_a_backward_that_detaches_fails_gradgradcheck():
    x = ag.tensor(np.array([-1.0, 0.5, 2.0]), requires_grad=True)
    assert ag.gradcheck(DetachingSoftplus.apply, (x,))
    with pytest.raises(ag.GradcheckError):
        ag.gradgradcheck(DetachingSoftplus.apply, (x,))


def test_forward_runs_without_recording_and_saved_tensors_are_checked():
    class Square(ag.Function):
        @staticmethod
        def forward(ctx, x):
            assert not ag.is_grad_enabled()
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * grad * x

    x = ag.tensor([3.0], requires_grad=True)
    y = Square.apply(x)
    with ag.no_grad():
        x += 1
    with pytest.raises(RuntimeError, match="Square: an array of shape"):
        y.backward()


def test_a_node_reached_along_paths_of_different_lengths_runs_once_with_their_sum():
    # x -> a -> b -> c -> out and a -> out: with the latest-made node first, a runs after c
    # has delivered, so its backward sees both contributions at once.
    calls = []

    class Counted(ag.Function):
        @staticmethod
        def forward(ctx, t):
            return t * 2

        @staticmethod
        def backward(ctx, grad):
            calls.append(grad.numpy().copy())
            return grad * 2

    x = ag.tensor([1.0, 2.0], requires_grad=True)
    a = Counted.apply(x)
    c = (a * 3).exp().log()  # ln(exp(3a)) = 3a, three nodes made after a
    (a + c).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], [4.0, 4.0], rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 8.0], rtol=1e-6)


def test_nodes_made_in_other_threads_keep_the_topological_order():
    x = ag.tensor(np.ones(3), requires_grad=True)
    stages = [x]

    def extend():
        stages.append(stages[-1] * 2)

    for _ in range(20):  # each stage made in a thread of its own
        worker = threading.Thread(target=extend)
        worker.start()
        worker.join()
    (stages[-1] + stages[5]).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 2.0 ** 20 + 2.0 ** 5))
