"""Numerical gradient checks: analytic vector-Jacobian products against central differences.

With a random output weighting u, the analytic side is one backward pass, J^T u; the numeric
side perturbs each input element by +-eps and takes (<u, f(x + eps)> - <u, f(x - eps)>) / 2eps.
Everything runs in float64 copies of the inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .engine import grad
from .grad_mode import enable_grad, no_grad
from .tensor import Tensor


class GradcheckError(RuntimeError):
    """An analytic gradient disagrees with the finite-difference one."""


def _as_tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _float64_copies(inputs: Sequence[Any]) -> list[Any]:
    return [Tensor(t.data.astype(np.float64), requires_grad=t.requires_grad)
            if isinstance(t, Tensor) and t.dtype.kind == "f" else t for t in inputs]


def _check_arguments(name: str, inputs: Sequence[Any], eps: float) -> None:
    """A check with nothing to differentiate, or no step, would prove nothing."""
    if not any(isinstance(t, Tensor) and t.requires_grad for t in inputs):
        raise ValueError(f"{name}: no input requires grad, so there is no gradient to check; "
                         "pass tensors with requires_grad=True")
    if not eps > 0:
        raise ValueError(f"{name}: eps must be positive; got {eps}")


def gradcheck(fn: Callable[..., Any], inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check fn's VJP for every input that requires grad, element by element.

    Returns True; on a mismatch raises GradcheckError naming the input, the element, both
    values and the tolerance (or returns False with raise_exception=False).
    """
    inputs = _float64_copies(_as_tuple(inputs))
    _check_arguments("gradcheck", inputs, eps)
    outputs = _as_tuple(fn(*inputs))
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(np.shape(o)) for o in outputs]
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    analytic = [np.zeros(inputs[i].shape) for i in wrt]
    recorded = [k for k, o in enumerate(outputs) if isinstance(o, Tensor) and o.requires_grad]
    if recorded and wrt:
        grads = grad([outputs[k] for k in recorded], [inputs[i] for i in wrt],
                     grad_outputs=[Tensor(weights[k]) for k in recorded], allow_unused=True)
        analytic = [a if g is None else g.data.astype(np.float64)
                    for a, g in zip(analytic, grads)]

    def weighted_output() -> float:
        with no_grad():
            values = _as_tuple(fn(*inputs))
        return sum(float(np.sum(np.asarray(v, dtype=np.float64) * w))
                   for v, w in zip(values, weights))

    for position, i in enumerate(wrt):
        values = inputs[i].data  # perturbed in place by index, whatever its layout
        for element in np.ndindex(values.shape):
            original = values[element]
            values[element] = original + eps
            plus = weighted_output()
            values[element] = original - eps
            minus = weighted_output()
            values[element] = original
            numeric = (plus - minus) / (2 * eps)
            value = analytic[position][element]
            if not abs(value - numeric) <= atol + rtol * abs(numeric):
                message = (f"gradcheck: input {i} (shape {inputs[i].shape}), element "
                           f"{tuple(int(e) for e in element)}: analytic {value:.8g} vs numeric "
                           f"{numeric:.8g}; |difference| {abs(value - numeric):.3g} exceeds "
                           f"atol {atol:g} + rtol {rtol:g} * |numeric|")
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def gradgradcheck(fn: Callable[..., Any], inputs: Any, grad_outputs: Any = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True) -> bool:
    """gradcheck of the first-order VJP (x, u) -> J(x)^T u, recorded with create_graph:
    checks second derivatives, and the VJP's own dependence on u."""
    inputs = _float64_copies(_as_tuple(inputs))
    _check_arguments("gradgradcheck", inputs, eps)
    with no_grad():
        shapes = [np.shape(o) for o in _as_tuple(fn(*inputs))]
    if grad_outputs is None:
        rng = np.random.default_rng(1)
        grad_outputs = [Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    else:
        grad_outputs = _float64_copies(_as_tuple(grad_outputs))
    n = len(inputs)
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]

    @enable_grad()  # also while gradcheck evaluates it for finite differences
    def first_order(*args: Any) -> tuple:
        xs, us = args[:n], args[n:]
        outputs = _as_tuple(fn(*xs))
        pairs = [(o, u) for o, u in zip(outputs, us) if isinstance(o, Tensor) and o.requires_grad]
        grads = grad([o for o, _ in pairs], [xs[i] for i in wrt],
                     grad_outputs=[u for _, u in pairs], create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_order, (*inputs, *grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
