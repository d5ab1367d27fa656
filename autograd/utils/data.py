"""Datasets and the loader that batches them (PyTorch's `torch.utils.data`).

    from autograd.utils.data import DataLoader, TensorDataset
    loader = DataLoader(TensorDataset(ag.tensor(x), ag.tensor(y)), batch_size=64, shuffle=True)
    for xb, yb in loader: ...

A `DataLoader` draws indices from a sampler, cuts them into batches and collates each batch:
for a `TensorDataset` (or a `Subset` of one) every tensor is indexed once per batch; any other
dataset is read sample by sample and the samples are stacked by `default_collate`. Shuffling
draws from the library's global generator (`ag.manual_seed`) unless a `generator` (a NumPy
`np.random.Generator`; PyTorch's `torch.Generator` has no counterpart here) is given. Loading
runs in the calling process.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..ops import stack
from ..random import get_generator
from ..tensor import Tensor


# ---- datasets ---------------------------------------------------------------------------------
class Dataset:
    """A collection of samples: subclasses define `__getitem__(index)` and `__len__()`."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} does not define __len__")


class TensorDataset(Dataset):
    """Sample i is `(t[i] for t in tensors)`; every tensor has the same first dimension.
    NumPy arrays are accepted too and wrapped as tensors sharing their memory."""

    def __init__(self, *tensors: Tensor | np.ndarray):
        for t in tensors:
            if not isinstance(t, (Tensor, np.ndarray)):
                raise TypeError(f"TensorDataset: expected tensors, got {type(t).__name__}")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        sizes = {t.shape[0] if t.ndim else None for t in self.tensors}
        if len(sizes) > 1 or None in sizes:
            raise ValueError(f"TensorDataset: tensors must share their first dimension, got "
                             f"shapes {[t.shape for t in self.tensors]}")

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0] if self.tensors else 0


