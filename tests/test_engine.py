"""Graph semantics: order, accumulation, freeing, higher order, hooks, modes, custom ops."""

import gc
import threading
import tracemalloc
import weakref

import numpy as np
import pytest

import autograd as ag


class CountingSquare(ag.Function):
    """x^2 that counts how often its VJP runs."""

    calls = 0

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        CountingSquare.calls += 1
        (x,) = ctx.saved_tensors
        return 2 * grad * x


def test_a_long_chain_backpropagates_without_recursion():
    x = ag.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.data.tolist() == [1.0]


def test_each_node_runs_once_with_its_gradients_summed_first():
    CountingSquare.calls = 0
    x = ag.tensor([3.0], requires_grad=True)
    shared = CountingSquare.apply(x)  # used by three consumers below
    loss = (shared * 2 + shared.exp() * 0 + shared).sum()
    loss.backward()
    assert CountingSquare.calls == 1
    assert x.grad.item() == pytest.approx(3 * 2 * 3.0)  # d/dx 3 x^2


def test_gradients_accumulate_across_backward_calls():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (3 * x).sum().backward()
    assert x.grad.data.tolist() == [5.0, 7.0]


def test_stored_gradients_are_not_aliased():
    a = ag.tensor([1.0], requires_grad=True)
    b = ag.tensor([1.0], requires_grad=True)
    (a + b).sum().backward()  # Add passes one gradient to both inputs
    a.grad.data[0] = 10.0
    assert b.grad.item() == 1.0


def test_backward_frees_the_graph_unless_retained():
    x = ag.tensor([2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 8.0
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_non_scalar_backward_needs_a_gradient_of_matching_shape():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2,\); gradient can be implied only for a "
                                           "scalar"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"gradient of shape \(3,\) does not match the output "
                                         r"shape \(2,\)"):
        (x * 2).backward(np.ones(3))
    (x * 2).backward(np.array([1.0, 10.0], np.float32))
    assert x.grad.data.tolist() == [2.0, 20.0]


def test_backward_on_a_tensor_outside_the_graph_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.ones(2).sum().backward()


def test_grad_returns_gradients_and_leaves_dot_grad_alone():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    unused = ag.tensor([1.0], requires_grad=True)
    y = (x ** 2).sum()
    (gx,) = ag.grad(y, x, retain_graph=True)
    assert gx.data.tolist() == [2.0, 4.0] and x.grad is None
    with pytest.raises(RuntimeError, match="input 1 .* was not used"):
        ag.grad(y, [x, unused], retain_graph=True)
    gx, gu = ag.grad(y, [x, unused], allow_unused=True)
    assert gu is None and gx.data.tolist() == [2.0, 4.0]


def test_grad_of_an_intermediate_tensor():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    (gh,) = ag.grad((h * h).sum(), h)
    assert gh.data.tolist() == [6.0, 12.0]


def test_second_and_third_derivatives_with_create_graph():
    x = ag.tensor([2.0], dtype=np.float64, requires_grad=True)
    y = (x ** 3).sum()
    (dy,) = ag.grad(y, x, create_graph=True)
    (d2y,) = ag.grad(dy.sum(), x, create_graph=True)
    (d3y,) = ag.grad(d2y.sum(), x)
    assert (dy.item(), d2y.item(), d3y.item()) == (12.0, 12.0, 6.0)


def test_backward_with_create_graph_gives_differentiable_grads():
    x = ag.tensor([0.5], dtype=np.float64, requires_grad=True)
    x.sigmoid().sum().backward(create_graph=True)
    first = x.grad
    assert first.requires_grad
    (second,) = ag.grad(first.sum(), x)
    s = 1 / (1 + np.exp(-0.5))
    assert second.item() == pytest.approx(s * (1 - s) * (1 - 2 * s))


def test_hooks_see_and_replace_gradients_on_leaves_and_intermediates():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(g.data.copy()))
    handle = x.register_hook(lambda g: g * 10)
    (h * h).sum().backward()
    assert seen[0].tolist() == [4.0, 8.0]
    assert x.grad.data.tolist() == [80.0, 160.0]
    handle.remove()
    handle.remove()  # a second removal is harmless
    x.grad = None
    (x * 1).sum().backward()
    assert x.grad.data.tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.ones(1).register_hook(lambda g: g)


def test_retain_grad_keeps_an_intermediate_gradient():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    other = x * 3
    (h * other).sum().backward()
    assert h.grad.data.tolist() == [3.0, 6.0] and other.grad is None


def test_no_grad_enable_grad_and_set_grad_enabled():
    x = ag.tensor([1.0], requires_grad=True)
    with ag.no_grad():
        assert not (x * 2).requires_grad and not ag.is_grad_enabled()
        with ag.enable_grad():
            assert (x * 2).requires_grad
    assert ag.is_grad_enabled()

    @ag.no_grad()
    def evaluate():
        return x * 2

    assert not evaluate().requires_grad and ag.is_grad_enabled()
    ag.set_grad_enabled(False)
    assert not ag.is_grad_enabled()
    ag.set_grad_enabled(True)
    with ag.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert ag.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception_and_is_per_thread():
    with pytest.raises(KeyError), ag.no_grad():
        raise KeyError
    assert ag.is_grad_enabled()
    seen = {}
    with ag.no_grad():
        thread = threading.Thread(target=lambda: seen.setdefault("mode", ag.is_grad_enabled()))
        thread.start()
        thread.join()
    assert seen["mode"] is True


