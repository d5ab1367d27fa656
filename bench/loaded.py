"""Training on a busy machine: the digits MLP to 97% (as in `bench mlp`), quiet and then with
one core kept busy by another process (a bounded busy loop this benchmark starts and stops).

BLAS threads that spin after a multi-threaded product fight the busy core; `autograd.blas`
runs small products on one thread for that reason. The table gives both times and, per
implementation, loaded / quiet.
"""

from __future__ import annotations

import subprocess
import sys

from bench.common import Table, load_torch
from bench.mlp import digits_times

BUSY_SECONDS = 120  # the busy loop ends by itself after this, whatever happens here


def _busy_core() -> subprocess.Popen:
    loop = f"import time\nend = time.time() + {BUSY_SECONDS}\nwhile time.time() < end: pass"
    return subprocess.Popen([sys.executable, "-c", loop])


def run() -> None:
    names = ["ours", "numpy"] + (["torch"] if load_torch() else [])
    quiet = digits_times(names, rounds=3)
    busy = _busy_core()
    try:
        loaded = digits_times(names, rounds=3)
    finally:
        busy.terminate()
        busy.wait()
    table = Table("digits MLP to 97%, one core busy with another process", "s", 1)
    for label, times in (("quiet", quiet), ("one core busy", loaded)):
        table.add(label, times["ours"][0], times["torch"][0] if "torch" in times else None,
                  times["numpy"][0])
    table.print()
    print("loaded / quiet: " + ", ".join(f"{name} {loaded[name][0] / quiet[name][0]:.2f}x"
                                         for name in names))
