"""The one helper that checks any differentiable op, and the table of ops it is run over."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import autograd as ag
from nn import functional as F


def check_op(fn: Callable, reference: Callable, arrays: list[np.ndarray],
             second_order: bool = True, atol: float = 1e-5, rtol: float = 1e-3) -> None:
    """Forward against NumPy; VJP against central differences, element by element
    (ag.gradcheck) and along a random direction (<u, J v> against <J^T u, v>); the same for
    the VJP itself (ag.gradgradcheck)."""
    tensors = [ag.Tensor(a.astype(np.float64), requires_grad=True) for a in arrays]
    out = fn(*tensors)
    expected = reference(*[a.astype(np.float64) for a in arrays])
    np.testing.assert_allclose(out.data, expected, rtol=1e-7, atol=1e-10)
    assert out.shape == np.shape(expected)

    assert ag.gradcheck(fn, tensors, atol=atol, rtol=rtol)
    _check_direction(fn, tensors, atol, rtol)
    if second_order:
        assert ag.gradgradcheck(fn, tensors, atol=atol, rtol=rtol)
    _check_float32(fn, arrays)


FLOAT32_ULPS = 4


def _check_float32(fn: Callable, arrays: list[np.ndarray]) -> None:
    """The op in float32 against the same op in float64 on the same (float32-rounded) inputs,
    forward and first-order VJP, within FLOAT32_ULPS float32 ulps of the magnitudes summed:
    the inputs' for the forward (a sum that cancels is exact only to the ulps of its terms),
    and for a VJP sum_j |u_j| |J_ji|, from the float64 Jacobian (a gradient summed over
    broadcast or contracted axes is exact only to the ulps of its terms). Only the op's own
    rounding counts, not the inputs'."""
    singles = [a.astype(np.float32) for a in arrays]
    results, u = [], None
    for dtype in (np.float32, np.float64):
        tensors = [ag.Tensor(a.astype(dtype), requires_grad=True) for a in singles]
        out = fn(*tensors)
        if u is None:
            u = np.random.default_rng(3).standard_normal(out.shape).astype(np.float32)
        grads = ag.grad(out, tensors, grad_outputs=ag.Tensor(u.astype(dtype)), allow_unused=True)
        results.append([out, *grads])
    inputs_scale = max(float(np.max(np.abs(a), initial=0)) for a in singles)
    term_scales = _vjp_term_scales(fn, tensors, np.abs(u.astype(np.float64)))
    names = ["forward", *[f"VJP of input {i}" for i in range(len(arrays))]]
    for k, (name, single, double) in enumerate(zip(names, *results)):
        if double is None:
            assert single is None, name
            continue
        assert single.dtype == np.float32, f"{name}: float32 inputs gave {single.dtype}"
        scale = float(np.max(np.abs(double.data), initial=np.finfo(np.float32).tiny))
        scale = max(scale, inputs_scale if k == 0 else term_scales[k - 1])
        error = np.max(np.abs(single.data - double.data), initial=0)
        error_ulps = error / (np.finfo(np.float32).eps * scale)
        assert error_ulps <= FLOAT32_ULPS, f"{name}: float32 is {error_ulps:.1f} ulps off float64"


def _vjp_term_scales(fn: Callable, tensors: list[ag.Tensor], weights: np.ndarray) -> list[float]:
    """For each input i, max over its elements of sum_j weights_j |J_ji| (float64)."""
    out = fn(*tensors)
    totals = [np.zeros(t.shape) for t in tensors]
    for j in range(out.data.size):
        basis = np.zeros(out.shape)
        basis.reshape(-1)[j] = 1.0
        rows = ag.grad(out, tensors, grad_outputs=ag.Tensor(basis), retain_graph=True,
                       allow_unused=True)
        for total, row in zip(totals, rows):
            if row is not None:
                total += weights.reshape(-1)[j] * np.abs(row.data)
    return [float(np.max(total, initial=0)) for total in totals]


