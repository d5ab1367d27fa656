"""Data-parallel training over MPI: every rank holds the whole model and a share of each batch.

    dist.init_process_group()
    model = nn.SyncBatchNorm.convert_sync_batchnorm(model)   # BatchNorm over the whole batch
    ddp = nn.parallel.DistributedDataParallel(model)         # rank 0's weights on every rank
    loss = F.cross_entropy(ddp(x_shard), y_shard)
    loss.backward()                                          # gradients averaged over ranks

With each rank's loss the mean over its B/K rows, the average of the K ranks' gradients is the
gradient of the mean over all B rows, so K ranks step as one process on the whole batch would.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from autograd import distributed as dist
from autograd.ops import AllReduceSum

from .layers import BatchNorm1d
from .module import Module, Parameter


class _Bucket:
    """Parameters whose gradients travel together: one flat buffer, one all-reduce."""

    def __init__(self, named: list[tuple[str, Parameter]]):
        self.names = [name for name, _ in named]
        self.params = [p for _, p in named]
        self.flat = np.empty(sum(p.data.size for p in self.params), dtype=self.params[0].dtype)
        self.ready: set[int] = set()  # indices of the parameters this backward has reached

    def arrived(self, index: int) -> None:
        """Parameter `index` holds its .grad: once all have, average them."""
        self.ready.add(index)
        if len(self.ready) == len(self.params):
            self.reduce()

    def reduce(self) -> None:
        """Average the parameters' gradients over ranks, in place."""
        views, start = [], 0
        for p in self.params:
            views.append(self.flat[start:start + p.data.size].reshape(p.shape))
            views[-1][...] = p.grad.data
            start += p.data.size
        dist.all_reduce(self.flat, op="avg")
        for p, view in zip(self.params, views):
            np.copyto(p.grad.data, view)
        self.ready.clear()


class DistributedDataParallel(Module):
    """Wraps `module` so that `backward()` leaves on every rank the gradients averaged over
    ranks.

    At construction every rank checks that all have the same parameter names and shapes (a
    mismatch raises, naming the parameter), then takes rank 0's parameters and buffers. Each
    backward, once a bucket's parameters (`bucket_cap_mb` MiB of gradients, in parameter order)
    all hold their .grad, one all-reduce averages them. In training, rank 0's buffers are
    broadcast before each forward (`broadcast_buffers`), as PyTorch does. `no_sync()` skips the
    averaging for the backward of a forward run inside it (gradient accumulation: the next
    synchronised backward averages the accumulated sums). `.module` is the wrapped model; save
    `ddp.module.state_dict()` (this wrapper's own keys start with "module.", as PyTorch's do).
    """

    def __init__(self, module: Module, broadcast_buffers: bool = True,
                 bucket_cap_mb: float = 25.0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an nn.Module, got "
                            f"{type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got "
                             f"{bucket_cap_mb}")
        if not dist.is_initialized():
            raise RuntimeError("DistributedDataParallel: the process group is not initialized; "
                               "call autograd.distributed.init_process_group() first")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        named = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        _check_same_parameters(module)
        _broadcast_from_rank_0([*module.parameters(), *module.buffers()])
        self._buckets = _buckets(named, int(bucket_cap_mb * 2**20))
        self._require_sync = True  # no_sync() clears it
        self._sync_backward = True  # what the last forward found, as PyTorch decides
        self._handles = [p.register_post_accumulate_grad_hook(_hook(self, b, i))
                         for b, bucket in enumerate(self._buckets)
                         for i, p in enumerate(bucket.params)]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        late = [name for bucket in self._buckets if bucket.ready
                for i, name in enumerate(bucket.names) if i not in bucket.ready]
        if late:
            raise RuntimeError(f"DistributedDataParallel: parameters {late} received no "
                               "gradient in the last backward, so their bucket was never "
                               "averaged; every parameter must take part in the loss")
        if self.training and self.broadcast_buffers:
            _broadcast_from_rank_0(list(self.module.buffers()))
        self._sync_backward = self._require_sync
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes of forwards run inside accumulate gradients locally, unaveraged."""
        previous, self._require_sync = self._require_sync, False
        try:
            yield
        finally:
            self._require_sync = previous


def _hook(ddp: DistributedDataParallel, bucket: int, index: int) -> Any:
    """Parameter `index` of bucket `bucket` has its .grad. The hook holds the wrapper weakly, so
    that a dropped wrapper stops averaging (and the parameters do not keep it alive)."""
    ddp_ref = weakref.ref(ddp)

    def average_over_ranks(_: Tensor) -> None:
        ddp = ddp_ref()
        if ddp is not None and ddp._sync_backward:
            ddp._buckets[bucket].arrived(index)
    return average_over_ranks


def _broadcast_from_rank_0(tensors: list[Tensor]) -> None:
    """Give every rank rank 0's values of `tensors`: one broadcast per dtype."""
    by_dtype: dict[np.dtype, list[Tensor]] = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    with ag.no_grad():
        for group in by_dtype.values():
            flat = np.concatenate([t.data.reshape(-1) for t in group])
            dist.broadcast(flat, src=0)
            start = 0
            for t in group:
                t[...] = flat[start:start + t.data.size].reshape(t.shape)
                start += t.data.size


