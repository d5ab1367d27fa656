"""Every differentiable op through the one helper: forward against NumPy, first and second
order VJPs against central differences in float64, over broadcasting shapes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import autograd as ag
from tests.opcheck import OPS, REDUCTIONS, Op, check_op

CASES = [(op, shapes) for op in OPS + REDUCTIONS for shapes in op.shapes]


@pytest.mark.parametrize(("op", "shapes"), CASES,
                         ids=[f"{op.name}-{shapes}" for op, shapes in CASES])
def test_op_matches_numpy_and_finite_differences(op: Op, shapes):
    rng = np.random.default_rng(0)
    arrays = [op.domain(rng, shape) for shape in shapes]
    check_op(op.fn, op.reference, arrays, second_order=op.second_order)


BROADCASTING = [op for op in OPS if op.name in ("add", "sub", "mul", "div", "pow", "maximum",
                                                "minimum")]


@settings(max_examples=15, deadline=None)
@given(op=st.sampled_from(BROADCASTING),
       shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       seed=st.integers(0, 2**16))
def test_binary_ops_on_generated_broadcastable_shapes(op: Op, shapes, seed):
    rng = np.random.default_rng(seed)
    arrays = [op.domain(rng, shape) for shape in shapes.input_shapes]
    check_op(op.fn, op.reference, arrays, second_order=False)


def _primitives(base: type) -> set[type]:
    found = set()
    for sub in base.__subclasses__():
        found |= {sub} | _primitives(sub)
    return found


def _nodes_in_graph(tensors) -> set:
    """Every node recorded in the graphs behind `tensors`."""
    seen, stack = set(), [t.grad_fn for t in tensors if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack += [edge[0] for edge in node.edges if edge is not None and edge[0].__class__
                  is type(node)]
    return seen


def _arrays_in(value) -> bool:
    if isinstance(value, (tuple, list)):
        return any(_arrays_in(v) for v in value)
    return isinstance(value, (np.ndarray, ag.Tensor))


def test_the_op_table_covers_every_primitive_and_each_saves_through_the_channel():
    """Walked, not listed: every registered Primitive (a rule under autograd/ops) must show up
    in the graph of some table row, forward or (under create_graph) backward, so that adding
    an op without a row fails here; and no node keeps an array as a plain attribute."""
    from autograd.function import Primitive

    covered = set()
    rng = np.random.default_rng(0)
    for op in OPS + REDUCTIONS:
        tensors = [ag.Tensor(op.domain(rng, shape), requires_grad=True)
                   for shape in op.shapes[0]]
        out = op.fn(*tensors)
        grads = ag.grad(out, tensors, grad_outputs=ag.ones_like(out, dtype=out.dtype,
                                                                  requires_grad=True),
                        create_graph=True, allow_unused=True)
        for node in _nodes_in_graph([out, *[g for g in grads if g is not None]]):
            covered.add(node.fn)
            # What a backward reads goes through save_for_backward, which checks it; a plain
            # ctx attribute is for constants (axis, shapes, dtypes) only.
            kept = [name for name, value in vars(node).items() if _arrays_in(value)]
            assert not kept, f"{node.name} keeps arrays outside save_for_backward: {kept}"
    concrete = {p for p in _primitives(Primitive) if not p.__name__.startswith("_")}
    missing = sorted(p.__name__ for p in concrete - covered)
    assert not missing, f"primitives without a row in tests/opcheck.py: {missing}"


def test_check_op_catches_a_wrong_vjp():
    """The helper must fail on a wrong gradient, or it proves nothing."""
    import autograd as ag

    class WrongSquare(ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x  # should be 2 * grad * x

    with pytest.raises(ag.GradcheckError, match=r"input 0 \(shape \(3,\)\), element \(0,\)"):
        check_op(WrongSquare.apply, lambda x: x * x, [np.array([1.0, 2.0, 3.0])])
