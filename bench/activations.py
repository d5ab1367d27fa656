"""The activation kernels: forward + backward on 4M float32 elements, and first-use latency.

Measured twice: the kernels alone, and through the engine as a user runs them
(`f(x).sum().backward()`: the backward gets the sum's broadcast gradient, and the engine's
bookkeeping is included), each beside PyTorch doing the same, their runs taken in turn.

For each activation: ours (autograd.kernels), PyTorch through its autograd (`y = f(x);
y.backward(g)` with x requiring grad, at the same thread count), and the best plain NumPy
expression I found (single-threaded, as NumPy is; its temporaries each cost page faults). The
floor row is the memory traffic alone: a forward reads x and writes y, a backward reads two
arrays and writes one, so 5 x 16 MiB move; it is timed as copies of the same bytes.
"""

import ctypes
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

from autograd import kernels
from bench.common import THREADS, Table, interleaved_medians, load_torch, median_seconds

N = 4 * 1024 * 1024
SLOPE, ALPHA = 0.01, 1.0


def _ours():
    k = kernels
    return {
        "sigmoid": lambda x, g: k.sigmoid_backward(k.sigmoid(x), g),
        "tanh": lambda x, g: k.tanh_backward(k.tanh(x), g),
        "relu": lambda x, g: k.relu_backward(k.relu(x), g),
        "leaky_relu": lambda x, g: (k.leaky_relu(x, SLOPE), k.leaky_relu_backward(x, g, SLOPE)),
        "elu": lambda x, g: (k.elu(x, ALPHA), k.elu_backward(x, g, ALPHA)),
    }


def _numpy_sigmoid(x, g):
    e = np.abs(x)
    np.negative(e, out=e)
    np.exp(e, out=e)  # exp(-|x|): no overflow
    y = np.where(x >= 0, np.float32(1), e)
    e += 1
    y /= e
    dx = 1 - y
    dx *= y
    dx *= g
    return dx


def _numpy_tanh(x, g):
    y = np.tanh(x)
    dx = y * y
    np.subtract(1, dx, out=dx)
    dx *= g
    return dx


def _numpy_relu(x, g):
    y = np.maximum(x, 0)
    return y, np.where(y > 0, g, np.float32(0))


def _numpy_leaky_relu(x, g):
    positive = x > 0
    y = np.where(positive, x, x * np.float32(SLOPE))
    return y, np.where(positive, g, g * np.float32(SLOPE))


def _numpy_elu(x, g):
    negative = np.minimum(x, 0)
    y = np.expm1(negative)
    y *= np.float32(ALPHA)
    np.copyto(y, x, where=x > 0)
    dx = np.exp(negative, out=negative)  # the slope from x, as ours: y + alpha would cancel
    dx *= np.float32(ALPHA)
    dx *= g
    np.copyto(dx, g, where=x > 0)
    return dx


NUMPY = {"sigmoid": _numpy_sigmoid, "tanh": _numpy_tanh, "relu": _numpy_relu,
         "leaky_relu": _numpy_leaky_relu, "elu": _numpy_elu}


def _torch_cases(torch, x, g):
    f = torch.nn.functional
    functions = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
                 "leaky_relu": lambda t: f.leaky_relu(t, SLOPE), "elu": lambda t: f.elu(t, ALPHA)}
    xt = torch.from_numpy(x).requires_grad_()
    gt = torch.from_numpy(g)

    def case(fn):
        def run():
            xt.grad = None
            fn(xt).backward(gt)
        return run

    return {name: case(fn) for name, fn in functions.items()}


def _through_engine(library, x):
    """`f(x).sum().backward()` with x a leaf that requires grad, in autograd or PyTorch."""
    import autograd as ag

    if library is ag:
        leaf = ag.Tensor(x, requires_grad=True)
        functions = {"sigmoid": ag.Tensor.sigmoid, "tanh": ag.Tensor.tanh,
                     "relu": ag.Tensor.relu,
                     "leaky_relu": lambda t: t.leaky_relu(SLOPE),
                     "elu": lambda t: t.elu(ALPHA)}
    else:
        f = library.nn.functional
        leaf = library.from_numpy(x).requires_grad_()
        functions = {"sigmoid": library.sigmoid, "tanh": library.tanh, "relu": library.relu,
                     "leaky_relu": lambda t: f.leaky_relu(t, SLOPE),
                     "elu": lambda t: f.elu(t, ALPHA)}

    def case(fn):
        def run():
            leaf.grad = None
            fn(leaf).sum().backward()
        return run

    return {name: case(fn) for name, fn in functions.items()}