def _check_direction(fn: Callable, tensors: list[ag.Tensor], atol: float, rtol: float,
                     eps: float = 1e-6) -> None:
    rng = np.random.default_rng(7)
    out = fn(*tensors)
    u = rng.standard_normal(out.shape)
    vs = [rng.standard_normal(t.shape) for t in tensors]
    vjps = ag.grad(out, tensors, grad_outputs=ag.Tensor(u), allow_unused=True)
    analytic = sum(float(np.sum(g.data * v)) for g, v in zip(vjps, vs) if g is not None)
    with ag.no_grad():
        plus = fn(*[ag.Tensor(t.data + eps * v) for t, v in zip(tensors, vs)]).data
        minus = fn(*[ag.Tensor(t.data - eps * v) for t, v in zip(tensors, vs)]).data
    numeric = float(np.sum(u * (plus - minus) / (2 * eps)))
    assert abs(analytic - numeric) <= atol + rtol * abs(numeric), (analytic, numeric)


@dataclass
class Op:
    """An entry of the op table: how to call it, its NumPy reference, its inputs."""

    name: str
    fn: Callable
    reference: Callable
    shapes: list[tuple[tuple[int, ...], ...]]
    domain: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray] = field(
        default=lambda rng, shape: rng.standard_normal(shape))
    second_order: bool = True


