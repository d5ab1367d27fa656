"""BLAS threads sized to the product: one thread for products too small for two."""

import numpy as np
import pytest

import autograd as ag
from autograd import blas
from nn import functional as F


@pytest.fixture
def calls(monkeypatch):
    """Record the thread counts the products ask OpenBLAS for."""
    asked = []

    def set_threads_local(n):
        asked.append(n)
        return 7  # the "previous" count, which must be restored

    monkeypatch.setattr(blas, "_set_threads_local", set_threads_local)
    return asked


@pytest.mark.parametrize(("m", "k", "n", "expected"), [
    (8, 8, 8, []),  # OpenBLAS runs it on one thread anyway: nothing switched
    (128, 64, 256, [1, 7]),  # train.py's layers: one thread, then the previous count back
    (512, 512, 512, []),  # large enough for every thread
])
def test_products_too_small_for_two_threads_run_on_one(calls, m, k, n, expected):
    a, b = np.ones((m, k), np.float32), np.ones((k, n), np.float32)
    np.testing.assert_array_equal(blas.matmul(a, b), np.full((m, n), k, np.float32))
    assert calls == expected


def test_the_engine_products_go_through_it(calls):
    x = ag.ones(128, 64, requires_grad=True)
    w = ag.ones(256, 64, requires_grad=True)
    F.linear(x, w).sum().backward()
    (x @ w.T).sum().backward()
    assert calls.count(1) == 6  # forward, grad_x and grad_w of each


def test_the_openblas_call_is_found_here():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not any(i["internal_api"] == "openblas" for i in threadpoolctl.threadpool_info()):
        pytest.skip("NumPy here does not use OpenBLAS")
    assert blas._set_threads_local is not None


@pytest.mark.parametrize(("shape_a", "shape_b", "expected"), [
    ((64, 16, 16), (16, 16), [1, 7]),  # 64 products of 4096 multiply-adds: 262K in all
    ((16, 16), (4, 16, 16), []),  # 16K in all: serial in OpenBLAS anyway
    ((2, 1, 128, 64), (3, 64, 256), [1, 7]),  # the broadcast batch, 6 x 2M
])
def test_a_stack_of_products_counts_every_product(calls, shape_a, shape_b, expected):
    a, b = np.ones(shape_a, np.float32), np.ones(shape_b, np.float32)
    np.testing.assert_array_equal(blas.matmul(a, b), np.matmul(a, b))
    assert calls == expected


def test_shapes_that_vary_without_end_do_not_grow_the_memory_of_decisions(calls):
    a = np.ones((64, 64), np.float32)
    for rows in range(1, 2 * blas._SHAPES_REMEMBERED):  # 64 x 64 x rows: small from 64 rows
        b = np.ones((64, rows), np.float32)
        np.testing.assert_array_equal(blas.matmul(a, b), np.full((64, rows), 64, np.float32))
        assert len(blas._small_products) <= blas._SHAPES_REMEMBERED
    assert calls == [1, 7] * (2 * blas._SHAPES_REMEMBERED - 64)