def _floor_seconds() -> float:
    """A copy moving the bytes of a forward pass (N in, N out) plus one moving those of a
    backward pass (1.5N in, 1.5N out), each timed alone (like the passes, it may find part of
    its source in cache) as the faster of memcpy on THREADS threads and a Numba prange copy
    loop, into preallocated arrays."""
    import numba

    @numba.njit(parallel=True)
    def prange_copy(src, dst):
        for i in numba.prange(src.size):
            dst[i] = src[i]

    pool = ThreadPoolExecutor(THREADS)

    def memcpy(src, dst):
        step = -(-src.nbytes // THREADS)
        futures = [pool.submit(ctypes.memmove, dst.ctypes.data + at, src.ctypes.data + at,
                               min(step, src.nbytes - at)) for at in range(0, src.nbytes, step)]
        for future in futures:
            future.result()

    total = 0.0
    with pool:
        for size in (N, 3 * N // 2):
            src, dst = np.ones(size, np.float32), np.ones(size, np.float32)
            total += min(median_seconds(partial(copy, src, dst)) for copy in (memcpy, prange_copy))
    return total


_FIRST_USE = textwrap.dedent("""
    import sys, time
    import numpy as np
    import autograd.kernels as k
    x = np.linspace(-3, 3, 1000, dtype=np.float32)
    if sys.argv[1] == "breakdown":
        start = time.perf_counter()
        import numba
        imported = time.perf_counter()
        from numba.core.registry import cpu_target
        cpu_target.target_context.refresh()  # what a first compile or cache load does first
        initialised = time.perf_counter()
        k.sigmoid(x)
        done = time.perf_counter()
        print(imported - start, initialised - imported, done - initialised)
    else:
        start = time.perf_counter()
        k.sigmoid(x)
        print(time.perf_counter() - start)
""")


def _first_use() -> None:
    """First sigmoid() on 1000 float32 in a fresh process, compiled code already cached."""
    root = Path(__file__).resolve().parents[1]

    def run(mode):
        out = subprocess.run([sys.executable, "-c", _FIRST_USE, mode], cwd=root, check=True,
                             capture_output=True, text=True).stdout
        return [float(v) * 1e3 for v in out.split()]

    run("total")  # fills the cache if it was empty
    totals = sorted(run("total")[0] for _ in range(5))
    parts = np.median([run("breakdown") for _ in range(5)], axis=0)
    print(f"\nfirst kernel use in a fresh process (cache warm, median of 5): {totals[2]:.0f} ms"
          f" = numba import {parts[0]:.0f} ms + numba runtime init {parts[1]:.0f} ms"
          f" + loading and running our kernel {parts[2]:.1f} ms")


def _beside(ours, theirs) -> tuple[float, float | None]:
    """Median seconds of ours and of PyTorch's case (None without PyTorch), runs in turn."""
    if theirs is None:
        return median_seconds(ours), None
    ours_s, theirs_s = interleaved_medians([ours, theirs])
    return ours_s, theirs_s


def run() -> None:
    torch = load_torch()
    import numba
    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    rng = np.random.default_rng(0)
    x = rng.standard_normal(N, dtype=np.float32) * 3
    g = rng.standard_normal(N, dtype=np.float32)
    torch_cases = _torch_cases(torch, x, g) if torch else {}
    table = Table("activations: forward + backward, 4M float32", "ms", 1e3)
    ratios = []
    floor = _floor_seconds()
    for name, ours in _ours().items():
        ours_s, torch_s = _beside(lambda ours=ours: ours(x, g), torch_cases.get(name))
        numpy_s = median_seconds(lambda numpy=NUMPY[name]: numpy(x, g), repeat=7)
        table.add(name, ours_s, torch_s, numpy_s)
        ratios.append(f"{name} {ours_s / floor:.2f}x")
    table.add("memory floor (80 MiB moved)", floor, None, None)
    table.print()
    print("ours / memory floor: " + ", ".join(ratios))

    import autograd as ag
    engine = Table("activations through the engine: f(x).sum().backward(), 4M float32",
                   "ms", 1e3)
    ours_cases = _through_engine(ag, x)
    torch_engine = _through_engine(torch, x) if torch else {}
    for name, ours in ours_cases.items():
        engine.add(name, *_beside(ours, torch_engine.get(name)), None)
    engine.print()
    _first_use()
