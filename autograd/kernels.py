"""Elementwise activation kernels and their backward passes, and the sum of every element
(`pairwise_sum`, np.sum's result to the bit), compiled with Numba on first use.

Every elementwise function takes and returns plain NumPy arrays (float32 or float64, any shape
or layout, 0-d included); the result is a new array of the same shape and dtype. Scalars such
as `slope` and `alpha` are cast to the array's dtype, so float32 stays float32.

Design, from measurements on the 2-core AVX2 development machine (4M float32 elements):
- Numba's `math.exp` compiles to a scalar libm call (PyPI llvmlite has no SVML), and NumPy's
  SIMD `np.exp` alone took 6.8 ms, about twice PyTorch's whole sigmoid forward+backward. So
  exp and expm1 are written here: Cody-Waite range reduction, a polynomial, and 2**n built
  from the float's bits. LLVM vectorizes that, so each forward pass is one fused loop (read x,
  write y): sigmoid takes ~0.7 ns per element on one thread, NumPy's np.exp alone 1.6 ns.
- Each backward pass is one fused loop too (read two arrays, write one), where NumPy needs a
  temporary per operator. relu and leaky_relu, forward and backward, run at memory speed.
- Only exp of a non-positive argument is ever needed (sigmoid via exp(-|x|), tanh via
  expm1(-2|x|), elu via expm1(min(x, 0))), so nothing overflows and the limits are exact:
  sigmoid(-1000) == 0, tanh(1e4) == 1, elu(-1000) == -alpha. Results below the smallest
  normal float flush to 0. Measured error: at most 1.5 ulp, float32 and float64.
- Threads: above a size threshold (see `_PARALLEL_MIN_SIZE`), a `prange` over one contiguous
  chunk per thread, each chunk running the serial loop. A plain `prange` over the elements
  scaled only 1.6x on 2 threads, as its inner loop vectorized worse; chunks give 2.0x.
- `import autograd.kernels` imports only NumPy. Numba is imported at the first kernel call,
  and a loop is compiled (or loaded from Numba's disk cache) when first used, for the dtype it
  meets: loading one cached signature took 4-6 ms, two explicit signatures 6.5 ms. Where no
  cache directory is writable the kernels still run, compiled in memory. The first call in a
  fresh process costs ~0.55 s all the same: Numba's own import and start-up (which imports
  SciPy) take all but ~6 ms of it.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections.abc import Callable

import numpy as np

__all__ = [
    "sigmoid", "sigmoid_backward", "tanh", "tanh_backward", "relu", "relu_backward",
    "leaky_relu", "leaky_relu_backward", "elu", "elu_backward", "erf", "pairwise_sum",
]

# From this many elements a loop runs on all of Numba's threads. Measured on the idle 2-core
# machine, float32, preallocated output, best of three medians of 41 calls, microseconds for
# the serial loop / the parallel driver on 2 threads (OpenMP layer; the launch costs ~2 us):
#   size       sigmoid     tanh        elu        relu      leaky fwd  backward (3 kinds)
#   8192       5.2/5.0     5.6/5.0     4.3/4.5    1.3/2.7   1.4/2.8    1.6/2.9-3.0
#   16384      9.6/7.0     10.6/7.4    7.8/6.0    1.9/3.1   3.0/3.9    2.5-3.8/3.5-4.1
#   32768      18.7/11.5   20.5/12.4   15.0/9.7   3.3/3.8   4.2/4.2    4.9-5.7/4.7-5.5
#   65536      38.1/21.1   41.2/22.7   30.4/17.2  8.4/5.3   7.5/5.3    14.2-14.9/7.0-7.1
# Alone, threads save 25% or more from 16K elements (sigmoid, tanh, elu) and 64K (the rest).
# But in training an activation follows a matrix product, and OpenBLAS's threads keep spinning
# on both cores after it: a parallel launch then waits for them. Measured on 2 cores, a 512x512
# GEMM followed by relu + sigmoid, serial / parallel: 3.0 / 8.0 ms at 128K elements, 2.8 / 8.0
# at 1M, 5.5 / 16 at 4M; a 784-512-256-10 MLP Adam step took 39.5 ms with threads from 64K
# and 8.6 ms with none. So threads only from 4M elements, where an activation on its own takes
# 3-5 ms serially and two threads save 1.5-2 ms (next to BLAS they still lose).
_PARALLEL_MIN_SIZE = 1 << 22

# From this many elements pairwise_sum runs its loop rather than np.sum: 2.2x faster at 64K
# float32 elements (10 us against 22), 1.5x at 4M on one thread (1.55 ms against 2.39).
_SUM_MIN_SIZE = 1 << 16


# ---- public API -----------------------------------------------------------------------------

def sigmoid(x: np.ndarray) -> np.ndarray:
    """y = 1 / (1 + exp(-x)), evaluated through exp(-|x|)."""
    return _run("sigmoid", x)


def sigmoid_backward(y: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """dx = grad * y * (1 - y), with y = sigmoid(x)."""
    return _run("sigmoid_backward", y, grad)


def tanh(x: np.ndarray) -> np.ndarray:
    """y = tanh(x) = sign(x) * -m / (2 + m) with m = expm1(-2|x|)."""
    return _run("tanh", x)


def tanh_backward(y: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """dx = grad * (1 - y*y), with y = tanh(x)."""
    return _run("tanh_backward", y, grad)


def relu(x: np.ndarray) -> np.ndarray:
    """y = max(x, 0); NaN stays NaN."""
    return _run("relu", x)


def relu_backward(y: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """dx = grad where y > 0, else 0; y = relu(x)."""
    return _run("relu_backward", y, grad)


def leaky_relu(x: np.ndarray, slope: float) -> np.ndarray:
    """y = x if x > 0 else slope * x."""
    return _run("leaky_relu", x, None, slope)


def leaky_relu_backward(x: np.ndarray, grad: np.ndarray, slope: float) -> np.ndarray:
    """dx = grad if x > 0 else slope * grad (takes the input x, not y)."""
    return _run("leaky_relu_backward", x, grad, slope)


def elu(x: np.ndarray, alpha: float) -> np.ndarray:
    """y = x if x > 0 else alpha * (exp(x) - 1), through expm1 so small |x| keeps precision."""
    return _run("elu", x, None, alpha)


def elu_backward(x: np.ndarray, grad: np.ndarray, alpha: float) -> np.ndarray:
    """dx = grad if x > 0 else grad * alpha * exp(x) (takes the input x: computed from the
    output y, as grad * (y + alpha), the slope would lose float32 digits where y is close to
    -alpha: float32 slopes 9e4 ulps off at x = -12, now about 1)."""
    return _run("elu_backward", x, grad, alpha)


def erf(x: np.ndarray) -> np.ndarray:
    """y = erf(x) = 2/sqrt(pi) * integral of exp(-t^2) from 0 to x, by libm (GELU needs it)."""
    return _run("erf", x)


def pairwise_sum(a: np.ndarray) -> np.generic:
    """np.sum(a) over every element, to the bit: NumPy's pairwise summation, whose eight
    interleaved partial sums (added one at a time by NumPy) are one vector register here.

    A float32 or float64 array of _SUM_MIN_SIZE elements or more, C- or Fortran-contiguous,
    takes the loop (on all threads from _PARALLEL_MIN_SIZE); anything else goes to np.sum, and
    so does an inf or NaN total, for NumPy's RuntimeWarning (overflow, inf - inf).
    """
    if a.size < _SUM_MIN_SIZE or a.dtype not in _FLOAT_DTYPES or not (
            a.flags.c_contiguous or a.flags.f_contiguous) \
            or _capture.tape is not None:  # ag.compile records the NumPy call
        return np.add.reduce(a, None)  # what np.sum(a) calls, without its Python wrapper
    out = np.empty(1, a.dtype)
    flat = a.ravel("K")  # memory order, as NumPy's reduction walks a contiguous array
    _launch("pairwise_sum", a.size, (flat, flat, out, a.dtype.type(0)))
    total = out[0]
    return total if math.isfinite(total) else np.add.reduce(a, None)  # NumPy's warnings


# ---- driver ---------------------------------------------------------------------------------

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class _NotCapturing:
    tape = None


_capture: object = _NotCapturing  # ag.compile's state (set by autograd.compile on import)


_NO_PARAM = 0.0  # _run's default: the small path then passes a zero it keeps, not a new one


def _run(name: str, a: np.ndarray, b: np.ndarray | None = None,
         param: float = _NO_PARAM) -> np.ndarray:
    """Run loop `name` on `a` (and `b`) into a new array shaped like `a`."""
    if _capture.tape is not None:  # ag.compile is capturing a step: one recorded call
        return _capture.tape.kernel(name, a, b, param)
    serial = _serial.get((name, a.dtype))
    if serial is not None and a.size < _PARALLEL_MIN_SIZE and a.flags.carray and (
            b is None or b.flags.carray and b.shape == a.shape and b.dtype == a.dtype):
        # The small path: what the dispatcher would pick, without its type resolution.
        loop, zero = serial
        out = np.empty(a.shape, a.dtype)
        flat = a.reshape(-1)
        loop(flat, flat if b is None else b.reshape(-1), out.reshape(-1),
             zero if param is _NO_PARAM else a.dtype.type(param))
        return out
    b, order = _checked(name, a, b)
    out = np.empty(a.shape, a.dtype, order=order)
    if out.size:
        _into(name, a, b, out, order, param)
        if out.size < _PARALLEL_MIN_SIZE:
            _serial_loop(name, a.dtype)
    return out


def _checked(name: str, a: np.ndarray, b: np.ndarray | None) -> tuple[np.ndarray, str]:
    """(b, or a when None; the order of the result), or an error naming the kernel."""
    if a.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"kernels.{name}: expected float32 or float64, got {a.dtype}")
    if b is None:
        b = a
    elif b.shape != a.shape or b.dtype != a.dtype:
        raise ValueError(f"kernels.{name}: arrays differ: {a.shape} {a.dtype} "
                         f"and {b.shape} {b.dtype}")
    # Pair elements in memory order: Fortran order when both are Fortran-contiguous (and not
    # also C-contiguous), else C order. ravel() is a view when the layout allows, else a copy.
    flags = a.flags
    order = "C" if flags.c_contiguous or not (flags.f_contiguous and b.flags.f_contiguous) \
        else "F"
    return b, order


def _into(name: str, a: np.ndarray, b: np.ndarray, out: np.ndarray, order: str,
          param: float) -> None:
    flat = a.ravel(order)
    _launch(name, out.size, (flat, flat if b is a else _flat(b, order), out.ravel(order),
                             a.dtype.type(param)))


def _launch(name: str, size: int, args: tuple) -> None:
    """Run loop `name` on `args`: serially below _PARALLEL_MIN_SIZE elements, else its
    parallel driver on all threads."""
    if size < _PARALLEL_MIN_SIZE or _forked:
        (_jitted.get((name, False)) or _compiled(name, parallel=False))(*args)
    else:
        with _launch_lock:
            _threads_used.set()
            _compiled(name, parallel=True)(*args, _numba.get_num_threads())


def prepared(name: str, a: np.ndarray, b: np.ndarray, param: float, out: np.ndarray,
             order: str) -> Callable[[], None]:
    """What runs loop `name` on `a` and `b` into `out` as `_run` does, again and again
    (ag.compile's replay): the serial loop on flat views where the arrays are contiguous."""
    if out.size and out.size < _PARALLEL_MIN_SIZE and all(x.flags.carray for x in (a, b, out)):
        return functools.partial(_serial_loop(name, a.dtype)[0], a.reshape(-1), b.reshape(-1),
                                 out.reshape(-1), a.dtype.type(param))
    return functools.partial(_into, name, a, b, out, order, param) if out.size else _nothing


def _nothing() -> None:
    pass


def _flat(b: np.ndarray, order: str) -> np.ndarray | np.generic:
    """`b` as a 1-D array, or as its one value if that is broadcast to every element (the
    gradient of a sum): ravel() would first write it out in full (16 MiB for 4M float32), and
    the loops compiled for one value vectorize where a stride-0 view made them branch or
    gather (1M float32 on one thread, best of 51: every backward 390-414 us, was 435 (relu,
    which had a branch for it), 526-585 (sigmoid, tanh, leaky_relu) and 682 (elu))."""
    if b.ndim and b.size > 1 and not any(b.strides):
        return b.flat[0]
    return b.ravel(order)


# One parallel launch at a time: Numba's workqueue threading layer (its fallback when neither
# TBB nor OpenMP is installed) aborts on concurrent launches, and a launch uses every core.
_launch_lock = threading.Lock()
_threads_used = threading.Event()
_forked = False  # in a child forked after a parallel launch: stay on one thread


def _after_fork_in_child() -> None:
    # GNU OpenMP aborts the process ("fork() called from a process already using GNU
    # OpenMP") if a forked child launches threads after its parent did.
    global _forked
    _forked = _forked or _threads_used.is_set()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# ---- compiled loops -------------------------------------------------------------------------
# Plain Python until _load_numba() runs. Every loop has the signature (a, b, out, param) so one
# parallel driver fits all: unary loops get b = a and ignore it; `param` is always of the
# arrays' dtype, and loops without a parameter use it only for its type. The scalar
# functions called (_sigmoid1, _zero, ...) are stubs that _load_numba() implements once per
# dtype, with constants of that dtype.

def _sigmoid_loop(x, _b, out, _param):
    for i in range(out.size):
        out[i] = _sigmoid1(x[i])


def _sigmoid_backward_loop(y, g, out, param):
    one = _one(param)
    for i in range(out.size):
        out[i] = _at(g, i) * (y[i] * (one - y[i]))


def _tanh_loop(x, _b, out, _param):
    for i in range(out.size):
        out[i] = _tanh1(x[i])


def _tanh_backward_loop(y, g, out, param):
    one = _one(param)
    for i in range(out.size):
        out[i] = _at(g, i) * (one - y[i] * y[i])


def _relu_loop(x, _b, out, param):
    zero = _zero(param)
    for i in range(out.size):
        out[i] = zero if x[i] <= zero else x[i]


def _relu_backward_loop(y, g, out, param):
    zero = _zero(param)
    for i in range(out.size):
        out[i] = _at(g, i) if y[i] > zero else zero


def _leaky_relu_loop(x, _b, out, slope):
    zero = _zero(slope)
    for i in range(out.size):
        out[i] = x[i] if x[i] > zero else x[i] * slope


def _leaky_relu_backward_loop(x, g, out, slope):
    zero = _zero(slope)
    for i in range(out.size):
        out[i] = _at(g, i) if x[i] > zero else _at(g, i) * slope


def _elu_loop(x, _b, out, alpha):
    for i in range(out.size):
        out[i] = _elu1(x[i], alpha)


def _elu_backward_loop(x, g, out, alpha):
    for i in range(out.size):
        out[i] = _at(g, i) * _elu_slope1(x[i], alpha)


def _erf_loop(x, _b, out, _param):
    for i in range(out.size):
        out[i] = math.erf(x[i])


def _pairwise_sum_loop(a, _b, out, zero):
    out[0] = zero + _pairwise(a, 0, a.size, zero)  # NumPy's reduction starts from 0: -0.0 + 0


_LOOPS = {
    "sigmoid": _sigmoid_loop, "sigmoid_backward": _sigmoid_backward_loop,
    "tanh": _tanh_loop, "tanh_backward": _tanh_backward_loop,
    "relu": _relu_loop, "relu_backward": _relu_backward_loop,
    "leaky_relu": _leaky_relu_loop, "leaky_relu_backward": _leaky_relu_backward_loop,
    "elu": _elu_loop, "elu_backward": _elu_backward_loop, "erf": _erf_loop,
    "pairwise_sum": _pairwise_sum_loop,
}


def _parallel_driver(loop):
    """Run `loop` on `chunks` contiguous pieces, one per thread.

    Numba keys a closure's disk cache by its pickled cells, here the loop's qualified name,
    so the driver of each loop is cached apart (checked: cache hits in a new process).
    """
    def driver(a, b, out, param, chunks):
        step = -(-out.size // chunks)
        for c in _prange(chunks):
            part = slice(c * step, (c + 1) * step)
            loop(a[part], _part(b, part), out[part], param)
    return driver


def _parallel_pairwise_sum(a, _b, out, zero, threads):
    """The pairwise sum with the top `levels` of NumPy's halving tree cut off: their
    2**levels subtrees are summed in parallel, then added back up level by level."""
    levels = 0
    while 1 << levels < threads and a.size >> levels >= 512:  # every cut node is > 128
        levels += 1
    bounds = np.zeros((1 << levels) + 1, np.intp)
    bounds[1] = a.size
    for level in range(levels):  # the nodes of one level, left to right
        for k in range((1 << level) - 1, -1, -1):
            start, stop = bounds[k], bounds[k + 1]
            bounds[2 * k + 2] = stop
            bounds[2 * k + 1] = start + _half(stop - start)
            bounds[2 * k] = start
    sums = np.empty(1 << levels, a.dtype)
    for k in _prange(1 << levels):
        sums[k] = _pairwise(a, bounds[k], bounds[k + 1] - bounds[k], zero)
    for level in range(levels):
        for k in range(len(sums) >> (level + 1)):
            sums[k] = sums[2 * k] + sums[2 * k + 1]
    out[0] = zero + sums[0]


def _half(n):
    """Where NumPy's pairwise summation splits n elements: about half, a multiple of 8."""
    return n // 2 - n // 2 % 8


def _pairwise(a, start, n, zero):
    """NumPy's pairwise sum of a[start:start + n], its recursion unrolled (Numba cannot cache
    a recursive function): go down left halves, stacking the right ones; a finished subtree
    is added to the finished left sibling found at its depth on the stack."""
    rights = np.empty((64, 3), np.intp)  # start, size, depth of the right halves to sum
    sums, depths = np.empty(64, a.dtype), np.empty(64, np.intp)
    pending = done = depth = 0
    while True:
        while n > 128:
            half = _half(n)
            depth += 1
            rights[pending, 0] = start + half
            rights[pending, 1] = n - half
            rights[pending, 2] = depth
            pending += 1
            n = half
        total = _block_sum(a, start, n, zero)
        while done and depths[done - 1] == depth:
            done -= 1
            total = sums[done] + total
            depth -= 1
        sums[done], depths[done] = total, depth
        done += 1
        if not pending:
            return sums[0]
        pending -= 1
        start, n, depth = rights[pending, 0], rights[pending, 1], rights[pending, 2]


def _block_sum(a, start, n, zero):
    """NumPy's sum of at most 128 elements: eight interleaved partial sums, then the rest."""
    if n < 8:
        total = zero
        for i in range(start, start + n):
            total += a[i]
        return total
    r = _lane_sums(a, start, n // 8)
    total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for i in range(start + n - n % 8, start + n):
        total += a[i]
    return total


def _lane_sums(a, start, rows):
    """(s_0, ..., s_7) with s_j = a[start + j] + a[start + 8 + j] + ... over `rows` rows, in
    that order (stub: an intrinsic adding 8-wide vectors, as LLVM's SLP pass is off in Numba)."""


_prange = range  # numba.prange once Numba is loaded


def _sigmoid1(v):
    """Scalar sigmoid (stub, see _scalar_functions)."""


def _tanh1(v):
    """Scalar tanh (stub)."""


def _elu1(v, alpha):
    """Scalar elu (stub)."""


def _elu_slope1(v, alpha):
    """Scalar elu derivative, 1 or alpha * exp(v) (stub)."""


def _zero(v):
    """0 of v's dtype (stub)."""


def _at(g, i):
    """g[i], or g if it is one value for every element (stub)."""


def _part(b, piece):
    """b[piece], or b if it is one value (stub)."""


def _one(v):
    """1 of v's dtype (stub)."""


def _scalar_functions(dtype, njit, pow2_from_shifted):
    """Plain-Python scalar functions for one dtype, every constant of that dtype."""
    T = dtype.type
    zero, one, two = T(0), T(1), T(2)
    if dtype == np.float32:
        # Cephes expf: |r| <= ln2/2, ln2 split so that n * ln2_hi is exact.
        lowest, ln2_hi, ln2_lo = T(-87.3), T(0.693359375), T(-2.12194440e-4)
        shifter = T(1.5 * 2.0**23)
        coefs = tuple(T(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                                     4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))
    else:
        # fdlibm's ln2 split; Taylor series to r**13 / 13!, truncation below 2e-17.
        lowest, ln2_hi = T(-708.3), T(6.93147180369123816490e-01)
        ln2_lo = T(1.90821492927058770002e-10)
        shifter = T(1.5 * 2.0**52)
        coefs = tuple(T(1.0 / math.factorial(k)) for k in range(13, 1, -1))
    log2e = T(1.0 / math.log(2.0))

    @njit(fastmath={"contract"}, error_model="numpy")
    def exp_parts(a):
        """(s, q) with exp(a) = s * (1 + q) and expm1(a) = (s - 1) + s * q, for a <= 0.

        s = 0 below `lowest`, where exp(a) is subnormal: exp flushes to 0, expm1 is -1.
        """
        clamped = lowest if a < lowest else a
        shifted = clamped * log2e + shifter  # n = round(a / ln2) lands in the low bits
        n = shifted - shifter
        r = (clamped - n * ln2_hi) - n * ln2_lo
        p = coefs[0]
        for k in range(1, len(coefs)):
            p = p * r + coefs[k]
        q = r + r * r * p
        s = zero if a < lowest else pow2_from_shifted(shifted)
        return s, q

    def sigmoid1(v):
        s, q = exp_parts(-abs(v))
        e = s + s * q
        return (one if v >= zero else e) / (one + e)

    def tanh1(v):
        s, q = exp_parts(-two * abs(v))
        m = (s - one) + s * q
        return math.copysign(-m / (two + m), v)

    def elu1(v, alpha):
        s, q = exp_parts(zero if v > zero else v)
        return v if v > zero else alpha * ((s - one) + s * q)

    def elu_slope1(v, alpha):
        s, q = exp_parts(zero if v > zero else v)
        return one if v > zero else alpha * (s + s * q)

    def zero1(v):
        return zero

    def one1(v):
        return one

    return {_sigmoid1: sigmoid1, _tanh1: tanh1, _elu1: elu1, _elu_slope1: elu_slope1,
            _zero: zero1, _one: one1}


# ---- loading and caching --------------------------------------------------------------------

_numba = None
_jitted: dict = {}
_load_lock = threading.Lock()
_OPTIONS = dict(nogil=True, error_model="numpy", fastmath={"contract"})


def _compiled(name: str, parallel: bool):
    """The serial loop `name`, or its parallel driver, compiling on first use."""
    try:
        return _jitted[name, parallel]
    except KeyError:
        with _load_lock:
            if _numba is None:
                _load_numba()
            if (name, parallel) not in _jitted:
                loop = _LOOPS[name]
                func = loop if not parallel else _parallel_pairwise_sum \
                    if loop is _pairwise_sum_loop else _parallel_driver(loop)
                _jitted[name, parallel] = _jit(func, parallel=parallel, **_OPTIONS)
        return _jitted[name, parallel]


# (name, dtype) -> (the serial loop's compiled entry point for 1-D C-contiguous aligned
# writeable arrays of dtype and a scalar of dtype, that dtype's zero). Called directly, it
# skips the dispatcher's typing of the four arguments and _run's three Python calls below it.
_serial: dict = {}


def _serial_loop(name: str, dtype: np.dtype):
    """What _serial holds for (name, dtype), compiling or loading the loop first."""
    try:
        return _serial[name, dtype]
    except KeyError:
        loop = _compiled(name, parallel=False)  # imports Numba if need be
        flat, scalar = np.empty(1, dtype), dtype.type(0)
        entry = loop.compile(tuple(map(_numba.typeof, (flat, flat, flat, scalar))))
        _serial[name, dtype] = entry, scalar
        return _serial[name, dtype]


def jit(func, *helpers):
    """`func` compiled by Numba on its first call, cached on disk as the loops here are, with
    NumPy's error model but no contraction into FMAs: each operation rounds as NumPy's does,
    for loops that must give NumPy's result bit for bit (Adam's fused update). `helpers` are
    the plain functions it calls, compiled with it."""
    options = dict(nogil=True, error_model="numpy")
    with _load_lock:
        if _numba is None:
            _load_numba()
        for helper in helpers:
            _numba.extending.register_jitable(**options)(helper)
    return _jit(func, **options)


def _jit(func, **options):
    """numba.njit(func) with the disk cache, or without it when no cache dir is writable."""
    try:
        return _numba.njit(cache=True, **options)(func)
    except RuntimeError:  # no writable cache dir: neither beside the source nor user-wide
        pass
    cache_dir = _private_temp_cache_dir()
    if cache_dir is not None:
        config = _numba.core.config
        saved, config.CACHE_DIR = config.CACHE_DIR, cache_dir  # read by the decorator only
        try:
            return _numba.njit(cache=True, **options)(func)
        except RuntimeError:
            pass
        finally:
            config.CACHE_DIR = saved
    return _numba.njit(cache=False, **options)(func)


def _private_temp_cache_dir() -> str | None:
    """A cache dir under the temp dir that only this user can write, or None."""
    import tempfile

    path = os.path.join(tempfile.gettempdir(), f"autograd-numba-cache-{os.getuid()}")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.stat(path)
    except OSError:
        return None
    # Numba unpickles its cache files: refuse a directory that others can write to.
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        return None
    return path


def _load_numba() -> None:
    """Import Numba; give the stubs their per-dtype implementations; let drivers call loops."""
    global _numba, _prange
    import numba
    from llvmlite import ir
    from numba.core import cgutils, types
    from numba.extending import intrinsic, overload, register_jitable

    @intrinsic
    def pow2_from_shifted(typingctx, shifted):
        """2**n from shifted = 1.5 * 2**mantissa_bits + n: add the bias, shift to exponent."""
        if shifted == types.float32:
            bits, bias, mantissa = 32, 127, 23
        elif shifted == types.float64:
            bits, bias, mantissa = 64, 1023, 52
        else:
            return None

        def codegen(context, builder, signature, args):
            int_type = ir.IntType(bits)
            n = builder.add(builder.bitcast(args[0], int_type), ir.Constant(int_type, bias))
            exponent = builder.shl(n, ir.Constant(int_type, mantissa))
            return builder.bitcast(exponent, args[0].type)

        return shifted(shifted), codegen

    @intrinsic
    def lane_sums(typingctx, a, start, rows):
        """_lane_sums: one 8-wide vector load and add per row, no fast-math flags."""
        def codegen(context, builder, signature, args):
            data = context.make_array(signature.args[0])(context, builder, args[0]).data
            item = context.get_data_type(signature.args[0].dtype)
            vector = ir.VectorType(item, 8).as_pointer()
            base = builder.gep(data, [args[1]])
            one = ir.Constant(args[2].type, 1)

            def load(row):
                row_start = builder.gep(base, [builder.shl(row, ir.Constant(row.type, 3))])
                return builder.load(builder.bitcast(row_start, vector),
                                    align=item.get_abi_size(context.target_data))

            acc = cgutils.alloca_once_value(builder, load(ir.Constant(args[2].type, 0)))
            with cgutils.for_range_slice(builder, one, args[2], one) as (row, _):
                builder.store(builder.fadd(builder.load(acc), load(row)), acc)
            lanes = builder.load(acc)
            return context.make_tuple(builder, signature.return_type, [
                builder.extract_element(lanes, ir.Constant(ir.IntType(32), j))
                for j in range(8)])

        return types.UniTuple(a.dtype, 8)(a, types.intp, types.intp), codegen

    impls = {numba.from_dtype(dtype): _scalar_functions(dtype, numba.njit, pow2_from_shifted)
             for dtype in _FLOAT_DTYPES}

    def typer(stub):
        if stub is _elu1 or stub is _elu_slope1:
            return lambda v, alpha: impls.get(v, {}).get(stub)
        return lambda v: impls.get(v, {}).get(stub)

    for stub in (_sigmoid1, _tanh1, _elu1, _elu_slope1, _zero, _one):
        overload(stub, jit_options=_OPTIONS)(typer(stub))
    for stub in (_at, _part):
        overload(stub, jit_options=_OPTIONS)(
            lambda b, i: (lambda b, i: b[i]) if isinstance(b, types.Array) else (lambda b, i: b))
    overload(_lane_sums, jit_options=_OPTIONS)(
        lambda a, start, rows: lambda a, start, rows: lane_sums(a, start, rows))
    for helper in (*_LOOPS.values(), _half, _pairwise, _block_sum):
        register_jitable(**_OPTIONS)(helper)
    _prange = numba.prange
    _numba = numba
