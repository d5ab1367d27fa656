"""A reverse-mode autograd engine on NumPy: tensors record operations into a graph, and
`backward()` walks it applying each operation's vector-Jacobian product."""

from . import viz
from .creation import arange, eye, full, ones, ones_like, rand, randn, tensor, zeros, zeros_like
from .engine import grad
from .function import Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import concatenate, maximum, minimum, stack, where
from .random import manual_seed
from .tensor import Tensor

__all__ = [
    "Tensor", "tensor", "zeros", "ones", "full", "eye", "arange", "zeros_like", "ones_like",
    "rand", "randn", "manual_seed", "no_grad", "enable_grad", "set_grad_enabled",
    "is_grad_enabled", "grad", "Function", "gradcheck", "gradgradcheck", "GradcheckError",
    "concatenate", "stack", "where", "maximum", "minimum", "viz",
]
