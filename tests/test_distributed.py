"""autograd.distributed, DistributedDataParallel and SyncBatchNorm: alone in this process (a
world of one), and on two ranks under `mpiexec -n 2` (tests/mpi_checks.py, bounded by
timeouts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd as ag
import autograd.distributed as dist
import nn
from autograd.utils.data import DataLoader, DistributedSampler, TensorDataset
from nn import functional as F
from nn.parallel import DistributedDataParallel, _synchronised_statistics

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def no_world():
    """Each test starts outside any process group (the op table may have made one)."""
    if dist.is_initialized():
        dist.destroy_process_group()
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


@pytest.fixture
def world(monkeypatch):
    """A world of one, as a script started without mpiexec has."""
    for name in dist._LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    dist.init_process_group()


# ---- a world of one ---------------------------------------------------------------------------
def test_a_lone_process_is_rank_0_of_1_and_collectives_keep_its_values(world):
    assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
    array = np.arange(4.0)
    for op in ("sum", "avg", "max", "min", "product", dist.ReduceOp.SUM):
        dist.all_reduce(array, op=op)
    t = ag.tensor(np.ones(3))
    dist.broadcast(t, src=0)
    dist.barrier()
    gathered = [None]
    dist.all_gather_object(gathered, "me")
    assert array.tolist() == [0, 1, 2, 3] and t.data.tolist() == [1, 1, 1]
    assert gathered == ["me"]
    dist.destroy_process_group()
    assert not dist.is_initialized()


def test_a_lone_process_needs_no_mpi4py(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # `import mpi4py` raises ImportError
    for name in dist._LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    dist.init_process_group()
    assert dist.get_world_size() == 1
    dist.all_reduce(np.ones(2))
    dist.destroy_process_group()
    monkeypatch.setenv("PMI_RANK", "0")  # as if mpiexec had started it
    with pytest.raises(RuntimeError, match=r"mpi4py is not installed.*\[dist\]"):
        dist.init_process_group()


def test_uninitialized_and_bad_arguments_raise_clearly(world):
    with pytest.raises(RuntimeError, match="already initialized"):
        dist.init_process_group()
    with pytest.raises(ValueError, match="op must be one of"):
        dist.all_reduce(np.ones(2), op="mean")
    with pytest.raises(TypeError, match="all_reduce: expected a Tensor or a NumPy array"):
        dist.all_reduce([1.0, 2.0])
    with pytest.raises(TypeError, match="avg.*int64"):
        dist.all_reduce(np.ones(2, dtype=np.int64), op="avg")
    read_only = np.ones(2)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        dist.all_reduce(read_only)
    with pytest.raises(ValueError, match=r"src must be a rank in \[0, 1\), got 1"):
        dist.broadcast(np.ones(2), src=1)
    with pytest.raises(ValueError, match="world-size length 1"):
        dist.all_gather_object([], 0)
    with pytest.raises(ValueError, match="rank=1, but the launcher started this process as "
                                         "rank 0"):
        dist.destroy_process_group()
        dist.init_process_group(rank=1)
    with pytest.raises(ValueError, match="backend must be 'mpi'"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="timeout must be positive"):
        dist.init_process_group(timeout=0)
    for call in (dist.get_rank, dist.get_world_size, dist.barrier,
                 lambda: dist.all_reduce(np.ones(1))):
        with pytest.raises(RuntimeError, match="not initialized; call "
                                               "autograd.distributed.init_process_group"):
            call()


def test_all_reduce_on_a_tensor_counts_as_an_in_place_change(world):
    x = ag.tensor(np.ones(3), requires_grad=True)
    y = x * x  # saves x for backward
    with ag.no_grad():
        dist.all_reduce(x)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


# ---- the hook DistributedDataParallel hangs on ------------------------------------------------
def test_post_accumulate_grad_hook_sees_the_accumulated_grad_after_backward_only():
    x = ag.tensor(np.array([1.0, 2.0]), requires_grad=True)
    seen = []
    handle = x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.data.copy()))
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    ag.grad((x * x).sum(), x)  # leaves .grad alone, so no call
    assert [s.tolist() for s in seen] == [[3, 3], [6, 6]]
    handle.remove()
    (x * 3).sum().backward()
    assert len(seen) == 2
    with pytest.raises(RuntimeError, match="only a leaf tensor that requires grad"):
        (x * 2).register_post_accumulate_grad_hook(print)


# ---- DistributedDataParallel alone ------------------------------------------------------------
def mlp(seed: int = 0, dtype: type = np.float64) -> nn.Sequential:
    ag.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8, bias=False, dtype=dtype), nn.BatchNorm1d(8, dtype=dtype),
                         nn.Tanh(), nn.Linear(8, 3, dtype=dtype))


def test_ddp_alone_is_the_module(world):
    x, y = np.random.default_rng(0).standard_normal((6, 5)), np.array([0, 1, 2, 0, 1, 2])
    reference, model = mlp(), mlp()
    ddp = DistributedDataParallel(model)
    F.cross_entropy(reference(ag.tensor(x)), y).backward()
    F.cross_entropy(ddp(ag.tensor(x)), y).backward()
    assert ddp.module is model
    assert list(ddp.state_dict()) == ["module." + k for k in model.state_dict()]
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        np.testing.assert_array_equal(p.grad.data, q.grad.data, err_msg=name)


def test_ddp_buckets_split_by_size_and_dtype(world):
    model = nn.Sequential(nn.Linear(256, 256, dtype=np.float64), nn.Linear(256, 4),
                          nn.Linear(4, 4))  # 512 KiB + 2 KiB, then float32
    buckets = DistributedDataParallel(model, bucket_cap_mb=0.5)._buckets
    assert [b.names for b in buckets] == [["0.weight"], ["0.bias"],
                                          ["1.weight", "1.bias", "2.weight", "2.bias"]]
    assert DistributedDataParallel(model)._buckets[0].flat.dtype == np.float64


def test_ddp_names_a_parameter_that_got_no_gradient(world):
    model = mlp()
    ddp = DistributedDataParallel(model)
    x = ag.tensor(np.ones((4, 5)))
    ddp(x)[:, 0].sum().backward()  # every parameter takes part
    model[0].weight.grad = None
    (ddp.module[0](x) * 2).sum().backward()  # only the first layer: its bucket stays waiting
    with pytest.raises(RuntimeError, match=r"\['1.weight', '1.bias', '3.weight', '3.bias'\] "
                                           "received no gradient"):
        ddp(x)


def test_ddp_refuses_bad_arguments():
    with pytest.raises(RuntimeError, match="DistributedDataParallel: the process group is not "
                                           "initialized"):
        DistributedDataParallel(mlp())
    dist.init_process_group()
    with pytest.raises(TypeError, match="expected an nn.Module, got function"):
        DistributedDataParallel(lambda x: x)
    with pytest.raises(ValueError, match="bucket_cap_mb must be positive"):
        DistributedDataParallel(mlp(), bucket_cap_mb=0)


# ---- SyncBatchNorm alone -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_synchronised_statistics_alone_equal_batch_norms(world, dtype):
    """The all-reduced sums form (S2 / n - mean^2) against BatchNorm1d's centred form,
    forward, gradients and running statistics."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 3, 2)).astype(dtype) + 1
    upstream = ag.tensor(rng.standard_normal(x.shape).astype(dtype))
    outs, grads, running = [], [], []
    for statistics in (F._batch_statistics, _synchronised_statistics):
        xt, w, b = (ag.tensor(a, requires_grad=True) for a in
                    (x, np.full(3, 1.5, dtype), np.full(3, 0.2, dtype)))
        mean, var = ag.tensor(np.zeros(3, dtype)), ag.tensor(np.ones(3, dtype))
        y = F._batch_norm(xt, mean, var, w, b, True, 0.1, 1e-5, statistics)
        (y * upstream).sum().backward()
        outs.append(y.data)
        grads.append([t.grad.data for t in (xt, w, b)])
        running.append([mean.data, var.data])
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(outs[1], outs[0], rtol=tolerance, atol=tolerance)
    for got, expected in zip(grads[1] + running[1], grads[0] + running[0]):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


