"""autograd.utils.data: datasets, samplers, collation and the DataLoader, against NumPy."""

from collections import namedtuple

import numpy as np
import pytest

import autograd as ag
from autograd.utils.data import (
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def digits_like(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64) % 4
    return x, y


class Squares(Dataset):
    """A map-style dataset read sample by sample (the slow path)."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return {"x": np.full(2, i, dtype=np.float64), "y": i * i, "name": f"s{i}"}

    def __len__(self):
        return self.n


def test_tensor_dataset_samples_and_length():
    x, y = digits_like()
    ds = TensorDataset(ag.tensor(x), y)  # an array is wrapped, sharing memory
    assert len(ds) == 10
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi.data, x[3])
    assert yi.item() == y[3]
    assert ds.tensors[1].data is y


def test_tensor_dataset_rejects_mismatched_and_non_tensors():
    with pytest.raises(ValueError, match=r"TensorDataset.*\(3, 2\).*\(4,\)"):
        TensorDataset(ag.zeros(3, 2), ag.zeros(4))
    with pytest.raises(TypeError, match="TensorDataset: expected tensors, got list"):
        TensorDataset([1, 2, 3])


@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_batches_in_order_with_a_short_last_batch(drop_last):
    x, y = digits_like(10)
    loader = DataLoader(TensorDataset(ag.tensor(x), ag.tensor(y)), batch_size=4,
                        drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(batches) == (2 if drop_last else 3)
    for k, (xb, yb) in enumerate(batches):
        np.testing.assert_array_equal(xb.data, x[4 * k:4 * k + 4])
        np.testing.assert_array_equal(yb.data, y[4 * k:4 * k + 4])
        assert xb.dtype == np.float32 and yb.dtype == np.int64
    assert batches[-1][0].shape[0] == (4 if drop_last else 2)


def test_shuffle_follows_manual_seed_and_changes_every_epoch():
    x, y = digits_like(10)
    loader = DataLoader(TensorDataset(ag.tensor(x), ag.tensor(y)), batch_size=3, shuffle=True)
    ag.manual_seed(5)
    first = np.concatenate([yb.data for _, yb in loader])
    second = np.concatenate([yb.data for _, yb in loader])
    ag.manual_seed(5)
    again = np.concatenate([yb.data for _, yb in loader])
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)
    expected = ag.random.get_generator  # the order is the global generator's permutation
    ag.manual_seed(5)
    np.testing.assert_array_equal(first, y[expected().permutation(10)])


def test_shuffle_with_a_numpy_generator():
    x, y = digits_like(10)
    ds = TensorDataset(ag.tensor(x), ag.tensor(y))
    xs = np.concatenate([xb.data for xb, _ in
                         DataLoader(ds, batch_size=4, shuffle=True,
                                    generator=np.random.default_rng(1))])
    np.testing.assert_array_equal(xs, x[np.random.default_rng(1).permutation(10)])
    with pytest.raises(TypeError, match="generator must be a numpy.random.Generator"):
        DataLoader(ds, shuffle=True, generator=3)


def test_fast_path_equals_sample_by_sample_collation():
    x, y = digits_like(7)
    ds = TensorDataset(ag.tensor(x), ag.tensor(y))
    fast = list(DataLoader(ds, batch_size=3))
    slow = list(DataLoader(ds, batch_size=3, collate_fn=default_collate))
    for (xf, yf), (xs, ys) in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(xf.data, xs.data)
        np.testing.assert_array_equal(yf.data, ys.data)
        assert xf.dtype == xs.dtype and yf.dtype == ys.dtype


def test_sampler_decides_the_order_and_excludes_shuffle():
    x, y = digits_like(6)
    ds = TensorDataset(ag.tensor(x), ag.tensor(y))
    (_, yb), = DataLoader(ds, batch_size=6, sampler=[5, 0, 0, 2])
    np.testing.assert_array_equal(yb.data, y[[5, 0, 0, 2]])
    assert len(DataLoader(ds, batch_size=3, sampler=[5, 0, 0, 2])) == 2
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, sampler=[0], shuffle=True)
    with pytest.raises(TypeError, match="sampler must yield integer indices"):
        list(DataLoader(ds, sampler=[[0, 1]]))
    assert list(SequentialSampler(ds)) == list(range(6))
    assert sorted(RandomSampler(ds, np.random.default_rng(0))) == list(range(6))


def test_pytorchs_worker_arguments_run_in_this_process_with_the_same_batches():
    ds = TensorDataset(ag.arange(10))
    ag.manual_seed(3)
    plain = [b.tolist() for (b,) in DataLoader(ds, batch_size=4, shuffle=True)]
    ag.manual_seed(3)
    ported = DataLoader(ds, batch_size=4, shuffle=True, num_workers=4, pin_memory=True,
                        worker_init_fn=lambda worker: None)
    assert [b.tolist() for (b,) in ported] == plain
    with pytest.raises(ValueError, match="num_workers must be an integer >= 0, got -1"):
        DataLoader(ds, num_workers=-1)


@pytest.mark.parametrize("bad", [0, -1, 2.0, None, True])
def test_batch_size_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(TensorDataset(ag.zeros(3)), batch_size=bad)


def test_default_collate_of_dicts_numbers_strings_and_namedtuples():
    (batch,) = DataLoader(Squares(3), batch_size=3)
    np.testing.assert_array_equal(batch["x"].data, [[0, 0], [1, 1], [2, 2]])
    assert batch["x"].dtype == np.float64
    np.testing.assert_array_equal(batch["y"].data, [0, 1, 4])
    assert batch["y"].dtype == np.int64
    assert batch["name"] == ["s0", "s1", "s2"]
    Pair = namedtuple("Pair", "a b")
    collated = default_collate([Pair(1.5, ag.ones(2)), Pair(2.5, ag.zeros(2))])
    assert isinstance(collated, Pair) and collated.a.dtype == np.float32
    np.testing.assert_array_equal(collated.b.data, [[1, 1], [0, 0]])
    assert isinstance(default_collate([[1, 2], [3, 4]]), list)
    with pytest.raises(TypeError, match="default_collate: .*got object"):
        default_collate([object()])
    with pytest.raises(ValueError, match="different lengths"):
        default_collate([(1, 2), (3,)])


def test_collating_tensors_that_require_grad_keeps_the_graph():
    w = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (batch,) = DataLoader([w * 2, w * 3], batch_size=2)  # a list is a dataset too
    batch.sum().backward()
    np.testing.assert_array_equal(w.grad.data, [5, 5, 5])


def test_random_split_lengths_and_fractions():
    x, y = digits_like(10)
    ds = TensorDataset(ag.tensor(x), ag.tensor(y))
    a, b = random_split(ds, [3, 7], generator=np.random.default_rng(2))
    order = np.random.default_rng(2).permutation(10)
    np.testing.assert_array_equal(a.indices, order[:3])
    np.testing.assert_array_equal(b.indices, order[3:])
    assert int(b[0][1].item()) == y[order[3]]
    # fractions: floor(n * f) each, the remainder one each to the first subsets (PyTorch's)
    assert [len(s) for s in random_split(ds, [0.25, 0.25, 0.5])] == [3, 2, 5]
    assert [len(s) for s in random_split(Squares(11), [0.5, 0.5])] == [6, 5]
    with pytest.raises(ValueError, match="summing to the dataset's length 10"):
        random_split(ds, [3, 3])
    with pytest.raises(ValueError, match="fractions must lie in"):
        random_split(ds, [1.5, -0.5])


def test_subset_of_a_tensor_dataset_batches_like_its_samples():
    x, y = digits_like(10)
    ds = Subset(TensorDataset(ag.tensor(x), ag.tensor(y)), [9, 1, 4])
    ((xb, yb),) = DataLoader(ds, batch_size=3)
    np.testing.assert_array_equal(xb.data, x[[9, 1, 4]])
    np.testing.assert_array_equal(yb.data, y[[9, 1, 4]])
    ((xs, ys),) = DataLoader(ds, batch_size=3, collate_fn=default_collate)
    np.testing.assert_array_equal(xs.data, xb.data)


def test_dataset_base_class_says_what_is_missing():
    with pytest.raises(NotImplementedError, match="Dataset does not define __len__"):
        len(Dataset())
