"""The primitive operations: each forward beside its vector-Jacobian product.

A rule's `backward(ctx, grad)` returns one gradient per forward argument, in order, shaped
like the forward's output where broadcasting is involved: the engine sums it back to the
input's shape. Rules are written with what arrays and tensors share, so the same rule runs
on arrays in an ordinary backward and is recorded under create_graph (higher orders).
Everything else (mean, var, softmax, ...) is composed from these in `tensor.py`; `fused`
holds the layers and losses that are one op for speed or stability.
"""

from .activations import (
    ELU,
    ELUGrad,
    LeakyReLU,
    LeakyReLUGrad,
    ReLU,
    ReLUGrad,
    Sigmoid,
    SigmoidGrad,
    Tanh,
    TanhGrad,
)
from .arguments import as_axis, as_index, check_device, count, reduced_shape, torch_keywords
from .collective import AllReduceSum
from .elementwise import (
    Abs,
    Add,
    AsType,
    Clip,
    Clone,
    Cos,
    Div,
    Erf,
    Exp,
    Log,
    Log1p,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    Reciprocal,
    Sin,
    Sqrt,
    Std,
    Sub,
    Where,
    maximum,
    minimum,
    where,
)
from .fused import BCE, BCEWithLogits, CrossEntropy, Linear
from .linalg import MatMul
from .reductions import Max, Min, Sum
from .shape import (
    BroadcastTo,
    Concatenate,
    GetItem,
    IndexAdd,
    Reshape,
    SetItem,
    Transpose,
    concatenate,
    stack,
)