def test_synchronised_batch_norm_gradients_match_finite_differences(world):
    x = ag.tensor(np.random.default_rng(1).standard_normal((5, 3)), requires_grad=True)
    w = ag.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)

    def fn(x, w):
        return F._batch_norm(x, None, None, w, None, True, 0.1, 1e-5, _synchronised_statistics)
    assert ag.gradcheck(fn, [x, w]) and ag.gradgradcheck(fn, [x, w])


def test_convert_sync_batchnorm_replaces_nested_batchnorms_sharing_their_tensors():
    model = nn.Sequential(nn.Linear(4, 6), nn.Sequential(nn.BatchNorm1d(6), nn.ReLU()))
    model.eval()
    bn = model[1][0]
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    sync = converted[1][0]
    assert converted is model and type(sync) is nn.SyncBatchNorm and not sync.training
    assert sync.weight is bn.weight and sync.running_var is bn.running_var
    assert sync.num_batches_tracked is bn.num_batches_tracked
    assert [k for k, _ in sync.named_parameters()] == ["weight", "bias"]
    lone = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(3, affine=False))
    assert type(lone) is nn.SyncBatchNorm and lone.weight is None


def test_sync_batchnorm_alone_is_batchnorm1d(world):
    x = ag.tensor(np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32))
    bn, sync = nn.BatchNorm1d(4), nn.SyncBatchNorm(4)
    np.testing.assert_array_equal(sync(x).data, bn(x).data)
    np.testing.assert_array_equal(sync.running_var.data, bn.running_var.data)


