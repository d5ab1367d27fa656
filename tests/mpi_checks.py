"""Run by tests/test_distributed.py under `mpiexec -n 2`: `python tests/mpi_checks.py MODE`.

Rank 0 prints one JSON line of results for the test to read; failures are raised (and abort
every rank through autograd.distributed's excepthook).
"""

from __future__ import annotations

import json
import sys

import numpy as np

import autograd as ag
import autograd.distributed as dist
import nn
import optim
from nn import functional as F
from nn.parallel import DistributedDataParallel

STEPS, BATCH, FEATURES, CLASSES = 20, 64, 12, 4


class ReLU(nn.Module):
    """max(x, 0) through the engine's maximum: nn.ReLU's Numba kernel would cost each rank
    Numba's start-up, longer than the checks themselves."""

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        return ag.maximum(x, 0.0)


def build(batchnorm: bool, dtype: type, seed: int = 0, width: int = 16) -> nn.Sequential:
    """Linear layers that feed a BatchNorm have no bias: its gradient is exactly zero, and
    Adam would turn that zero's rounding noise into full-size steps."""
    ag.manual_seed(seed)
    layers: list[nn.Module] = []
    for fan_in in (FEATURES, width):
        layers.append(nn.Linear(fan_in, width, bias=not batchnorm, dtype=dtype))
        if batchnorm:
            layers.append(nn.BatchNorm1d(width, dtype=dtype))
        layers.append(ReLU())
    layers.append(nn.Linear(width, CLASSES, dtype=dtype))
    return nn.Sequential(*layers)


def data(dtype: type, steps: int = STEPS) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(1)
    return [(rng.standard_normal((BATCH, FEATURES)).astype(dtype) + 0.5,
             rng.integers(0, CLASSES, BATCH)) for _ in range(steps)]


def relative_difference(a: dict, b: dict) -> float:
    return max(float(np.max(np.abs(a[k] - b[k])) / np.max(np.abs(b[k]))) for k in b)


def gradients(model: nn.Module) -> dict:
    return {name: p.grad.data.copy() for name, p in model.named_parameters()}


def train(model: nn.Module, forward: nn.Module, batches: list, rows: slice) -> dict:
    """Adam steps on rows `rows` of each batch; the gradients of the first step."""
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for x, y in batches:
        loss = F.cross_entropy(forward(ag.tensor(x[rows])), y[rows])
        optimizer.zero_grad()
        loss.backward()
        first = first or gradients(model)
        optimizer.step()
    return first


