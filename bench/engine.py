"""The engine's own overhead: a chain of small elementwise ops, and a large matmul.

dispatch: 100 elementwise ops on 16x16 float32 tensors (a cycle of x*w, x+b, x*0.5, tanh),
          then sum and backward; reported per op, eagerly and under `ag.compile` (with the
          capture cost: the compiled step's first call over an eager step). The NumPy
          reference computes the same forward, keeps what the backward needs, and runs the
          backward by hand.
matmul:   1024x1024 float32 forward and backward; the reference is three bare np.matmul.
"""

import subprocess
import sys

import numpy as np

import autograd as ag
from bench.common import Table, load_torch, median_seconds
from bench.loops import capture_ratio

SIZE, CYCLES = 16, 25  # 4 ops a cycle: 100 ops


def _chain(x, w, b):
    """The same code runs on our tensors and on PyTorch's."""
    def run():
        z = x
        for _ in range(CYCLES):
            z = ((z * w + b) * 0.5).tanh()
        z.sum().backward()
        x.grad = w.grad = b.grad = None
    return run


def _chain_numpy(x, w, b):
    def run():
        saved = []
        z = x
        for _ in range(CYCLES):
            saved.append(z)
            z = np.tanh((z * w + b) * 0.5)
            saved.append(z)
        grad = np.ones_like(z)
        grad_w = np.zeros_like(w)
        grad_b = np.zeros_like(b)
        for i in range(CYCLES - 1, -1, -1):
            z_in, y = saved[2 * i], saved[2 * i + 1]
            grad = grad * (1 - y * y) * 0.5
            grad_b += grad
            grad_w += grad * z_in
            grad = grad * w
        return grad, grad_w, grad_b
    return run


def _matmul_ours(a, b, g):
    """Forward and backward with a given output gradient, as the NumPy reference has."""
    def run():
        (a @ b).backward(g)
        a.grad = b.grad = None
    return run


def _import_seconds(statement: str) -> float:
    """Wall time of a fresh interpreter running `statement`, minus a bare interpreter's."""
    def time_of(code):
        return median_seconds(lambda: subprocess.run([sys.executable, "-c", code], check=True),
                              repeat=5, warmup=1)
    return time_of(statement) - time_of("pass")


def run() -> None:
    torch = load_torch()
    rng = np.random.default_rng(0)
    data = [rng.uniform(0.5, 1.0, (SIZE, SIZE)).astype(np.float32) for _ in range(3)]

    ops = 4 * CYCLES
    table = Table("engine: dispatch and matmul", "µs per op for the chain, ms for matmul", 1e6)
    ours = median_seconds(_chain(*[ag.tensor(d, requires_grad=True) for d in data]),
                          repeat=31) / ops
    reference = median_seconds(_chain_numpy(*data), repeat=31) / ops
    theirs = None
    if torch:
        tensors = [torch.tensor(d, requires_grad=True) for d in data]
        theirs = median_seconds(_chain(*tensors), repeat=31) / ops
    table.add("dispatch: 100-op chain, fwd+bwd", ours, theirs, reference)
    tensors = [ag.tensor(d, requires_grad=True) for d in data]
    compiled = median_seconds(ag.compile(_chain(*tensors)), repeat=31) / ops
    table.add("dispatch: the same, ag.compile", compiled, theirs, reference)
    table.print()
    capture = capture_ratio(lambda: _chain(*tensors), lambda: ag.compile(_chain(*tensors)))
    print(f"capture cost, dispatch chain: first compiled call = {capture:.2f}x an eager step")

    n = 1024
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    g = np.ones((n, n), np.float32)
    mm = Table("matmul 1024x1024 float32, forward + backward", "ms", 1e3)
    ours = median_seconds(_matmul_ours(ag.tensor(a, requires_grad=True),
                                       ag.tensor(b, requires_grad=True), ag.tensor(g)), repeat=9)
    reference = median_seconds(lambda: (a @ b, g @ b.T, a.T @ g), repeat=9)
    theirs = None
    if torch:
        ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        tg = torch.tensor(g)

        def torch_step():
            (ta @ tb).backward(tg)
            ta.grad = tb.grad = None
        theirs = median_seconds(torch_step, repeat=9)
    mm.add("matmul fwd+bwd", ours, theirs, reference)
    mm.print()

    startup = Table("import time (fresh process, minus bare interpreter)", "ms", 1e3)
    startup.add("import autograd", _import_seconds("import autograd"),
                _import_seconds("import torch") if torch else None,
                _import_seconds("import numpy"))
    startup.print()