def positive(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Away from kinks (relu, abs, clip bounds) so that finite differences are valid."""
    return rng.choice([-1, 1], shape) * rng.uniform(0.2, 2.0, shape)


def distinct(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """No ties, so max/min have one winner and finite differences see a smooth function."""
    return rng.permutation(np.prod(shape, dtype=int)).reshape(shape) * 0.37 + 0.1


def large_logits(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Logits around 1e4, where float32's ulp is about 1e-3: softmax must subtract the max
    before anything rounds."""
    return 1e4 + rng.standard_normal(shape)


def deep_negative(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Far into ELU's saturating side, where its slope alpha * exp(x) is small: a slope
    computed as y + alpha (y = elu(x) close to -alpha) loses float32 digits there."""
    return rng.uniform(-12.0, -1.0, shape)


def _assigned(a, index, b):
    """a with a[index] = b, out of place: recorded as SetItem for tensors."""
    out = a * 1  # a copy (a non-leaf for tensors), so the assignment leaves `a` alone
    out[index] = b
    return out


TARGETS = np.array([0, 3, 1])  # class targets for the cross-entropy rows
UNARY = [(3, 4), (5,), (), (2, 3, 2)]
BINARY = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (2, 3)), ((3, 1), (1, 3))]
AXES = [None, 0, -1, (0, 1)]


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _logsumexp(x, axis=None, keepdims=False):
    m = x.max(axis=axis, keepdims=True)
    out = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _all_reduce_sum(a):
    """In a world of one the sum over ranks is the identity (two ranks: test_distributed.py)."""
    from autograd import distributed
    from autograd.ops import AllReduceSum

    if not distributed.is_initialized():
        distributed.init_process_group()
    return AllReduceSum.apply(a)


OPS: list[Op] = [
    Op("add", lambda a, b: a + b, np.add, BINARY),
    Op("sub", lambda a, b: a - b, np.subtract, BINARY),
    Op("mul", lambda a, b: a * b, np.multiply, BINARY),
    Op("div", lambda a, b: a / b, np.divide, BINARY, positive),
    Op("pow", lambda a, b: a ** b, np.power, BINARY, positive),
    Op("rsub_scalar", lambda a: 2.5 - a, lambda a: 2.5 - a, [(s,) for s in UNARY]),
    Op("rdiv_scalar", lambda a: 3.0 / a, lambda a: 3.0 / a, [(s,) for s in UNARY], positive),
    Op("reciprocal", lambda a: 1.0 / a, np.reciprocal, [(s,) for s in UNARY], positive),
    Op("rpow_scalar", lambda a: 2.0 ** a, lambda a: 2.0 ** a, [(s,) for s in UNARY]),
    Op("pow_scalar", lambda a: a ** 3, lambda a: a ** 3, [(s,) for s in UNARY]),
    Op("neg", lambda a: -a, np.negative, [(s,) for s in UNARY]),
    Op("exp", lambda a: a.exp(), np.exp, [(s,) for s in UNARY]),
    Op("log", lambda a: a.log(), np.log, [(s,) for s in UNARY], positive),
    Op("sqrt", lambda a: a.sqrt(), np.sqrt, [(s,) for s in UNARY], positive),
    Op("sin", lambda a: a.sin(), np.sin, [(s,) for s in UNARY]),
    Op("cos", lambda a: a.cos(), np.cos, [(s,) for s in UNARY]),
    Op("log1p", lambda a: a.log1p(), np.log1p, [(s,) for s in UNARY], positive),
    Op("clone", lambda a: a.clone(), np.copy, [(s,) for s in UNARY]),
    Op("erf", ag.ops.Erf.apply, np.vectorize(math.erf, otypes=[float]), [(s,) for s in UNARY]),
    Op("abs", lambda a: a.abs(), np.abs, [(s,) for s in UNARY], away_from_zero),
    Op("clip", lambda a: a.clip(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5),
       [(s,) for s in UNARY], away_from_zero),
    # tensor bounds, broadcast, sometimes lo > hi; the shifts keep values off the bounds
    Op("clip_tensor_bounds", lambda a, lo, hi: a.clip(lo - 0.05, hi + 1.0),
       lambda a, lo, hi: np.clip(a, lo - 0.05, hi + 1.0), [((3, 4), (4,), (3, 1))], distinct),
    Op("sigmoid", lambda a: a.sigmoid(), _sigmoid, [(s,) for s in UNARY]),
    Op("tanh", lambda a: a.tanh(), np.tanh, [(s,) for s in UNARY]),
    Op("relu", lambda a: a.relu(), lambda a: np.maximum(a, 0), [(s,) for s in UNARY],
       away_from_zero),
    Op("leaky_relu", lambda a: a.leaky_relu(0.1), lambda a: np.where(a > 0, a, 0.1 * a),
       [(s,) for s in UNARY], away_from_zero),
    Op("elu", lambda a: a.elu(1.3), lambda a: np.where(a > 0, a, 1.3 * np.expm1(a)),
       [(s,) for s in UNARY], away_from_zero),
    Op("elu_saturating", lambda a: a.elu(1.3), lambda a: 1.3 * np.expm1(a),
       [(s,) for s in UNARY], deep_negative),
    Op("maximum", ag.maximum, np.maximum, BINARY),
    Op("minimum", ag.minimum, np.minimum, BINARY),
    Op("where", lambda a, b: ag.where(a.data > 0.5, a, b), lambda a, b: np.where(a > 0.5, a, b),
       BINARY),
    Op("bce", ag.ops.BCE.apply, lambda x, y: -(y * np.log(x) + (1 - y) * np.log1p(-x)),
       [((3, 4), (3, 4)), ((3, 4), (4,))], lambda rng, shape: rng.uniform(0.05, 0.95, shape)),
    Op("matmul_2d", lambda a, b: a @ b, np.matmul, [((3, 4), (4, 2))]),
    Op("matmul_vec_mat", lambda a, b: a @ b, np.matmul, [((4,), (4, 2)), ((3,), (2, 3, 2))]),
    Op("matmul_mat_vec", lambda a, b: a @ b, np.matmul, [((3, 4), (4,)), ((2, 3, 4), (4,))]),
    Op("matmul_vec_vec", lambda a, b: a @ b, np.matmul, [((4,), (4,))]),
    Op("matmul_batched", lambda a, b: a @ b, np.matmul,
       [((2, 3, 4), (2, 4, 2)), ((2, 3, 4), (4, 2)), ((3, 4), (2, 4, 2)),
        ((2, 1, 2, 3), (3, 3, 2))]),
    Op("softmax", lambda a: a.softmax(axis=-1), _softmax, [((3, 4),), ((5,),)]),
    Op("softmax_axis0", lambda a: a.softmax(axis=0), lambda a: _softmax(a, axis=0), [((3, 4),)]),
    Op("log_softmax", lambda a: a.log_softmax(axis=1), lambda a: np.log(_softmax(a, axis=1)),
       [((3, 4),), ((2, 3, 2),)]),
    Op("softmax_large_logits", lambda a: a.softmax(), _softmax, [((3, 4),)], large_logits),
    Op("log_softmax_large_logits", lambda a: a.log_softmax(),
       lambda a: np.log(_softmax(a)), [((3, 4),)], large_logits),
    Op("logsumexp_large_logits", lambda a: a.logsumexp(axis=-1),
       lambda a: _logsumexp(a, axis=-1), [((3, 4),)], large_logits),
    Op("reshape", lambda a: a.reshape(4, 3), lambda a: a.reshape(4, 3), [((3, 4),), ((2, 6),)]),
    Op("transpose", lambda a: a.transpose(2, 0, 1), lambda a: a.transpose(2, 0, 1),
       [((2, 3, 4),)]),
    Op("T", lambda a: a.T, lambda a: a.T, [((3, 4),), ((2, 3, 4),)]),
    Op("squeeze", lambda a: a.squeeze(1), lambda a: a.squeeze(1), [((3, 1, 2),)]),
    Op("expand_dims", lambda a: a.expand_dims(1), lambda a: np.expand_dims(a, 1), [((3, 2),)]),
    Op("broadcast_to", lambda a: a.broadcast_to((2, 3, 4)),
       lambda a: np.broadcast_to(a, (2, 3, 4)), [((3, 1),), ((4,),)]),
    Op("swapaxes", lambda a: a.swapaxes(0, -1), lambda a: np.swapaxes(a, 0, -1),
       [((2, 3, 4),), ((3, 4),)]),
    Op("flatten", lambda a: a.flatten(), lambda a: a.reshape(-1), [((2, 3),)]),
    Op("getitem_basic", lambda a: a[1:, ::2, None], lambda a: a[1:, ::2, None], [((3, 4),)]),
    Op("getitem_int_repeated", lambda a: a[[0, 2, 0, 0]], lambda a: a[[0, 2, 0, 0]],
       [((3, 4),)]),
    Op("getitem_mixed", lambda a: a[[1, 1], ..., 1:], lambda a: a[[1, 1], ..., 1:],
       [((3, 2, 4),)]),
    Op("getitem_split_advanced", lambda a: a[[0, 2, 0], :, 1], lambda a: a[[0, 2, 0], :, 1],
       [((3, 4, 2),)]),
    Op("getitem_mask", lambda a: a[a.data > 0], lambda a: a[a > 0], [((3, 4),)]),
    Op("concatenate", lambda a, b: ag.concatenate([a, b, a], axis=1),
       lambda a, b: np.concatenate([a, b, a], axis=1), [((2, 3), (2, 1))]),
    Op("stack", lambda a, b: ag.stack([a, b], axis=-1), lambda a, b: np.stack([a, b], axis=-1),
       [((2, 3), (2, 3))]),
    Op("all_reduce_sum", _all_reduce_sum, lambda a: a, [((3, 4),), ((),)]),
    Op("setitem", lambda a, b: _assigned(a, (slice(1, None), 0), b),
       lambda a, b: _assigned(a, (slice(1, None), 0), b), [((3, 4), (2,)), ((3, 4), ())]),
    Op("setitem_array", lambda a, b: _assigned(a, np.array([2, 0]), b),
       lambda a, b: _assigned(a, np.array([2, 0]), b), [((3, 4), (4,))]),
    Op("astype", lambda a: a.astype(a.dtype), lambda a: a.copy(), [((3, 4),)]),
    # The fused layers and losses, against their composed formulas.
    Op("linear", F.linear, lambda x, w, b: x @ w.T + b,
       [((4, 3), (2, 3), (2,)), ((2, 4, 3), (2, 3), (2,))]),
    Op("cross_entropy", lambda x: F.cross_entropy(x, TARGETS),
       lambda x: -np.mean(np.log(_softmax(x, axis=1))[np.arange(3), TARGETS]), [((3, 4),)]),
    Op("cross_entropy_large_logits", lambda x: F.cross_entropy(x, TARGETS),
       lambda x: -np.mean(np.log(_softmax(x, axis=1))[np.arange(3), TARGETS]), [((3, 4),)],
       large_logits),
    Op("cross_entropy_sum", lambda x: F.cross_entropy(x, TARGETS, reduction="sum"),
       lambda x: -np.sum(np.log(_softmax(x, axis=1))[np.arange(3), TARGETS]), [((3, 4),)]),
    Op("cross_entropy_none", lambda x: F.cross_entropy(x, TARGETS, reduction="none"),
       lambda x: -np.log(_softmax(x, axis=1))[np.arange(3), TARGETS], [((3, 4),)]),
    Op("bce_with_logits", F.binary_cross_entropy_with_logits,
       lambda x, y: np.mean(np.log1p(np.exp(x)) - x * y), [((3, 4), (3, 4))]),
]

def no_spread(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Rows of equal values: std's gradient there is 0 (central differences agree by
    symmetry; the second derivative does not exist)."""
    return np.broadcast_to(rng.standard_normal(shape[:-1] + (1,)), shape).copy()


REDUCTIONS: list[Op] = [
    Op("std_no_spread", lambda a: a.std(axis=-1), lambda a: a.std(axis=-1), [((3, 4),)],
       no_spread, second_order=False),
]
for _axis in AXES:
    for _keep in (False, True):
        _kw = {"axis": _axis, "keepdims": _keep}
        REDUCTIONS += [
            Op(f"sum{_kw}", lambda a, kw=_kw: a.sum(**kw), lambda a, kw=_kw: a.sum(**kw),
               [((3, 4),)]),
            Op(f"mean{_kw}", lambda a, kw=_kw: a.mean(**kw), lambda a, kw=_kw: a.mean(**kw),
               [((3, 4),)]),
            Op(f"max{_kw}", lambda a, kw=_kw: a.max(**kw), lambda a, kw=_kw: a.max(**kw),
               [((3, 4),)], distinct),
            Op(f"min{_kw}", lambda a, kw=_kw: a.min(**kw), lambda a, kw=_kw: a.min(**kw),
               [((3, 4),)], distinct),
            Op(f"var{_kw}", lambda a, kw=_kw: a.var(**kw, ddof=1),
               lambda a, kw=_kw: a.var(**kw, ddof=1), [((3, 4),)]),
            Op(f"std{_kw}", lambda a, kw=_kw: a.std(**kw), lambda a, kw=_kw: a.std(**kw),
               [((3, 4),)]),
            Op(f"norm{_kw}", lambda a, kw=_kw: a.norm(**kw),
               lambda a, kw=_kw: np.linalg.vector_norm(a, **kw), [((3, 4),)]),
            Op(f"norm_ord3{_kw}", lambda a, kw=_kw: a.norm(3, **kw),
               lambda a, kw=_kw: np.linalg.vector_norm(a, **kw, ord=3), [((3, 4),)],
               away_from_zero),
            Op(f"norm_ord_half{_kw}", lambda a, kw=_kw: a.norm(0.5, **kw),
               lambda a, kw=_kw: np.linalg.vector_norm(a, **kw, ord=0.5), [((3, 4),)],
               away_from_zero),
            Op(f"norm_inf{_kw}", lambda a, kw=_kw: a.norm(np.inf, **kw),
               lambda a, kw=_kw: np.linalg.vector_norm(a, **kw, ord=np.inf), [((3, 4),)], distinct),
            Op(f"logsumexp{_kw}", lambda a, kw=_kw: a.logsumexp(**kw),
               lambda a, kw=_kw: _logsumexp(a, **kw), [((3, 4),)]),
        ]
