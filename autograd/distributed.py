"""Collectives over MPI for data-parallel training (PyTorch's `torch.distributed`, on mpi4py).

    import autograd.distributed as dist
    dist.init_process_group()            # under `mpiexec -n K python script.py`: K ranks
    dist.all_reduce(array, op="avg")     # in place, the same result on every rank

A process that no MPI launcher started is a world of one (rank 0, size 1) and imports no MPI,
so the same script runs alone and under `mpiexec`. Under a launcher, an uncaught exception on
one rank ends every rank (it exits with status 1, and mpiexec ends the others) instead of
leaving them blocked in a collective, and a collective that waits longer than `timeout` (a rank
that exited or hangs) ends them too, saying where it waited.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
import traceback
from datetime import timedelta
from typing import Any

import numpy as np

from .tensor import Tensor

# Set by the launchers: MPICH's and Intel MPI's hydra and Slurm's PMI2 (PMI_RANK), PMIx
# (Open MPI 5, Slurm), Open MPI's ORTE.
_LAUNCHER_VARIABLES = ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK")


class ReduceOp:
    """The reductions `all_reduce` takes (PyTorch's spelling `dist.ReduceOp.SUM` works too)."""

    SUM, AVG, PRODUCT, MIN, MAX = "sum", "avg", "product", "min", "max"


class _World:
    """The process group: the communicator (None for a world of one) and the watchdog's view."""

    def __init__(self, comm: Any, rank: int, size: int, timeout: float):
        self.comm, self.rank, self.size, self.timeout = comm, rank, size, timeout
        self.waiting: tuple[str, float] | None = None  # (collective, since) while in one

    def run(self, name: str, collective: Any, *args: Any) -> Any:
        """Call a collective under the watchdog."""
        self.waiting = (name, time.monotonic())
        try:
            return collective(*args)
        finally:
            self.waiting = None


_world: _World | None = None
_watchdog: threading.Thread | None = None


def init_process_group(backend: str = "mpi", timeout: timedelta | float = timedelta(minutes=30),
                       world_size: int = -1, rank: int = -1) -> None:
    """Join the world of processes the MPI launcher started (a world of one without one).

    `timeout` (a timedelta or seconds) bounds how long any collective may wait for the other
    ranks before all are aborted. `world_size` and `rank`, if given, are checked against the
    launcher's."""
    global _world
    if backend != "mpi":
        raise ValueError(f"init_process_group: backend must be 'mpi', got {backend!r}")
    if _world is not None:
        raise RuntimeError("init_process_group: already initialized (destroy_process_group() "
                           "first)")
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
    if not seconds > 0:
        raise ValueError(f"init_process_group: timeout must be positive, got {timeout!r}")
    comm, my_rank, size = None, 0, 1
    if any(name in os.environ for name in _LAUNCHER_VARIABLES):
        try:
            from mpi4py import MPI
        except ImportError as error:
            raise RuntimeError("init_process_group: started by an MPI launcher but mpi4py is "
                               "not installed; pip install -e '.[dist]'") from error
        comm = MPI.COMM_WORLD.Dup()  # our own channel: a user's MPI traffic cannot mix in
        my_rank, size = comm.Get_rank(), comm.Get_size()
    for name, given, actual in (("world_size", world_size, size), ("rank", rank, my_rank)):
        if given != -1 and given != actual:
            raise ValueError(f"init_process_group: {name}={given}, but the launcher started "
                             f"this process as {name} {actual}")
    _world = _World(comm, my_rank, size, seconds)
    if size > 1:
        _install_failure_handling()


def is_initialized() -> bool:
    return _world is not None


def _get_world(caller: str) -> _World:
    if _world is None:
        raise RuntimeError(f"{caller}: the process group is not initialized; call "
                           "autograd.distributed.init_process_group() first")
    return _world


def get_rank() -> int:
    """This process's index in the world, 0 to get_world_size() - 1."""
    return _get_world("get_rank").rank


def get_world_size() -> int:
    return _get_world("get_world_size").size


def destroy_process_group() -> None:
    """Leave the world; `init_process_group` may be called again (MPI stays initialized)."""
    global _world
    world = _get_world("destroy_process_group")
    if world.comm is not None:
        world.comm.Free()
    _world = None


def find_mpiexec() -> str | None:
    """The `mpiexec` of the installed `mpich` wheel (the `dist` extra), else the one on PATH."""
    from importlib.metadata import PackageNotFoundError, files
    try:
        found = [f.locate() for f in files("mpich") or () if f.name == "mpiexec"]
    except PackageNotFoundError:
        found = []
    return str(found[0].resolve()) if found else shutil.which("mpiexec")


def _buffer(tensor: Any, caller: str) -> np.ndarray:
    array = tensor.data if isinstance(tensor, Tensor) else tensor
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{caller}: expected a Tensor or a NumPy array, got "
                        f"{type(tensor).__name__}")
    if not array.flags.writeable:
        raise ValueError(f"{caller}: the array of shape {array.shape} is read-only; the result "
                         "is written in place")
    return array