def test_changing_a_saved_tensor_in_place_makes_backward_raise():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    w = ag.tensor([3.0, 4.0])
    y = (x * w).sum()
    w += 1  # w does not require grad, so this is allowed, but Mul saved it
    with pytest.raises(RuntimeError, match=r"Mul: an array of shape \(2,\) that it saved for "
                                           "backward was modified in place"):
        y.backward()


def test_changing_a_view_of_a_saved_tensor_in_place_makes_backward_raise():
    x = ag.tensor([[1.0, 2.0]], requires_grad=True)
    w = ag.tensor([[3.0, 4.0]])
    y = (x * w).sum()
    with ag.no_grad():
        view = w.reshape(-1)
        view[0] = 0.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()
    z = (x * w).sum()
    with ag.no_grad():
        w[0][1] = 9.0  # basic indexing gives a view too
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_a_changed_output_that_was_saved_makes_backward_raise():
    x = ag.tensor([1.0], requires_grad=True)
    y = x.exp()  # Exp saves its output
    z = y.sum()
    with ag.no_grad():
        y *= 2
    with pytest.raises(RuntimeError, match="Exp: .* modified in place"):
        z.backward()


def test_a_dropped_graph_is_freed_without_the_cycle_collector():
    gc.disable()
    try:
        x = ag.tensor([1.0, 2.0], requires_grad=True)
        loss = (x.exp() * x).sum()
        node = weakref.ref(loss.grad_fn)
        del loss
        assert node() is None
    finally:
        gc.enable()


def test_memory_stays_flat_over_training_like_iterations():
    w = ag.randn(64, 64, requires_grad=True)
    x = ag.randn(32, 64)

    def step(w):
        loss = (x @ w).tanh().relu().mean()
        loss.backward()
        with ag.no_grad():
            w -= 0.01 * w.grad
        w.grad = None

    for _ in range(50):
        step(w)
    # Measured after full collections: they also empty the interpreter's free lists (up to
    # 2,000 tuples of each size), which fill over the first ~2,000 steps and are no leak.
    tracemalloc.start()
    gc.collect()
    start = tracemalloc.get_traced_memory()[0]
    for _ in range(1000):
        step(w)
    gc.collect()
    growth = tracemalloc.get_traced_memory()[0] - start
    tracemalloc.stop()
    assert growth < 100_000, growth


class MulAdd(ag.Function):
    """(x * y + 1, x - y): two outputs, to check multi-output custom ops."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y + 1, x - y

    @staticmethod
    def backward(ctx, grad_product, grad_difference):
        x, y = ctx.saved_tensors
        return grad_product * y + grad_difference, grad_product * x - grad_difference


def test_custom_function_with_two_outputs_and_needs_input_grad():
    x = ag.tensor([2.0], dtype=np.float64, requires_grad=True)
    y = ag.tensor([5.0], dtype=np.float64)
    product, difference = MulAdd.apply(x, y)
    assert product.grad_fn is difference.grad_fn
    assert product.grad_fn.needs_input_grad == (True, False)
    (product * 3).sum().backward()  # difference unused: its gradient is zero
    assert x.grad.item() == 15.0
    assert ag.gradcheck(lambda a, b: MulAdd.apply(a, b), (x, ag.tensor([5.0], np.float64,
                                                                         requires_grad=True)))
    assert ag.gradgradcheck(lambda a, b: MulAdd.apply(a, b)[0] * a, (x, ag.tensor(
        [5.0], np.float64, requires_grad=True)))


def test_custom_function_on_plain_arrays_returns_arrays():
    assert isinstance(CountingSquare.apply(np.array([3.0])), np.ndarray)


def test_a_custom_backward_returning_the_wrong_count_or_shape_is_named():
    class Broken(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    class BadShape(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return np.ones(5)

    x = ag.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="Broken.backward returned 2 gradients for 1 inputs"):
        Broken.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match=r"BadShape.backward returned a gradient of shape "
                                           r"\(5,\) for an input of shape \(3,\)"):
        BadShape.apply(x).sum().backward()


def test_indexing_backward_accumulates_repeated_indices():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    assert x.grad.data.tolist() == [3.0, 0.0, 1.0]
    x.grad = None
    x[ag.tensor([True, False, True])].sum().backward()
    assert x.grad.data.tolist() == [1.0, 0.0, 1.0]


def test_max_and_min_split_the_gradient_evenly_among_ties():
    x = ag.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    assert np.allclose(x.grad.data, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    x.grad = None
    ag.maximum(x, 2.0).sum().backward()
    assert x.grad.data.tolist() == [[0.0, 1.0, 1.0], [0.5, 0.5, 0.5]]


def test_gradcheck_reports_input_element_values_and_tolerance():
    class Wrong(ag.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx, grad):
            x, y = ctx.saved_tensors
            return grad * y, grad * y  # second is wrong

    x = ag.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = ag.tensor([3.0, 4.0], dtype=np.float64, requires_grad=True)
    with pytest.raises(ag.GradcheckError, match=r"input 1 \(shape \(2,\)\), element \(0,\): "
                                                r"analytic .* vs numeric .*atol 1e-05"):
        ag.gradcheck(Wrong.apply, (x, y))
    assert ag.gradcheck(Wrong.apply, (x, y), raise_exception=False) is False


def test_grad_leaves_retained_gradients_alone():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    ag.grad((h * h).sum(), x)
    assert h.grad is None