class Subset(Dataset):
    """The samples of `dataset` at `indices` (an integer array), in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.intp)

    def __getitem__(self, index: Any) -> Any:
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: np.random.Generator | None = None) -> list[Subset]:
    """Split `dataset` into non-overlapping random subsets of the given lengths. Fractions
    summing to 1 are allowed: each gets floor(fraction * n) samples, and the samples left
    over go one each to the first subsets (PyTorch's rule)."""
    n = len(dataset)
    if lengths and all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1):
        if any(not 0 <= x <= 1 for x in lengths):
            raise ValueError(f"random_split: fractions must lie in [0, 1], got {list(lengths)}")
        counts = [math.floor(n * x) for x in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        counts = [int(x) for x in lengths]
        if any(c != x or c < 0 for c, x in zip(counts, lengths)) or sum(counts) != n:
            raise ValueError(f"random_split: lengths must be non-negative integers summing to "
                             f"the dataset's length {n} (or fractions summing to 1), got "
                             f"{list(lengths)}")
    order = _generator(generator, "random_split").permutation(n)
    ends = np.cumsum(counts)
    return [Subset(dataset, order[end - count:end]) for end, count in zip(ends, counts)]


# ---- samplers: iterables of indices with a length ---------------------------------------------
class Sampler:
    """Yields the indices of the samples to load, in order; `len()` is how many."""

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError(f"{type(self).__name__} does not define __iter__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} does not define __len__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Any):
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh random permutation of the indices at every iteration, drawn from `generator`
    or, if None, from the global generator at the time of the iteration (`ag.manual_seed`)."""

    def __init__(self, data_source: Any, generator: np.random.Generator | None = None):
        self.data_source, self.generator = data_source, generator
        _generator(generator, "RandomSampler")

    def __iter__(self) -> Iterator[int]:
        return iter(_generator(self.generator, "RandomSampler").permutation(len(self)).tolist())

    def __len__(self) -> int:
        return len(self.data_source)


class DistributedSampler(Sampler):
    """This rank's share of the indices: every `num_replicas`-th of one order, starting at
    `rank`, so the ranks together cover the dataset once per epoch (PyTorch's semantics).

    The order is a permutation drawn from `seed + epoch` (the same on every rank; `set_epoch`
    before each epoch gives a new one), or 0..n-1 unshuffled. Every rank gets ceil(n / K)
    indices: the order is padded with its own first indices to a multiple of K, or with
    `drop_last` cut to floor(n / K) each. `num_replicas` and `rank` default to the process
    group's (`autograd.distributed`)."""

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        from .. import distributed

        if num_replicas is None:
            num_replicas = distributed.get_world_size()
        if rank is None:
            rank = distributed.get_rank()
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank must lie in [0, num_replicas) with "
                             f"num_replicas >= 1, got rank {rank} and num_replicas "
                             f"{num_replicas}")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        n = len(dataset)
        self.num_samples = n // num_replicas if drop_last else -(-n // num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        order = np.random.default_rng(self.seed + self.epoch).permutation(n) if self.shuffle \
            else np.arange(n)
        if self.total_size > n:  # pad with the order's own start, repeated if need be
            order = np.resize(order, self.total_size)
        return iter(order[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the order of epoch `epoch` (call it before each epoch, on every rank)."""
        self.epoch = epoch


def _generator(generator: Any, where: str) -> np.random.Generator:
    if generator is None:
        return get_generator()
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"{where}: generator must be a numpy.random.Generator (e.g. "
                        f"np.random.default_rng(0)) or None, got {type(generator).__name__}")
    return generator


# ---- collating and loading ------------------------------------------------------------------
def default_collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch: tensors with `ag.stack` (recorded, if they require
    grad), arrays and numbers into a tensor (Python floats become float32, ints int64), and
    tuples, lists and dicts element by element; strings are kept as a list."""
    first = samples[0]
    if isinstance(first, Tensor):
        return stack(list(samples))
    if isinstance(first, (np.ndarray, np.generic)):
        return Tensor(np.stack(samples))
    if isinstance(first, (bool, int, float)):
        return Tensor(list(samples))
    if isinstance(first, str):
        return list(samples)
    if isinstance(first, Mapping):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: samples in a batch have different lengths, "
                             f"{sorted({len(s) for s in samples})}")
        fields = [default_collate(list(field)) for field in zip(*samples)]
        if hasattr(first, "_fields"):  # a namedtuple
            return type(first)(*fields)
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(f"default_collate: samples must be tensors, arrays, numbers, strings, "
                    f"or tuples, lists and dicts of those; got {type(first).__name__}")


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size`.

    The order comes from `sampler` (any iterable of indices with a `len`), else from a
    `RandomSampler` (`shuffle=True`, new order every epoch, from `generator` or the global
    generator) or a `SequentialSampler`. A last, smaller batch is kept unless `drop_last`.
    `collate_fn(list of samples)` builds a batch (default: `default_collate`; a
    `TensorDataset` is then indexed once per batch instead of once per sample). The arguments
    after `shuffle` are keyword-only: their order differs from PyTorch's. PyTorch's
    `num_workers`, `pin_memory` and `worker_init_fn` are accepted so that its loaders run as
    they are; the batches are made in this process (PyTorch's `num_workers=0`), the same ones.
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, *,
                 drop_last: bool = False, generator: np.random.Generator | None = None,
                 collate_fn: Callable[[list], Any] | None = None,
                 sampler: Iterable[int] | None = None, num_workers: int = 0,
                 pin_memory: bool = False, worker_init_fn: Callable[[int], None] | None = None):
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) \
                or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be an integer >= 0, got "
                             f"{num_workers!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        if not hasattr(dataset, "__getitem__") or sampler is None \
                and not hasattr(dataset, "__len__"):
            raise TypeError(f"DataLoader: dataset must have __len__ and __getitem__ (a Dataset, "
                            f"TensorDataset or list), got {type(dataset).__name__}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True are mutually exclusive "
                             "(the sampler decides the order)")
        if sampler is None:
            sampler = RandomSampler(dataset, generator) if shuffle else SequentialSampler(dataset)
        self.dataset, self.batch_size, self.drop_last = dataset, int(batch_size), drop_last
        self.sampler, self.generator, self.collate_fn = sampler, generator, collate_fn

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        try:
            order = np.fromiter(iter(self.sampler), dtype=np.intp)
        except (TypeError, ValueError) as error:
            raise TypeError(f"DataLoader: the sampler must yield integer indices "
                            f"({error})") from None
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            index = order[start:start + self.batch_size]
            if self.collate_fn is None:
                yield _fetch(self.dataset, index)
            else:
                yield self.collate_fn([self.dataset[i] for i in index.tolist()])


def _fetch(dataset: Any, index: np.ndarray) -> Any:
    """The default-collated batch of samples `index`: a TensorDataset (or a Subset of one) is
    indexed once per tensor, any other dataset read sample by sample. Subclasses take the slow
    path, as they may redefine `__getitem__`."""
    if type(dataset) is TensorDataset:
        return dataset[index]
    if type(dataset) is Subset:
        return _fetch(dataset.dataset, dataset.indices[index])
    return default_collate([dataset[i] for i in index.tolist()])
