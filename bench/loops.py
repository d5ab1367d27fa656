"""Tiny training loops, 1,000 steps each, where the engine's per-op work is all there is:

linreg:     y = w x + b on 64 points, mean squared error, SGD lr 0.1 (two scalar parameters);
rosenbrock: (1 - x)^2 + 100 (y - x^2)^2 from (-1.5, 2), SGD lr 1e-3.
Each is written as a learner would (zero_grad, loss, backward, step), eagerly and under
`ag.compile`; the NumPy reference writes the gradient out by hand on 0-d float32 arrays.
Also the capture cost: the compiled step's first call against an eager step.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import autograd as ag
import optim
from bench.common import Table, interleaved_medians, load_torch

STEPS = 1000
rng = np.random.default_rng(0)
X = rng.standard_normal(64).astype(np.float32)
Y = (3 * X - 1 + 0.1 * rng.standard_normal(64)).astype(np.float32)


def _linreg(w, b, x, y):
    return ((w * x + b - y) ** 2).mean()


def _rosenbrock(p, q):
    return (1 - p) ** 2 + 100 * (q - p ** 2) ** 2


def _problem(name: str, param, data):
    """(parameters, loss function, learning rate), on our tensors or PyTorch's: `param(value)`
    makes a scalar parameter, `data(array)` a constant."""
    if name == "linreg":
        params, x, y = [param(0.0), param(0.0)], data(X), data(Y)
        return params, lambda: _linreg(*params, x, y), 0.1
    params = [param(-1.5), param(2.0)]
    return params, lambda: _rosenbrock(*params), 1e-3


def _training_step(opt, loss):
    def step():
        opt.zero_grad()
        value = loss()
        value.backward()
        opt.step()
        return value
    return step


def _ours(problem: str, compiled: bool):
    """A step function on our tensors (and the parameters, to check the result)."""
    params, loss, lr = _problem(problem, lambda v: ag.tensor(np.float32(v), requires_grad=True),
                                ag.tensor)
    step = _training_step(optim.SGD(params, lr=lr), loss)
    return (ag.compile(step) if compiled else step), params


def _torch(problem: str):
    torch = load_torch()
    params, loss, lr = _problem(problem, lambda v: torch.tensor(v, requires_grad=True),
                                torch.tensor)
    return _training_step(torch.optim.SGD(params, lr=lr), loss)


def _numpy(problem: str):
    if problem == "linreg":
        w, b = np.zeros((), np.float32), np.zeros((), np.float32)
        n = np.float32(len(X))

        def step():
            residual = w * X + b - Y
            _loss = (residual * residual).mean()
            g = residual * (2 / n)
            w[...] -= 0.1 * (g * X).sum()
            b[...] -= 0.1 * g.sum()
        return step
    p, q = np.array(-1.5, np.float32), np.array(2.0, np.float32)

    def step():
        gap = q - p * p
        _loss = (1 - p) ** 2 + 100 * gap * gap
        grad_p = -2 * (1 - p) - 400 * p * gap
        grad_q = 200 * gap
        p[...] -= 1e-3 * grad_p
        q[...] -= 1e-3 * grad_q
    return step


def _loops(steps: list) -> list[float]:
    """Seconds per step of each step function over loops of STEPS steps (median of 7 loops,
    the functions' loops taken in turn)."""
    def looped(step):
        def run():
            for _ in range(STEPS):
                step()
        return run
    return [t / STEPS for t in interleaved_medians([looped(s) for s in steps], repeat=7,
                                                   warmup=1)]


def capture_ratio(make_eager, make_compiled, repeat: int = 15, warmup: int = 1) -> float:
    """The first call of a freshly compiled step over an eager step: medians over `repeat`
    rounds, each timing an eager step (warm: one untimed step first) and then one first call,
    so that a change in a shared machine's load falls on both alike; after `warmup` untimed
    rounds, as median_seconds has."""
    eager, firsts = make_eager(), [make_compiled() for _ in range(warmup + repeat)]
    steps, captures = [], []
    for first in firsts:
        eager()
        start = time.perf_counter()
        eager()
        steps.append(time.perf_counter() - start)
        start = time.perf_counter()
        first()
        captures.append(time.perf_counter() - start)
    return statistics.median(captures[warmup:]) / statistics.median(steps[warmup:])


def run() -> None:
    torch = load_torch()
    table = Table("tiny loops, 1,000 SGD steps", "µs per step", 1e6)
    for problem in ("linreg", "rosenbrock"):
        eager_step, eager_params = _ours(problem, compiled=False)
        compiled_step, compiled_params = _ours(problem, compiled=True)
        steps = [eager_step, compiled_step, _numpy(problem)] + ([_torch(problem)] if torch else [])
        eager, compiled, reference, *theirs = _loops(steps)
        theirs = theirs[0] if torch else None
        table.add(f"{problem}: eager", eager, theirs, reference)
        table.add(f"{problem}: ag.compile", compiled, theirs, reference)
        assert all(np.array_equal(a.data, b.data) for a, b in zip(eager_params,
                                                                   compiled_params))
    table.print()
    for problem in ("linreg", "rosenbrock"):
        ratio = capture_ratio(lambda p=problem: _ours(p, False)[0],
                              lambda p=problem: _ours(p, True)[0])
        print(f"capture cost, {problem}: first compiled call = {ratio:.2f}x an eager step")


if __name__ == "__main__":
    run()
