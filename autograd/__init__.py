"""A reverse-mode autograd engine on NumPy: tensors record operations into a graph, and
`backward()` walks it applying each operation's vector-Jacobian product."""

from pathlib import Path as _Path

# HIPS autograd (PyPI `autograd`) has the same import name: installed into the same place, its
# files and ours mix. These are files of that package this one never has.
_HIPS_FILES = ("numpy", "scipy", "core.py", "tracer.py", "wrap_util.py",
               "differential_operators.py")
_found = [name for name in _HIPS_FILES if (_Path(__file__).parent / name).exists()]
if _found:
    raise ImportError(
        f"autograd: {_Path(__file__).parent} holds files of HIPS autograd (PyPI 'autograd': "
        f"{', '.join(_found)}) beside this engine's. Both packages are imported as `autograd`, "
        "and installing one into an environment that has the other overwrites it, so neither "
        "works. Fix: install this engine into its own virtual environment (python -m venv "
        ".venv), or `pip uninstall autograd` until both are gone and reinstall the one you need.")

from numpy import float32, float64, int64  # noqa: E402  (the dtypes, as ag.float32 etc.)

from . import utils, viz  # noqa: E402  (after the check: a mixed directory fails first)
from .compile import CompileError, compile, replayed  # noqa: E402
from .creation import (  # noqa: E402
    arange,
    empty,
    eye,
    from_numpy,
    full,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .engine import grad  # noqa: E402
from .function import Function  # noqa: E402
from .functions import (  # noqa: E402
    abs,
    cat,
    clamp,
    clip,
    cos,
    exp,
    log,
    log1p,
    log_softmax,
    logsumexp,
    matmul,
    max,
    mean,
    min,
    mm,
    norm,
    permute,
    pow,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    sqrt,
    square,
    squeeze,
    std,
    sum,
    swapaxes,
    tanh,
    transpose,
    unsqueeze,
    var,
)
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402
from .ops import concatenate, maximum, minimum, stack, where  # noqa: E402
from .random import manual_seed  # noqa: E402
from .tensor import Tensor  # noqa: E402

__all__ = [
    "Tensor", "tensor", "zeros", "ones", "full", "eye", "arange", "zeros_like", "ones_like",
    "rand", "randn", "manual_seed", "no_grad", "enable_grad", "set_grad_enabled",
    "is_grad_enabled", "grad", "Function", "gradcheck", "gradgradcheck", "GradcheckError",
    "concatenate", "stack", "where", "maximum", "minimum", "utils", "viz",
    # PyTorch's and NumPy's names (API.md, "Coming from PyTorch")
    "empty", "linspace", "rand_like", "randn_like", "from_numpy", "float32", "float64", "int64",
    "cat", "exp", "log", "log1p", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "sum",
    "mean", "max", "min", "matmul", "reshape", "transpose", "swapaxes", "clip", "softmax",
    "log_softmax", "compile", "CompileError", "replayed", "randint", "randperm", "clamp", "pow",
    "square", "mm", "squeeze", "unsqueeze", "permute", "var", "std", "logsumexp", "norm",
]
