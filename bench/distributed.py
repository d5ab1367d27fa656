"""Data-parallel training under `mpiexec`: steps per second on 1 and 2 ranks, and the
all-reduce's share of each step.

`python -m bench distributed`. Two models, the global batch fixed (each rank batch / K rows):
- the digits MLP of train.py (64-256-128-10, BatchNorm (SyncBatchNorm on 2 ranks), ReLU,
  Dropout 0.3, Adam, batch 64);
- a wide MLP, 784-2048-2048-10 ReLU on synthetic data (Adam, batch 256): 5.8M parameters,
  23 MB of float32 gradients, one 25 MB bucket.
Rows: 1 rank with 1 BLAS thread, 1 rank with 2 (what one process gets from both cores),
2 ranks with 1 thread each. The all-reduce column is the time spent in `all_reduce` per step
(gradient buckets and SyncBatchNorm's statistics; waiting for the slower rank included). Then,
from the all-reduce of the wide model's gradients measured alone on 2 ranks, what the
bucketed all-reduce would cost on 8 ranks and the speed-up that leaves.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

MODELS = {"digits": (64, 256, 128, 10), "wide": (784, 2048, 2048, 10)}
BATCH = {"digits": 64, "wide": 256}
STEPS = {"digits": (10, 60), "wide": (3, 12)}  # (warm-up, timed)
CONFIGS = ((1, 1), (1, 2), (2, 1))  # (ranks, BLAS threads a rank)


def worker(name: str) -> None:
    """One rank of `mpiexec -n K python -m bench.distributed NAME`; rank 0 prints JSON."""
    import autograd as ag
    import autograd.distributed as dist
    import nn
    import optim
    from nn import functional as F
    from nn.parallel import DistributedDataParallel

    dist.init_process_group()
    rank, ranks = dist.get_rank(), dist.get_world_size()
    sizes, rows = MODELS[name], BATCH[name] // ranks
    rng = np.random.default_rng(rank)
    if name == "digits":
        import train

        model = train.build_model(sizes)
        x_train, y_train, _, _ = train.load_digits()
        batches = [rng.integers(0, len(x_train), rows) for _ in range(16)]
        data = [(x_train[i], y_train[i]) for i in batches]
    else:
        layers: list = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
        model = nn.Sequential(*layers[:-1])
        data = [(rng.standard_normal((rows, sizes[0]), dtype=np.float32),
                 rng.integers(0, sizes[-1], rows)) for _ in range(4)]
    if ranks > 1:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ddp = DistributedDataParallel(model)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)

    spent = [0.0, 0]  # seconds inside all_reduce, calls
    all_reduce = dist.all_reduce

    def timed_all_reduce(*args, **kwargs):
        start = time.perf_counter()
        all_reduce(*args, **kwargs)
        spent[0] += time.perf_counter() - start
        spent[1] += 1

    dist.all_reduce = timed_all_reduce  # seen by DistributedDataParallel and SyncBatchNorm
    warmup, timed = STEPS[name]
    steps, reduces = [], []
    for i in range(warmup + timed):
        x, y = data[i % len(data)]
        dist.barrier()
        spent[:], start = [0.0, 0], time.perf_counter()
        loss = F.cross_entropy(ddp(ag.tensor(x)), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i >= warmup:
            steps.append(time.perf_counter() - start)
            reduces.append(spent[0])
    dist.all_reduce = all_reduce
    result = {"step": statistics.median(steps), "all_reduce": statistics.median(reduces),
              "calls": spent[1]}
    if name == "wide" and ranks > 1:
        # The gradients' all-reduce alone, and a one-float one for the latency.
        flats = [bucket.flat for bucket in ddp._buckets]
        result["grad_bytes"] = sum(f.nbytes for f in flats)
        result["buckets"] = len(flats)
        result["grads_alone"] = _fastest(lambda: [dist.all_reduce(f) for f in flats], 10)
        tiny = np.zeros(1, np.float32)
        result["latency"] = _fastest(lambda: dist.all_reduce(tiny), 200)
    if rank == 0:
        print(json.dumps(result), flush=True)
    dist.destroy_process_group()


def _fastest(fn, repeat: int) -> float:
    """The fastest of `repeat` runs: the cost itself, without the waits a machine shared with
    other processes adds (on a busy machine the median of a small all-reduce is mostly that)."""
    import autograd.distributed as dist

    times = []
    for _ in range(repeat):
        dist.barrier()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _launch(name: str, ranks: int, threads: int) -> dict:
    import autograd.distributed as dist

    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "PYTHONPATH": os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", "")}
    run = subprocess.run([dist.find_mpiexec(), "-n", str(ranks), sys.executable, "-m",
                          "bench.distributed", name], capture_output=True, text=True, env=env,
                         timeout=600)
    if run.returncode != 0:
        raise RuntimeError(f"bench.distributed {name} on {ranks} ranks failed:\n{run.stderr}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def run() -> None:
    import autograd.distributed as dist

    if dist.find_mpiexec() is None:
        print("\n## distributed: skipped (no mpiexec: pip install -e '.[dist]')")
        return
    print("\n## distributed data-parallel training (median step; the global batch split over "
          "the ranks)")
    header = (f"{'model':<8}{'ranks x threads':>17}{'steps/s':>10}{'speed-up':>10}"
              f"{'all-reduces':>13}{'all-reduce ms':>15}{'share':>8}")
    print(header)
    print("-" * len(header))
    wide = {}
    for name in MODELS:
        base = None
        for ranks, threads in CONFIGS:
            result = _launch(name, ranks, threads)
            base = base or (result["step"] if (ranks, threads) == (1, 1) else None)
            if name == "wide":
                wide[(ranks, threads)] = result
            speedup = f"{base / result['step']:.2f}x" if base else "-"
            print(f"{name:<8}{f'{ranks} x {threads}':>17}{1 / result['step']:>10.1f}"
                  f"{speedup:>10}{result['calls']:>13}{result['all_reduce'] * 1e3:>15.2f}"
                  f"{result['all_reduce'] / result['step']:>8.0%}")
    _project(wide[(1, 1)]["step"], wide[(2, 1)])


def _project(step_1: float, two: dict, ranks: int = 8) -> None:
    """The all-reduce on `ranks` ranks from the 2-rank measurement: reduce-scatter then
    all-gather moves 2 (K-1)/K of the buffer through each rank (1x on 2 ranks, 1.75x on 8) and
    pays 2 log2(K) latencies per all-reduce. Compute per rank shrinks with its rows (step_1 /
    K), and nothing overlaps: the buckets are reduced after the backward, one after another."""
    latency, alone, size, buckets = (two[k] for k in ("latency", "grads_alone", "grad_bytes",
                                                      "buckets"))
    bandwidth = size / max(alone - 2 * latency * buckets, 1e-9)  # bytes/s, from K = 2
    moved, hops = 2 * (ranks - 1) / ranks * size / bandwidth, 2 * np.log2(ranks)
    reduce, unbucketed = moved + hops * latency * buckets, moved + hops * latency * 6
    step = step_1 / ranks + reduce
    print(f"2 ranks: {size / 1e6:.1f} MB of gradients all-reduced in {alone * 1e3:.1f} ms "
          f"({bandwidth / 1e9:.2f} GB/s), latency {latency * 1e6:.0f} us (fastest runs). "
          f"On {ranks} ranks: all-reduce {reduce * 1e3:.1f} ms in {buckets} bucket(s) "
          f"({unbucketed * 1e3:.1f} ms as one per parameter), step {step * 1e3:.1f} ms against "
          f"{step_1 * 1e3:.1f} ms on one rank: speed-up {step_1 / step:.1f}x of {ranks}")


if __name__ == "__main__":
    worker(sys.argv[1])
