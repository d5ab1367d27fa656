"""Tests for autograd.kernels: every kernel against a float64 NumPy reference."""

import math
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from autograd import kernels

SLOPE, ALPHA = 0.07, 1.3


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _elu(x):
    return np.where(x > 0, x, ALPHA * np.expm1(np.minimum(x, 0.0)))


# name -> (kernel called on the input arrays, float64 reference, number of input arrays).
# Backward kernels get (y or x, grad) and their reference is written from the definition.
KERNELS = {
    "sigmoid": (kernels.sigmoid, _sigmoid, 1),
    "sigmoid_backward": (kernels.sigmoid_backward, lambda y, g: g * y * (1 - y), 2),
    "tanh": (kernels.tanh, np.tanh, 1),
    "tanh_backward": (kernels.tanh_backward, lambda y, g: g * (1 - y * y), 2),
    "relu": (kernels.relu, lambda x: np.maximum(x, 0.0), 1),
    "relu_backward": (kernels.relu_backward, lambda y, g: g * (y > 0), 2),
    "leaky_relu": (lambda x: kernels.leaky_relu(x, SLOPE),
                   lambda x: np.where(x > 0, x, SLOPE * x), 1),
    "leaky_relu_backward": (lambda x, g: kernels.leaky_relu_backward(x, g, SLOPE),
                            lambda x, g: np.where(x > 0, g, SLOPE * g), 2),
    "elu": (lambda x: kernels.elu(x, ALPHA), _elu, 1),
    "elu_backward": (lambda x, g: kernels.elu_backward(x, g, ALPHA),
                     lambda x, g: np.where(x > 0, g, g * ALPHA * np.exp(np.minimum(x, 0))), 2),
    "erf": (kernels.erf, np.vectorize(math.erf, otypes=[float]), 1),
}
DTYPES = [np.float32, np.float64]
# Measured error is at most 1.5 ulp; the reference itself is rounded once more.
RTOL = {np.float32: 4 * np.finfo(np.float32).eps, np.float64: 4 * np.finfo(np.float64).eps}


def _inputs(name, shape, dtype, seed=0):
    """Arrays for kernel `name`: x in [-12, 12] (y = f(x) for the backward of sigmoid and
    tanh, which take the output), then grad."""
    rng = np.random.default_rng(seed)
    first = rng.uniform(-12, 12, shape)
    if name in ("sigmoid_backward",):
        first = _sigmoid(first)
    elif name == "tanh_backward":
        first = np.tanh(first)
    arrays = [first, rng.standard_normal(shape)]
    return [a.astype(dtype) for a in arrays[:KERNELS[name][2]]]


