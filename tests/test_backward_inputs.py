"""backward(inputs=...): gradients accumulate into the given tensors only (leaves or not), and
only the part of the graph that leads to them runs, as in PyTorch (expected values: torch
2.13's)."""

import numpy as np
import pytest

import autograd as ag

DTYPES = [np.float32, np.float64]


def _leaves(dtype):
    return (ag.tensor(np.array([1.0, 2.0], dtype), requires_grad=True),
            ag.tensor(np.array([3.0, 4.0], dtype), requires_grad=True))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("as_list", [True, False])
def test_only_the_inputs_get_a_gradient(as_list, dtype):
    x, w = _leaves(dtype)
    h = x * w
    (h * h).sum().backward(inputs=[x] if as_list else x)
    np.testing.assert_allclose(x.grad.data, [18.0, 64.0])
    assert x.grad.dtype == dtype
    assert w.grad is None


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_non_leaf_input_gets_a_gradient_that_accumulates(dtype):
    x, _ = _leaves(dtype)
    h = x * 2
    y = (h * h).sum()
    y.backward(inputs=[h], retain_graph=True)
    np.testing.assert_allclose(h.grad.data, [4.0, 8.0])
    y.backward(inputs=(t for t in [h]))  # any iterable
    np.testing.assert_allclose(h.grad.data, [8.0, 16.0])
    assert h.grad.dtype == dtype
    assert x.grad is None


def test_gradients_add_to_those_already_there_and_an_input_named_twice_counts_once():
    x, w = _leaves(np.float64)
    (x * w).sum().backward()
    (x * w).sum().backward(inputs=[x, x, w])
    np.testing.assert_allclose(x.grad.data, [6.0, 8.0])
    np.testing.assert_allclose(w.grad.data, [2.0, 4.0])


def test_the_gradients_of_two_inputs_do_not_share_memory():
    x, w = _leaves(np.float64)
    (x + w).sum().backward(inputs=[x, w])  # Add passes one gradient array to both
    x.grad.data += 1
    np.testing.assert_allclose(w.grad.data, [1.0, 1.0])


def test_the_output_itself_as_input():
    x, w = _leaves(np.float64)
    y = (x * w).sum()
    y.backward(inputs=[y])
    assert y.grad.item() == 1.0
    assert x.grad is None


def test_an_input_the_output_does_not_depend_on_keeps_no_gradient():
    x, w = _leaves(np.float64)
    (x * 2).sum().backward(inputs=[x, w])
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0])
    assert w.grad is None


@pytest.mark.parametrize("inputs", [[], ()])
def test_empty_inputs_raise(inputs):
    x, w = _leaves(np.float64)
    with pytest.raises(RuntimeError, match="backward: `inputs` cannot be empty"):
        (x * w).sum().backward(inputs=inputs)


def test_inputs_that_are_not_tensors_or_do_not_require_grad_raise():
    x, w = _leaves(np.float64)
    with pytest.raises(RuntimeError, match="backward: input 1 is a float, not a Tensor"):
        (x * w).sum().backward(inputs=[x, 1.0])
    with pytest.raises(RuntimeError, match=r"backward: input 0 \(shape \(2,\)\) does not "
                                           "require grad"):
        (x * w).sum().backward(inputs=[ag.tensor([1.0, 2.0])])
    assert x.grad is None and w.grad is None


def test_the_part_of_the_graph_that_does_not_lead_to_the_inputs_does_not_run():
    # a * a keeps a, changed in place since: its rule would raise if it ran (PyTorch: it
    # does not run); a hook there is not called either
    x, w = _leaves(np.float64)
    a = w.clone()
    b = a * a
    called = []
    b.register_hook(lambda g: called.append(g))
    y = (x * 2).sum() + b.sum()
    with ag.no_grad():
        a += 1
    y.backward(inputs=[x])
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0])
    assert called == [] and w.grad is None


def test_grad_runs_only_the_part_of_the_graph_that_leads_to_its_inputs():
    x, w = _leaves(np.float64)
    a = w.clone()
    y = (x * 2).sum() + (a * a).sum()
    with ag.no_grad():
        a += 1
    np.testing.assert_allclose(ag.grad(y, [x])[0].data, [2.0, 2.0])


def test_hooks_run_on_the_path_to_the_inputs_only():
    x, w = _leaves(np.float64)
    calls = []
    w.register_hook(lambda g: calls.append("w"))
    x.register_post_accumulate_grad_hook(lambda t: calls.append("x accumulated"))
    w.register_post_accumulate_grad_hook(lambda t: calls.append("w accumulated"))
    h = x * 2
    h.register_hook(lambda g: g * 10)  # replaces h's gradient, the one stored
    h.retain_grad()
    (h * w).sum().backward(inputs=[x])
    assert calls == ["x accumulated"]
    np.testing.assert_allclose(x.grad.data, [60.0, 80.0])
    np.testing.assert_allclose(h.grad.data, [30.0, 40.0])  # retained, on the path: as PyTorch


def test_a_hook_on_a_non_leaf_input_changes_the_gradient_it_keeps():
    x, _ = _leaves(np.float64)
    h = x * 2
    h.register_hook(lambda g: g * 10)
    (h * h).sum().backward(inputs=[h])
    np.testing.assert_allclose(h.grad.data, [40.0, 80.0])


def test_create_graph_records_the_gradient_of_the_inputs():
    x, w = _leaves(np.float64)
    (x ** 3 * w).sum().backward(inputs=[x], create_graph=True)
    np.testing.assert_allclose(x.grad.data, [9.0, 48.0])  # 3 x^2 w
    assert w.grad is None
    (g,) = ag.grad(x.grad.sum(), [x])
    np.testing.assert_allclose(g.data, [18.0, 48.0])  # 6 x w


def test_ag_compile_refuses_backward_with_inputs():
    # the gradients would be stored outside the tape, so a replay would not store them
    x, w = _leaves(np.float32)

    def step():
        (x * w).sum().backward(inputs=[x])
    with pytest.raises(ag.CompileError, match=r"backward\(inputs=\.\.\.\)"):
        ag.compile(step)()


def test_a_non_leaf_input_that_retains_its_gradient_gets_it_once():
    x, _ = _leaves(np.float64)
    h = x * 2
    h.retain_grad()
    (h * h).sum().backward(inputs=[h])
    np.testing.assert_allclose(h.grad.data, [4.0, 8.0])
