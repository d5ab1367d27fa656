"""Every differentiable op through the one helper: forward against NumPy, first and second
order VJPs against central differences in float64, over broadcasting shapes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

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


def test_the_op_table_covers_every_tensor_op():
    """A new op must be added to the table: this lists the tensor methods the table uses."""
    names = {op.name.split("{")[0].split("_")[0] for op in OPS + REDUCTIONS}
    for method in ["exp", "log", "sqrt", "abs", "clip", "sigmoid", "tanh", "relu", "leaky",
                   "elu", "sum", "mean", "max", "min", "var", "std", "logsumexp", "softmax",
                   "log", "reshape", "transpose", "squeeze", "expand", "broadcast", "flatten",
                   "getitem", "concatenate", "stack", "where", "maximum", "minimum", "matmul",
                   "sin", "cos", "log1p", "clone", "swapaxes", "norm"]:
        assert method in names, method


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
