"""kernels.pairwise_sum (the Sum op's reduction over every element): np.sum's result to the
bit, on every path, hence NumPy's accuracy; and that accuracy checked against float64."""

import math
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import autograd as ag
from autograd import kernels

DTYPES = [np.float32, np.float64]


def _data(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) * 3 + 1).astype(dtype)


def _assert_same_as_numpy(a):
    """The same value, type and warnings."""
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = kernels.pairwise_sum(a)
    with warnings.catch_warnings(record=True) as numpy_warned:
        warnings.simplefilter("always")
        numpy = np.sum(a)
    assert [str(w.message) for w in ours_warned] == [str(w.message) for w in numpy_warned]
    assert type(ours) is type(numpy)
    assert ours.tobytes() == numpy.tobytes(), f"{a.shape} {a.dtype}: {ours!r} != {numpy!r}"


@pytest.mark.parametrize("dtype", DTYPES)
def test_equals_numpy_to_the_bit(dtype):
    low = kernels._SUM_MIN_SIZE
    for seed, n in enumerate([low - 1, low, low + 1, low + 7, 100_003, 3 * low + 5]):
        _assert_same_as_numpy(_data(n, dtype, seed))
    a = _data(256 * 384, dtype).reshape(256, 384)
    for view in (a, a.T, np.asfortranarray(a), a[:, ::2], a[::-1]):
        _assert_same_as_numpy(view)


@pytest.mark.parametrize("dtype", DTYPES)
def test_special_values_as_numpy(dtype):
    n = kernels._SUM_MIN_SIZE + 3
    for fill in (-0.0, 0.0, np.inf, -np.inf, np.nan):
        _assert_same_as_numpy(np.full(n, fill, dtype))
    a = _data(n, dtype)
    a[[5, 700]] = np.inf, -np.inf
    _assert_same_as_numpy(a)
    _assert_same_as_numpy(np.full(n, np.finfo(dtype).max / 4, dtype))  # overflows to inf
    _assert_same_as_numpy(np.arange(n))  # integers: np.sum itself
    _assert_same_as_numpy(np.float32(2.5))


@pytest.mark.parametrize("dtype", DTYPES)
def test_threaded_path_equals_numpy(dtype):
    n = 3 * kernels._PARALLEL_MIN_SIZE + 7
    a = _data(n, dtype, seed=3)
    _assert_same_as_numpy(a)
    assert ("pairwise_sum", True) in kernels._jitted, f"size {n} did not take threads"


def test_float32_error_within_pairwise_bound():
    """Against the exact sum of the float32 values (math.fsum in float64 is exact enough):
    NumPy's pairwise bound, (16 + log2(n / 128)) eps * sum|a|. A running float32 sum
    misses it by far on these 4M values with a nonzero mean."""
    a = _data(1 << 22, np.float32, seed=4) + np.float32(10)
    exact = math.fsum(a.astype(np.float64))
    bound = np.finfo(np.float32).eps * (16 + math.log2(a.size / 128)) * float(np.abs(a).sum())
    assert abs(float(kernels.pairwise_sum(a)) - exact) <= bound
    running = np.cumsum(a, dtype=np.float32)[-1]
    assert abs(float(running) - exact) > bound  # the bound can fail


@pytest.mark.parametrize("dtype", DTYPES)
def test_sum_op_uses_it_and_keeps_its_gradient(dtype):
    a = _data(2 * kernels._SUM_MIN_SIZE, dtype).reshape(-1, 64)
    x = ag.tensor(a, requires_grad=True)
    for axis in (None, (0, 1)):
        total = x.sum(axis=axis)
        assert total.dtype == dtype and total.shape == ()
        assert total.data.tobytes() == np.sum(a).tobytes()
        total.backward()
    np.testing.assert_array_equal(x.grad.data, np.full(a.shape, 2, dtype))
    np.testing.assert_array_equal(x.sum(axis=(0, 1), keepdims=True).data,
                                  np.sum(a, axis=(0, 1), keepdims=True))


_CACHED = textwrap.dedent("""
    import numpy as np
    from autograd import kernels
    a = np.linspace(-1, 3, 100_003, dtype=np.float32)
    assert kernels.pairwise_sum(a) == np.sum(a)
    print(sum(kernels._jitted["pairwise_sum", False].stats.cache_hits.values()))
""")


def test_loads_from_numbas_disk_cache(tmp_path):
    """The loop (with its vector intrinsic) is cached, and the cached code runs."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    root = Path(__file__).resolve().parents[1]
    hits = [subprocess.run([sys.executable, "-c", _CACHED], cwd=root, env=env, check=True,
                           capture_output=True, text=True, timeout=180).stdout.strip()
            for _ in range(2)]
    assert hits == ["0", "1"], hits