# ---- DistributedSampler ------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "ranks"), [(10, 3), (12, 4), (2, 3), (7, 1)])
def test_the_ranks_shards_cover_the_dataset_once_per_epoch(n, ranks):
    """Disjoint shards of equal length; padded with the order's own first indices."""
    for epoch in (0, 1):
        shards = []
        for rank in range(ranks):
            sampler = DistributedSampler(range(n), num_replicas=ranks, rank=rank, seed=3)
            sampler.set_epoch(epoch)
            shards.append(list(sampler))
            assert len(shards[-1]) == len(sampler) == -(-n // ranks)
        flat = [i for shard in zip(*shards) for i in shard]  # the shared order, interleaved
        assert sorted(flat[:n]) == list(range(n))
        assert flat[n:] == (flat[:n] * ranks)[:len(flat) - n]


def shards_of(n: int, ranks: int, epoch: int = 0, **kwargs) -> list[list[int]]:
    samplers = [DistributedSampler(range(n), ranks, rank, **kwargs) for rank in range(ranks)]
    for sampler in samplers:
        sampler.set_epoch(epoch)
    return [list(sampler) for sampler in samplers]


def test_the_sampler_reshuffles_per_epoch_and_repeats_per_seed():
    assert shards_of(20, 2, epoch=1) == shards_of(20, 2, epoch=1)
    assert shards_of(20, 2, epoch=1) != shards_of(20, 2, epoch=2)
    assert shards_of(20, 2, seed=1) != shards_of(20, 2, seed=2)
    assert shards_of(5, 2, shuffle=False) == [[0, 2, 4], [1, 3, 0]]


def test_drop_last_cuts_the_tail_instead_of_padding():
    shards = shards_of(10, 3, drop_last=True, shuffle=False)
    assert shards == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]