def _check(name, arrays, dtype):
    """Run kernel `name`; compare with the reference to a few roundings; return the output."""
    kernel, reference, _ = KERNELS[name]
    out = kernel(*arrays)
    wide = [np.asarray(a, np.float64) for a in arrays]
    expected = reference(*wide)
    assert out.dtype == dtype, f"{name}: dtype {out.dtype}, expected {dtype}"
    assert out.shape == arrays[0].shape
    assert not any(np.shares_memory(out, a) for a in arrays), f"{name}: output not new"
    # Forward: relative error; results below the smallest normal float flush to 0.
    # Backward: each product/difference rounds once, e.g. 1 - y*y cancels when |y| ~ 1.
    allowed = RTOL[dtype] * np.abs(expected) + np.finfo(dtype).tiny
    if len(arrays) == 2:
        allowed = allowed + RTOL[dtype] * np.abs(wide[1]) * (1 + np.abs(wide[0]) + ALPHA) ** 2
    error = np.abs(out.astype(np.float64) - expected)
    bad = ~(error <= allowed)  # also catches NaN
    assert not bad.any(), (f"{name} {np.dtype(dtype)}: {bad.sum()} wrong, e.g. input "
                           f"{[a[bad][0] for a in wide]} gave {out[bad][0]!r}, "
                           f"expected {expected[bad][0]!r}")
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", KERNELS)
def test_matches_reference_contiguous(name, dtype):
    _check(name, _inputs(name, (37, 29), dtype), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", KERNELS)
def test_layouts_0d_and_empty(name, dtype):
    strided = [a[:, ::3] for a in _inputs(name, (9, 31), dtype)]
    assert not strided[0].flags.c_contiguous
    _check(name, strided, dtype)
    transposed = [a.T for a in _inputs(name, (7, 13), dtype, seed=1)]
    assert transposed[0].flags.f_contiguous and not transposed[0].flags.c_contiguous
    out = _check(name, transposed, dtype)
    assert out.flags.f_contiguous  # kept the input's layout rather than copying it
    zero_d = [a.reshape(()) for a in _inputs(name, (1,), dtype, seed=2)]
    assert _check(name, zero_d, dtype).shape == ()
    assert _check(name, _inputs(name, (0, 5), dtype), dtype).shape == (0, 5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", KERNELS)
def test_direct_small_path_gives_the_dispatched_bits(name, dtype):
    """Small C-contiguous arrays call the compiled loop's entry point directly; strided ones
    go through Numba's dispatcher and a copy: the same bits either way."""
    arrays = _inputs(name, (16, 16), dtype)
    kernel = KERNELS[name][0]
    kernel(*arrays)
    assert (name, np.dtype(dtype)) in kernels._serial  # the next call takes the direct path
    direct = kernel(*arrays)
    dispatched = kernel(*[np.repeat(a, 2, axis=1)[:, ::2] for a in arrays])
    bits = np.dtype(f"u{np.dtype(dtype).itemsize}")
    np.testing.assert_array_equal(direct.view(bits), dispatched.view(bits))
    _check(name, arrays, dtype)


@pytest.mark.parametrize("name", [n for n in KERNELS if KERNELS[n][2] == 2])
def test_backward_pairs_elements_across_layouts(name):
    y, g = _inputs(name, (11, 6), np.float64)
    _check(name, [y, np.asfortranarray(g)], np.float64)
    _check(name, [np.asfortranarray(y), g], np.float64)
    _check(name, [np.asfortranarray(y), g[::-1]], np.float64)


@pytest.mark.parametrize("name", [n for n in KERNELS if KERNELS[n][2] == 2])
def test_backward_of_a_broadcast_gradient_does_not_write_it_out(name):
    """The gradient of a sum is one value broadcast to every element: the kernel reads it in
    place, allocating only its output (ravel() used to copy the whole broadcast first)."""
    import tracemalloc

    y, _ = _inputs(name, (256, 1024), np.float32)
    g = np.broadcast_to(np.float32(0.7), y.shape)
    _check(name, [y, g], np.float32)
    tracemalloc.start()
    KERNELS[name][0](y, g)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1.5 * y.nbytes, f"{name}: peak {peak} bytes for a {y.nbytes}-byte output"


def test_read_only_inputs():
    y, g = _inputs("tanh_backward", (5, 4), np.float32)
    y.flags.writeable = g.flags.writeable = False
    _check("tanh_backward", [y, g], np.float32)
    _check("tanh", [y], np.float32)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_child_forked_after_threaded_use_still_runs():
    x = np.linspace(-1, 1, 2 * kernels._PARALLEL_MIN_SIZE, dtype=np.float32)
    kernels.relu(x)  # the parent has launched threads
    with warnings.catch_warnings():  # Python 3.12+ warns about forking a threaded process
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # child: GNU OpenMP would abort here if the kernel launched threads again
        ok = np.array_equal(kernels.relu(x), np.maximum(x, 0))
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_scalars_never_upcast_float32():
    x = np.linspace(-3, 3, 11, dtype=np.float32)
    g = np.ones_like(x)
    for out in (kernels.leaky_relu(x, np.float64(0.1)), kernels.elu(x, 2.0),
                kernels.leaky_relu_backward(x, g, 0.1), kernels.elu_backward(x, g, 2.0)):
        assert out.dtype == np.float32
    # slope is rounded to float32 first, as PyTorch does for a float32 tensor
    assert kernels.leaky_relu(x, 0.1)[0] == np.float32(-3) * np.float32(0.1)


def test_bad_inputs_raise():
    with pytest.raises(TypeError, match="float32 or float64"):
        kernels.relu(np.arange(4))
    with pytest.raises(ValueError, match=r"\(4,\).*\(5,\)"):
        kernels.relu_backward(np.ones(4), np.ones(5))
    with pytest.raises(ValueError, match="float32"):
        kernels.tanh_backward(np.ones(4), np.ones(4, np.float32))


# The parallel driver is one function for every loop; each first compilation of it costs
# about 0.7 s, so it is checked on one loop per signature (unary or binary, with or without a
# parameter), and both dtypes.
@pytest.mark.parametrize("name, dtype", [("sigmoid", np.float32), ("relu_backward", np.float32),
                                         ("leaky_relu", np.float32), ("elu", np.float64),
                                         ("elu_backward", np.float64)])
def test_threaded_path_equals_serial_path(name, dtype):
    size = 3 * kernels._PARALLEL_MIN_SIZE + 7  # not a multiple of the thread count
    arrays = _inputs(name, (size,), dtype)
    big = KERNELS[name][0](*arrays)
    assert (name, True) in kernels._jitted, f"{name}: size {size} did not take threads"
    pieces = np.array_split(np.arange(size), 4)  # each below the threshold: serial path
    serial = np.concatenate([KERNELS[name][0](*[a[p] for a in arrays]) for p in pieces])
    np.testing.assert_array_equal(big, serial)
    _check(name, arrays, dtype)


def test_threaded_path_with_one_gradient_value_equals_written_out_gradient():
    """A sum's gradient reaches the loops as one value, on every thread too."""
    size = 3 * kernels._PARALLEL_MIN_SIZE + 7
    y, _ = _inputs("elu_backward", (size,), np.float32)
    value = np.float32(0.7)
    one_value = kernels.elu_backward(y, np.broadcast_to(value, y.shape), ALPHA)
    np.testing.assert_array_equal(one_value, kernels.elu_backward(y, np.full_like(y, value),
                                                                  ALPHA))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
def test_extremes_exact_limits_and_no_warnings(dtype):
    big = np.finfo(dtype).max
    x = np.array([-np.inf, -big, -1e4, -1000, 1000, 1e4, big, np.inf], dtype)
    np.testing.assert_array_equal(kernels.sigmoid(x), [0, 0, 0, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(kernels.tanh(x), [-1, -1, -1, -1, 1, 1, 1, 1])
    np.testing.assert_array_equal(kernels.elu(x, ALPHA)[:4], np.full(4, dtype(ALPHA) * -1))
    np.testing.assert_array_equal(kernels.relu(x), np.maximum(x, 0))
    # around the flush-to-zero edge of exp and the tanh/elu switch points
    edge = np.array([-745.2, -708.4, -708.3, -103.0, -87.4, -87.3, -20.0, -1e-30, -0.0,
                     0.0, 1e-30, 0.3, 0.7, 20.0], dtype)
    for name in ("sigmoid", "tanh", "elu"):
        _check(name, [edge], dtype)
        _check(name, [-edge], dtype)
    assert np.signbit(kernels.tanh(np.array([-0.0], dtype)))[0]
    nan = np.array([np.nan], dtype)
    for kernel in (kernels.sigmoid, kernels.tanh, kernels.relu,
                   lambda v: kernels.leaky_relu(v, SLOPE), lambda v: kernels.elu(v, ALPHA)):
        assert np.isnan(kernel(nan)).all()


def test_import_does_not_load_numba():
    code = ("import sys, numpy as np, autograd, autograd.kernels as k\n"
            "assert 'numba' not in sys.modules, 'numba imported by import autograd'\n"
            "k.relu(np.ones(3))\n"
            "assert 'numba' in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert result.returncode == 0, result.stderr


# A fresh copy of kernels.py in a package whose directory cannot be written: chmod for
# ordinary users, and a regular file named __pycache__ so that not even root can put Numba's
# cache there. HOME and the temp dir (argv[1]) are writable, or paths under a regular file,
# which nobody can create.
_READ_ONLY_SCRIPT = textwrap.dedent("""
    import sys, tempfile
    import numpy as np
    tempfile.tempdir = sys.argv[1]
    from autograd import kernels
    x = np.linspace(-5, 5, 101)
    assert np.allclose(kernels.tanh(x), np.tanh(x), rtol=1e-14, atol=0)
    print(kernels._jitted["tanh", False].stats.cache_path)
""")


def test_read_only_install_runs(tmp_path):
    package = tmp_path / "site" / "autograd"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copy(Path(kernels.__file__), package / "kernels.py")
    (package / "__pycache__").write_text("not a directory\n")
    blocker = tmp_path / "regular-file"
    blocker.write_text("")
    writable = tmp_path / "writable"
    writable.mkdir()
    for path in (package, package.parent):
        path.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    cases = {  # name -> (HOME, temp dir, where the cache should end up)
        "user cache dir": (writable, blocker / "tmp", writable),
        "temp dir fallback": (blocker / "home", writable, writable),
        "no cache at all": (blocker / "home", blocker / "tmp", None),
    }
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NUMBA_CACHE_DIR", "XDG_CACHE_HOME"))}
    env["PYTHONPATH"] = str(package.parent)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        procs = {}
        for name, (home, tmp, _) in cases.items():
            procs[name] = subprocess.Popen(
                [sys.executable, "-c", _READ_ONLY_SCRIPT, str(tmp)], env=dict(env, HOME=str(home)),
                cwd=tmp_path,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, f"{name}: {err}"
            cache_path = out.strip().splitlines()[-1]
            expected = cases[name][2]
            if expected is None:
                assert cache_path == "None", f"{name}: {out}"
            else:
                assert cache_path.startswith(str(expected)), f"{name}: cache at {cache_path}"
                assert any(Path(cache_path).glob("kernels._tanh_loop-*.nbi")), cache_path
        assert sorted(p.name for p in package.iterdir()) == ["__init__.py", "__pycache__",
                                                             "kernels.py"]
    finally:
        for path in (package, package.parent):
            path.chmod(stat.S_IRWXU)