def _check_same_parameters(module: Module) -> None:
    """Raise on every rank, naming the first difference, unless all ranks' models have the
    same parameter names, shapes and dtypes (else the all-reduces would mix them up)."""
    mine = [(name, p.shape, str(p.dtype)) for name, p in module.named_parameters()]
    everyone: list = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, mine)
    first = everyone[0]
    for rank, theirs in enumerate(everyone):
        if theirs != first:
            i = next((i for i, (a, b) in enumerate(zip(theirs, first)) if a != b),
                     min(len(theirs), len(first)))
            name = (first[i] if i < len(first) else theirs[i])[0]
            raise ValueError(f"DistributedDataParallel: parameter {name!r} differs across "
                             f"ranks: rank {rank} has {_describe(theirs, i)}, rank 0 has "
                             f"{_describe(first, i)}; every rank must build the same model")


def _describe(params: list, i: int) -> str:
    return f"{params[i][0]!r} {params[i][1]} {params[i][2]}" if i < len(params) else "none"


def _buckets(named: list[tuple[str, Parameter]], cap_bytes: int) -> list[_Bucket]:
    """Consecutive parameters of one dtype, up to `cap_bytes` of gradients a bucket (a
    parameter larger than that gets a bucket of its own)."""
    groups: list[list[tuple[str, Parameter]]] = []
    size = 0
    for name, p in named:
        if not groups or groups[-1][0][1].dtype != p.dtype or size + p.data.nbytes > cap_bytes:
            groups.append([])
            size = 0
        groups[-1].append((name, p))
        size += p.data.nbytes
    return [_Bucket(group) for group in groups]


class SyncBatchNorm(BatchNorm1d):
    """BatchNorm1d whose training statistics are those of the whole batch over all ranks: one
    all-reduce of each rank's count, per-channel mean and sum of squared deviations gives the
    mean and variance (`_synchronised_statistics`). It is recorded, so the backward
    all-reduces the gradients of those statistics: K ranks on B/K rows each compute what one
    process on B rows does, gradients and running statistics included. Alone (world size 1),
    or in eval, it is BatchNorm1d."""

    def _statistics(self) -> Callable:
        if self.training and dist.is_initialized() and dist.get_world_size() > 1:
            return _synchronised_statistics
        return super()._statistics()

    @classmethod
    def convert_sync_batchnorm(cls, module: Module) -> Module:
        """`module` with every BatchNorm1d replaced by a SyncBatchNorm that shares its
        parameters and buffers (a BatchNorm1d itself comes back converted)."""
        if isinstance(module, BatchNorm1d) and not isinstance(module, SyncBatchNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats)
            for name, tensor in (*module.named_parameters(), *module.named_buffers()):
                setattr(converted, name, tensor)
            return converted.train(module.training)
        for name, child in list(module._modules.items()):  # every name of a shared child
            if child is not None:
                module.add_module(name, cls.convert_sync_batchnorm(child))
        return module


def _synchronised_statistics(x: Tensor, axes: tuple[int, ...]
                             ) -> tuple[Tensor, Tensor, Tensor, int]:
    """Mean, x - mean and biased variance over every rank's batch, from one all-reduce: each
    rank writes its count, mean and sum of squared deviations into its own slot, and the
    slots combine as in Chan et al.'s parallel variance, n var = sum_k (M2_k + n_k (mean_k -
    mean)^2). (The variance S2 / n - mean^2 from plain sums cancelled: float32 features of
    mean 1000 and spread 1 kept 3 digits of it, of mean 10000 none.)"""
    channels, rank, size = x.shape[1], dist.get_rank(), dist.get_world_size()
    shape = (1, channels) + (1,) * (x.ndim - 2)
    count = x.data.size // channels
    local_mean = x.sum(axis=axes, keepdims=True) / max(count, 1)
    deviation = x - local_mean
    width = 2 * channels + 1
    slots = AllReduceSum.apply(ag.concatenate([
        ag.zeros(rank * width, dtype=x.dtype), local_mean.reshape(channels),
        (deviation * deviation).sum(axis=axes), ag.tensor(np.array([count], dtype=x.dtype)),
        ag.zeros((size - rank - 1) * width, dtype=x.dtype)])).reshape(size, width)
    counts, means = slots[:, 2 * channels:], slots[:, :channels]
    n = int(counts.data.sum())
    mean = (counts * means).sum(axis=0) / n
    spread = means - mean
    var = (slots[:, channels:2 * channels].sum(axis=0) + (counts * spread * spread).sum(axis=0)) / n
    return mean.reshape(shape), x - mean.reshape(shape), var.reshape(shape), n
