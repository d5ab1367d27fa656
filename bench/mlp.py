"""MLP training: our nn/optim against PyTorch CPU and a hand-written NumPy forward/backward/Adam.

`python -m bench mlp`. Three tables (ours both eagerly and under `ag.compile`):
- one training step of a 784-512-256-10 ReLU MLP (batch 256, float32, cross-entropy, Adam);
- time to 97% test accuracy on scikit-learn's digits (64-128-64-10 ReLU, Adam 1e-3, batch 64,
  standardised inputs), all three starting from the same weights and seeing the same batches,
  test accuracy checked after every epoch (the check is timed too);
- memory of the step benchmark, each implementation in a fresh process: peak RSS over 1,000
  steps, and RSS after 100 and after 1,000 steps (flat means no leak).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

from bench.common import Table, load_torch, median_seconds

STEP_SIZES = (784, 512, 256, 10)
STEP_BATCH = 256
DIGITS_SIZES = (64, 128, 64, 10)
DIGITS_BATCH = 64
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8
TARGET_ACCURACY = 0.97
MAX_EPOCHS = 200


def initial_weights(sizes, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """PyTorch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn once so that
    every implementation starts from the same point."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1 / math.sqrt(fan_in)
        layers.append((rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                       rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    return layers


# ---- the three implementations: each gives (step(x, y), predict(x)) -------------------------
def ours(weights, compiled: bool = False) -> tuple[Callable, Callable]:
    import autograd as ag
    import nn
    import optim
    from nn import functional as F

    layers: list = []
    for w, _ in weights:
        layers += [nn.Linear(w.shape[1], w.shape[0]), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    model.load_state_dict({f"{2 * i}.{name}": value for i, pair in enumerate(weights)
                           for name, value in zip(("weight", "bias"), pair, strict=True)})
    opt = optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    def predict(x):
        with ag.no_grad():
            return model(ag.tensor(x)).data.argmax(axis=1)

    # The batch is wrapped, not copied, as PyTorch's side takes it (torch.from_numpy) and
    # NumPy's uses it: ag.tensor's copy was 1.5% of a digits step that only ours paid.
    if compiled:
        compiled_step = ag.compile(step)
        return lambda x, y: compiled_step(ag.from_numpy(x), y), predict
    return lambda x, y: step(ag.from_numpy(x), y), predict


def ours_compiled(weights) -> tuple[Callable, Callable]:
    return ours(weights, compiled=True)


def pytorch(weights) -> tuple[Callable, Callable]:
    torch = load_torch()
    layers: list = []
    for w, b in weights:
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        opt.step()

    def predict(x):
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy().argmax(axis=1)

    return step, predict


def handwritten(weights) -> tuple[Callable, Callable]:
    """Forward, backward and Adam written out in NumPy for this one architecture."""
    params = [a.copy() for pair in weights for a in pair]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    count = [0]

    def forward(x):
        activations = [x]
        for i in range(0, len(params), 2):
            z = x @ params[i].T
            z += params[i + 1]
            x = np.maximum(z, 0) if i + 2 < len(params) else z
            activations.append(x)
        return activations

    def step(x, y):
        activations = forward(x)
        logits = activations.pop()
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        _loss = np.mean(np.log(total[:, 0]) - shifted[np.arange(len(y)), y])
        grad = exp / total  # d loss / d logits = (softmax - onehot) / N
        grad[np.arange(len(y)), y] -= 1
        grad /= len(y)
        grads = [None] * len(params)
        for i in range(len(params) - 2, -1, -2):
            h = activations[i // 2]
            grads[i], grads[i + 1] = grad.T @ h, grad.sum(axis=0)
            if i:
                grad = grad @ params[i]
                grad *= h > 0
        count[0] += 1
        t = count[0]
        for p, g, (m, v) in zip(params, grads, moments, strict=True):
            m *= BETAS[0]
            m += (1 - BETAS[0]) * g
            v *= BETAS[1]
            squared = g * g
            squared *= 1 - BETAS[1]
            v += squared
            denom = np.sqrt(v)
            denom /= math.sqrt(1 - BETAS[1] ** t)
            denom += EPS
            update = np.divide(m, denom, out=denom)
            update *= LR / (1 - BETAS[0] ** t)
            p -= update

    def predict(x):
        return forward(x)[-1].argmax(axis=1)

    return step, predict


IMPLEMENTATIONS = {"ours": ours, "compiled": ours_compiled, "torch": pytorch,
                   "numpy": handwritten}


# ---- measurements ---------------------------------------------------------------------------
def step_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((STEP_BATCH, STEP_SIZES[0])).astype(np.float32)
    return x, rng.integers(0, STEP_SIZES[-1], STEP_BATCH).astype(np.int64)


def step_times(names: list[str], rounds: int = 5) -> dict[str, float]:
    """Median seconds per step; the implementations take turns so that drifting machine load
    affects each alike."""
    x, y = step_data()
    steps = {name: IMPLEMENTATIONS[name](initial_weights(STEP_SIZES, 0))[0] for name in names}
    samples: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name in names:
            samples[name].append(median_seconds(lambda s=steps[name]: s(x, y), repeat=15))
    return {name: float(np.median(times)) for name, times in samples.items()}


def time_to_target(name: str, seed: int = 0) -> tuple[float, int]:
    """Seconds (and epochs) from the first step until the test accuracy reaches 97%."""
    from train import load_digits

    x_train, y_train, x_test, y_test = load_digits()
    step, predict = IMPLEMENTATIONS[name](initial_weights(DIGITS_SIZES, seed))
    rng = np.random.default_rng((seed, 1))  # batch order: a stream apart from the weights'
    start = time.perf_counter()
    for epoch in range(1, MAX_EPOCHS + 1):
        order = rng.permutation(len(x_train))
        for begin in range(0, len(order), DIGITS_BATCH):
            index = order[begin:begin + DIGITS_BATCH]
            step(x_train[index], y_train[index])
        if np.mean(predict(x_test) == y_test) >= TARGET_ACCURACY:
            return time.perf_counter() - start, epoch
    return math.inf, MAX_EPOCHS


def digits_times(names: list[str], rounds: int = 5) -> dict[str, tuple[float, int]]:
    samples: dict[str, list[tuple[float, int]]] = {name: [] for name in names}
    for name in names:
        time_to_target(name)  # warm up (compilation, caches)
    for _ in range(rounds):
        for name in names:
            samples[name].append(time_to_target(name))
    return {name: (float(np.median([s for s, _ in runs])), runs[0][1])
            for name, runs in samples.items()}


def _memory_status() -> dict[str, int]:
    """Current (VmRSS) and peak (VmHWM) resident set size in bytes, from /proc (Linux).

    Not `getrusage().ru_maxrss`: Linux carries that over from the parent across fork+exec, so
    every child would report the bench process's own peak (PyTorch loaded) instead of its own."""
    status = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                status[key] = int(value.split()[0]) * 1024
    return status


def memory_child(name: str, steps: int = 1000) -> None:
    """Run in a fresh process: print peak RSS and RSS after 100 and `steps` steps as JSON."""
    x, y = step_data()
    step, _ = IMPLEMENTATIONS[name](initial_weights(STEP_SIZES, 0))
    rss = {}
    for i in range(1, steps + 1):
        step(x, y)
        if i in (100, steps):
            rss[i] = _memory_status()["VmRSS"]
    peak = _memory_status()["VmHWM"]
    print(json.dumps({"peak": peak, "rss100": rss[100], "rss_end": rss[steps]}))


def memory(name: str) -> dict[str, int] | None:
    code = f"from bench.mlp import memory_child; memory_child({name!r})"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        print(f"memory run for {name} failed:\n{done.stderr[-2000:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def run() -> None:
    names = ["ours", "compiled", "numpy"] + (["torch"] if load_torch() is not None else [])

    steps = step_times(names)
    table = Table("MLP training step 784-512-256-10, batch 256, Adam", "ms", 1e3)
    table.add("MLP step (fwd+bwd+Adam)", steps["ours"], steps.get("torch"), steps["numpy"])
    table.add("the same, ag.compile", steps["compiled"], steps.get("torch"), steps["numpy"])
    table.print()

    digits = digits_times(names)
    table = Table("digits 64-128-64-10, Adam 1e-3, batch 64: time to 97% test accuracy",
                  "s", 1.0)
    table.add("time to 97%", digits["ours"][0], digits.get("torch", (None,))[0],
              digits["numpy"][0])
    table.add("time to 97%, ag.compile", digits["compiled"][0],
              digits.get("torch", (None,))[0], digits["numpy"][0])
    table.print()
    print("epochs to 97%: " + ", ".join(f"{n} {digits[n][1]}" for n in names))

    usage = {name: memory(name) for name in names if name != "compiled"}
    if all(usage[n] is not None for n in ("ours", "numpy")):
        torch_usage = usage.get("torch") or {}
        table = Table("memory of the MLP step benchmark, fresh process each", "MB", 1e-6)
        for key, label in (("peak", "peak RSS over 1,000 steps"),
                           ("rss100", "RSS after 100 steps"),
                           ("rss_end", "RSS after 1,000 steps")):
            table.add(label, usage["ours"][key], torch_usage.get(key), usage["numpy"][key])
        table.print()


if __name__ == "__main__":
    run()