def equality() -> dict:
    """2 ranks x 32 rows against 1 process x 64 rows: gradients of the first step and
    parameters (running statistics included) after 20 Adam steps."""
    rank, size = dist.get_rank(), dist.get_world_size()
    rows = slice(rank * BATCH // size, (rank + 1) * BATCH // size)
    results = {}
    for batchnorm in (True, False):
        for dtype in (np.float64, np.float32):
            steps = STEPS if dtype == np.float64 else 1
            batches = data(dtype, steps)
            reference = build(batchnorm, dtype)
            reference_grads = train(reference, reference, batches, slice(None))
            # Another init on every rank but 0: DistributedDataParallel must take rank 0's.
            model = nn.SyncBatchNorm.convert_sync_batchnorm(build(batchnorm, dtype, seed=rank))
            grads = train(model, DistributedDataParallel(model), batches, rows)
            key = f"{'syncbn' if batchnorm else 'mlp'}-{np.dtype(dtype).name}"
            results[key + "-grads"] = relative_difference(grads, reference_grads)
            if dtype == np.float64:
                results[key + "-params"] = relative_difference(model.state_dict(),
                                                               reference.state_dict())
    return results


def accumulation() -> dict:
    """Two backwards, the first under no_sync(): the accumulated gradients, averaged, equal one
    process's sum of the two full batches' gradients; after the first alone they differ."""
    rank, size = dist.get_rank(), dist.get_world_size()
    rows = slice(rank * BATCH // size, (rank + 1) * BATCH // size)
    batches = data(np.float64, 2)
    reference = build(True, np.float64)
    for x, y in batches:
        F.cross_entropy(reference(ag.tensor(x)), y).backward()
    model = nn.SyncBatchNorm.convert_sync_batchnorm(build(True, np.float64))
    ddp = DistributedDataParallel(model, bucket_cap_mb=0.001)  # several buckets
    (x, y), (x2, y2) = batches
    with ddp.no_sync():
        F.cross_entropy(ddp(ag.tensor(x[rows])), y[rows]).backward()
    local = gradients(model)
    everyone: list = [None] * size
    dist.all_gather_object(everyone, local)
    F.cross_entropy(ddp(ag.tensor(x2[rows])), y2[rows]).backward()
    return {"buckets": len(ddp._buckets),
            "unsynced-differ": relative_difference(everyone[1], everyone[0]),
            "accumulated": relative_difference(gradients(model), gradients(reference))}


def far_from_zero() -> dict:
    """SyncBatchNorm on float32 features of mean 1000 and spread 1 against one process's
    BatchNorm1d on the whole batch: output, input gradient, running variance (a variance from
    the sums, S2 / n - mean^2, kept 3 of float32's 7 digits there; NaN at mean 10000)."""
    rank, size = dist.get_rank(), dist.get_world_size()
    rows = slice(rank * BATCH // size, (rank + 1) * BATCH // size)
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((BATCH, 3)) * [1.0, 0.5, 2.0] + 1000).astype(np.float32)
    seed = rng.standard_normal((BATCH, 3)).astype(np.float32)
    out = {}
    for name, layer, share in (("one", nn.BatchNorm1d(3), slice(None)),
                               ("sync", nn.SyncBatchNorm(3), rows)):
        inputs = ag.tensor(x[share], requires_grad=True)
        y = layer(inputs)
        (y * ag.tensor(seed[share])).sum().backward()
        out[name] = {"y": y.data, "grad": inputs.grad.data, "var": layer.running_var.data}
    one, sync = out["one"], out["sync"]
    return {"syncbn-far-output": relative_difference({"y": sync["y"]}, {"y": one["y"][rows]}),
            "syncbn-far-grad": relative_difference({"g": sync["grad"]},
                                                   {"g": one["grad"][rows]}),
            "syncbn-far-running-var": relative_difference({"v": sync["var"]},
                                                          {"v": one["var"]})}


def collectives() -> dict:
    rank, size = dist.get_rank(), dist.get_world_size()
    out = {}
    for op, expected in (("sum", 3.0), ("avg", 1.5), ("max", 2.0), ("min", 1.0),
                         ("product", 2.0)):
        array = np.full(3, rank + 1.0)
        dist.all_reduce(array, op=op)
        out[op] = array.tolist() == [expected] * 3
    counts = np.arange(6, dtype=np.int64).reshape(2, 3)[:, ::2] * (rank + 1)  # not contiguous
    dist.all_reduce(counts)
    out["int-strided"] = counts.tolist() == [[0, 6], [9, 15]]
    t = ag.tensor(np.full((2, 2), float(rank)))
    dist.broadcast(t, src=1)
    out["broadcast"] = t.data.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    dist.barrier()
    names: list = [None] * size
    dist.all_gather_object(names, f"rank{rank}")
    out["all_gather_object"] = names == ["rank0", "rank1"]
    return out


def mismatch() -> None:
    """Rank 1 builds a wider first layer: construction raises on every rank, naming it."""
    width = 16 + dist.get_rank()
    DistributedDataParallel(build(False, np.float64, width=width))


def fail(how: str) -> None:
    """Rank 1 fails at the third step: by raising, or by exiting without a word."""
    model = build(True, np.float64)
    ddp = DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(model))
    optimizer = optim.Adam(model.parameters())
    for step, (x, y) in enumerate(data(np.float64, 1000)):
        if step == 3 and dist.get_rank() == 1:
            if how == "raise":
                raise RuntimeError("rank 1 fails on purpose")
            sys.exit(0)
        loss = F.cross_entropy(ddp(ag.tensor(x)), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def main(mode: str) -> None:
    dist.init_process_group(timeout=3.0 if mode == "exit" else 60.0)
    checks = {"checks": lambda: {**collectives(), **equality(), **accumulation(),
                                 **far_from_zero()},
              "mismatch": mismatch, "raise": lambda: fail("raise"), "exit": lambda: fail("exit")}
    result = checks[mode]()
    if dist.get_rank() == 0:
        print(json.dumps(result), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