def test_the_sampler_takes_the_process_group_and_feeds_a_dataloader(world):
    loader = DataLoader(TensorDataset(np.arange(9.0)), batch_size=4,
                        sampler=DistributedSampler(range(9), shuffle=False))
    assert [batch.data.tolist() for (batch,) in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8]]
    with pytest.raises(ValueError, match=r"rank must lie in \[0, num_replicas\).*rank 2 and "
                                         "num_replicas 2"):
        DistributedSampler(range(4), num_replicas=2, rank=2)


def test_the_sampler_without_a_process_group_says_so():
    with pytest.raises(RuntimeError, match="get_world_size: the process group is not "
                                           "initialized"):
        DistributedSampler(range(4))


# ---- two ranks ---------------------------------------------------------------------------------
MPIEXEC = dist.find_mpiexec()
try:
    import mpi4py  # noqa: F401
    MISSING = None if MPIEXEC else "no mpiexec: pip install -e '.[dist]'"
except ImportError:
    MISSING = "mpi4py is not installed: pip install -e '.[dist]'"
two_ranks = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


def mpiexec(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`mpiexec -n 2 python ARGS` from the repository root, one BLAS thread a rank."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1"}
    return subprocess.run([MPIEXEC, "-n", "2", sys.executable, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def run_checks(mode: str) -> subprocess.CompletedProcess:
    return mpiexec("tests/mpi_checks.py", mode)


@two_ranks
def test_two_ranks_on_half_batches_equal_one_process_on_the_whole_batch():
    run = run_checks("checks")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    for op in ("sum", "avg", "max", "min", "product", "int-strided", "broadcast",
               "all_gather_object"):
        assert result[op] is True, op
    for key in ("syncbn-float64-grads", "syncbn-float64-params", "mlp-float64-grads",
                "mlp-float64-params", "accumulated"):
        assert result[key] < 1e-10, (key, result[key])
    for key in ("syncbn-float32-grads", "mlp-float32-grads", "syncbn-far-running-var"):
        assert result[key] < 1e-5, (key, result[key])
    for key in ("syncbn-far-output", "syncbn-far-grad"):  # x - mean: ulp(1000) / spread 0.5
        assert result[key] < 1e-3, (key, result[key])  # 0.07 and 0.04 from S2 / n - mean^2
    assert result["buckets"] > 1 and result["unsynced-differ"] > 0.01  # no_sync did not average


@two_ranks
def test_mismatched_models_raise_naming_the_parameter():
    run = run_checks("mismatch")
    assert run.returncode != 0
    assert "parameter '0.weight' differs across ranks: rank 1 has '0.weight' (17, 12) float64, " \
           "rank 0 has '0.weight' (16, 12) float64" in run.stderr


@two_ranks
def test_a_rank_that_raises_aborts_every_rank():
    run = run_checks("raise")
    assert run.returncode != 0
    assert "rank 1 fails on purpose" in run.stderr
    assert "rank 1 of 2 raised RuntimeError (traceback above); aborting all ranks" in run.stderr


@two_ranks
def test_a_rank_that_exits_early_makes_the_others_time_out():
    run = run_checks("exit")
    assert run.returncode != 0
    assert "rank 0 of 2 waited more than 3 s in all_reduce for the other ranks" in run.stderr


@two_ranks
def test_train_py_runs_unchanged_on_two_ranks(tmp_path):
    """Each rank half of every batch, SyncBatchNorm by default; rank 0 alone prints and saves
    (a model the single-process script loads)."""
    run = mpiexec("train.py", "--epochs", "2", "--hidden", "32", "--quiet", "--out",
                  str(tmp_path), timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("test accuracy") == 1
    assert "BatchNorm on, synced, dropout 0.3, batch 64 (2 ranks x 32)" in run.stdout
    accuracy = float(run.stdout.split("test accuracy ")[1].split()[0])
    assert accuracy > 0.8  # chance is 0.1
    import train
    model = train.build_model([64, 32, 10])
    model.load_state_dict(nn.load(tmp_path / "model.npz"))
    assert (tmp_path / "graph.svg").stat().st_size > 0 and (tmp_path / "curves.png").exists()