def _in_place(tensor: Any, caller: str, world: _World, collective: Any) -> None:
    """Run `collective(contiguous array)` on the tensor's or array's memory, in place (in a
    world of one there is nothing to exchange). A tensor counts as changed in place either way,
    so that a value saved for backward and then overwritten is caught alone as on K ranks."""
    array = _buffer(tensor, caller)
    if world.size == 1:
        pass
    elif array.flags.c_contiguous:
        collective(array)
    else:  # MPI wants one contiguous block
        block = np.ascontiguousarray(array)
        collective(block)
        array[...] = block
    if isinstance(tensor, Tensor):
        tensor._version[0] += 1


def all_reduce(tensor: Tensor | np.ndarray, op: str = ReduceOp.SUM) -> None:
    """Replace `tensor` on every rank by the reduction over ranks of their tensors: "sum",
    "avg", "product", "min" or "max" (each rank's must have the same shape and dtype)."""
    world = _get_world("all_reduce")
    if op not in ("sum", "avg", "product", "min", "max"):
        raise ValueError(f"all_reduce: op must be one of 'sum', 'avg', 'product', 'min', "
                         f"'max', got {op!r}")
    array = _buffer(tensor, "all_reduce")
    if op == "avg" and array.dtype.kind not in "fc":
        raise TypeError(f"all_reduce: op='avg' needs a floating-point array, got {array.dtype}")

    def reduce(block: np.ndarray) -> None:
        from mpi4py import MPI
        mpi_op = {"sum": MPI.SUM, "avg": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN,
                  "max": MPI.MAX}[op]
        world.run("all_reduce", world.comm.Allreduce, MPI.IN_PLACE, block, mpi_op)
        if op == "avg":
            block /= world.size

    _in_place(tensor, "all_reduce", world, reduce)


def broadcast(tensor: Tensor | np.ndarray, src: int = 0) -> None:
    """Replace `tensor` on every rank by rank `src`'s, in place."""
    world = _get_world("broadcast")
    if not 0 <= src < world.size:
        raise ValueError(f"broadcast: src must be a rank in [0, {world.size}), got {src}")
    _in_place(tensor, "broadcast", world,
              lambda block: world.run("broadcast", world.comm.Bcast, block, src))


def all_gather_object(object_list: list, obj: Any) -> None:
    """Fill `object_list` (of world-size length) with every rank's `obj`, in rank order.
    Objects travel pickled: use it for metadata (shapes, names), not for data."""
    world = _get_world("all_gather_object")
    if len(object_list) != world.size:
        raise ValueError(f"all_gather_object: object_list must have world-size length "
                         f"{world.size}, got {len(object_list)}")
    gathered = [obj] if world.size == 1 else world.run("all_gather_object",
                                                       world.comm.allgather, obj)
    object_list[:] = gathered


def barrier() -> None:
    """Wait until every rank has reached this call."""
    world = _get_world("barrier")
    if world.size > 1:
        world.run("barrier", world.comm.Barrier)


# ---- a failing rank takes the others down with it, saying so ----------------------------------
def _abort(message: str) -> None:
    """Say why on stderr, then exit with status 1, which makes mpiexec end every other rank.
    (MPI_Abort ended them as well, but it could kill the output forwarding before this rank's
    traceback and message got through.) A launcher that does not end them leaves each to its
    own watchdog."""
    print(f"autograd.distributed: {message}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(1)


def _install_failure_handling() -> None:
    """Once per process: an excepthook that aborts every rank, and the watchdog thread."""
    global _watchdog
    if _watchdog is not None:
        return
    previous_hook = sys.excepthook

    def abort_on_uncaught(kind: type, value: BaseException, tb: Any) -> None:
        previous_hook(kind, value, tb)
        world = _world
        if world is None or world.size == 1:
            return
        _abort(f"rank {world.rank} of {world.size} raised {kind.__name__} (traceback above); "
               "aborting all ranks")

    def watch() -> None:
        while True:
            world = _world
            time.sleep(min(1.0, world.timeout / 10) if world else 1.0)
            waiting = world.waiting if world else None
            if waiting and time.monotonic() - waiting[1] > world.timeout:
                stack = "".join(traceback.format_stack(sys._current_frames()[
                    threading.main_thread().ident]))
                _abort(f"rank {world.rank} of {world.size} waited more than {world.timeout:g} s "
                       f"in {waiting[0]} for the other ranks (one has probably failed, exited or "
                       f"taken another path); aborting all ranks. Waiting at:\n{stack}")

    sys.excepthook = abort_on_uncaught
    _watchdog = threading.Thread(target=watch, name="autograd.distributed watchdog", daemon=True)
    _watchdog.start()
