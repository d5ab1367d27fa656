"""Shared timing and reporting for the benchmarks: medians of repeated runs, printed as ratios."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

THREADS = int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1))


def median_seconds(fn: Callable[[], object], repeat: int = 15, warmup: int = 2) -> float:
    """Median wall time of `fn()` over `repeat` runs, after `warmup` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_medians(fns: list[Callable[[], object]], repeat: int = 15,
                        warmup: int = 2) -> list[float]:
    """Median wall time of each of `fns`, their runs taken in turn (a, b, a, b, ...): on a
    shared machine the load then changes under all of them alike, where timing one after
    the other gives whichever ran in a quiet spell the better figure."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, taken in zip(fns, times):
            start = time.perf_counter()
            fn()
            taken.append(time.perf_counter() - start)
    return [statistics.median(taken) for taken in times]


def load_torch():
    """PyTorch if it is installed (set to the same thread count as ours), else None."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(THREADS)
    return torch


class Table:
    """Rows of (case, ours, torch, numpy reference), printed with ours/torch and ours/numpy."""

    def __init__(self, title: str, unit: str, scale: float):
        self.title, self.unit, self.scale = title, unit, scale
        self.rows: list[tuple[str, float, float | None, float | None]] = []

    def add(self, case: str, ours: float, torch: float | None, numpy: float | None) -> None:
        self.rows.append((case, ours, torch, numpy))

    def print(self) -> None:
        def fmt(seconds):
            return "-" if seconds is None else f"{seconds * self.scale:.3g}"

        def ratio(a, b):
            return "-" if b is None else f"{a / b:.2f}x"

        print(f"\n## {self.title} (median, {self.unit}; threads={THREADS})")
        header = (f"{'case':<34}{'ours':>10}{'torch':>10}{'numpy':>10}"
                  f"{'ours/torch':>12}{'ours/numpy':>12}")
        print(header)
        print("-" * len(header))
        for case, ours, torch, numpy in self.rows:
            print(f"{case:<34}{fmt(ours):>10}{fmt(torch):>10}{fmt(numpy):>10}"
                  f"{ratio(ours, torch):>12}{ratio(ours, numpy):>12}")
