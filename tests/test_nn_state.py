"""Nothing lost: load_state_dict is all or nothing, save survives a crash mid-write, load
refuses files it did not write, and a Parameter refuses an array an optimizer could not
update."""

import os
import zipfile

import numpy as np
import pytest

import autograd as ag
import nn
import optim


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad_bias", [
    np.array(["a", "b"]),           # not numbers at all
    np.array([1 + 1j, 2]),          # complex into a real parameter would drop the imaginary part
    np.array([{}, 1], dtype=object),
    [1.0, None],
])
def test_load_state_dict_with_a_bad_entry_after_weight_changes_nothing(bad_bias, dtype):
    layer = nn.Linear(2, 2, dtype=dtype)
    before = layer.state_dict()
    with pytest.raises((TypeError, RuntimeError), match="bias"):
        layer.load_state_dict({"weight": np.ones((2, 2)), "bias": bad_bias})
    for key, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_load_state_dict_casts_real_numbers_to_the_parameter_dtype(dtype):
    layer = nn.Linear(2, 2)  # float32
    layer.load_state_dict({"weight": np.ones((2, 2), dtype=dtype),
                           "bias": np.arange(2, dtype=dtype)})
    assert layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.bias.data, [0, 1])


def test_save_then_load_round_trip_in_float32_and_float64(tmp_path):
    state = {"a": np.arange(3, dtype=np.float32), "b": np.eye(2), "n": np.array(3)}
    nn.save(state, tmp_path / "ck.npz")
    loaded = nn.load(tmp_path / "ck.npz")
    assert list(loaded) == ["a", "b", "n"]
    for key, value in state.items():
        assert loaded[key].dtype == value.dtype
        np.testing.assert_array_equal(loaded[key], value)
    assert os.listdir(tmp_path) == ["ck.npz"]  # no temporary file left behind


def test_load_reads_what_numpy_savez_writes(tmp_path):
    np.savez(tmp_path / "np.npz", weight=np.ones((2, 3), dtype=np.float32), step=np.array(4))
    loaded = nn.load(tmp_path / "np.npz")
    assert loaded["weight"].dtype == np.float32 and loaded["step"] == 4


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, OSError])
def test_a_crash_while_saving_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch,
                                                               interruption):
    path = tmp_path / "ck.npz"
    old = {"weight": np.arange(6.0).reshape(2, 3), "bias": np.ones(2)}
    nn.save(old, path)
    calls = []
    real_write = np.lib.format.write_array

    def write_then_crash(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the first member is written, the second is torn
            raise interruption("simulated crash")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_crash)
    with pytest.raises(interruption):
        nn.save({"weight": np.zeros((2, 3)), "bias": np.zeros(2)}, path)
    monkeypatch.undo()
    loaded = nn.load(path)
    for key, value in old.items():
        np.testing.assert_array_equal(loaded[key], value)
    assert os.listdir(tmp_path) == ["ck.npz"]  # the temporary file was removed


def test_load_refuses_a_file_that_is_not_a_zip(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="notes.npz"):
        nn.load(path)


def test_load_refuses_members_that_are_not_npy_arrays(tmp_path):
    path = tmp_path / "odd.npz"
    nn.save({"weight": np.ones(2)}, path)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match=r"odd\.npz.*readme\.txt"):
        nn.load(path)
    torn = tmp_path / "torn.npz"
    with zipfile.ZipFile(torn, "w") as zf:
        zf.writestr("weight.npy", b"")  # what a crash mid-write used to leave
    with pytest.raises(ValueError, match=r"torn\.npz.*weight"):
        nn.load(torn)


def test_load_refuses_colliding_keys(tmp_path):
    path = tmp_path / "twice.npz"
    np.savez(path, **{"a": np.ones(1), "a.npy": np.zeros(1)})  # members a.npy and a.npy.npy
    with pytest.raises(ValueError, match=r"twice\.npz.*'a'"):
        nn.load(path)


def test_save_refuses_colliding_keys(tmp_path):
    with pytest.raises(ValueError, match="'a'"):
        nn.save({"a": np.ones(1), "a.npy": np.ones(1)}, tmp_path / "x.npz")


def test_parameter_over_a_read_only_array_raises_at_construction():
    frozen = np.ones(3)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="Parameter.*read-only"):
        nn.Parameter(frozen)
    with pytest.raises(ValueError, match="read-only"):
        nn.Parameter(np.broadcast_to(np.ones(1), (3,)))
    assert nn.Parameter(frozen.copy()).data.flags.writeable


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_nested_checkpoint_resumes_training_exactly(tmp_path, dtype):
    # torch.save({'model': ..., 'optimizer': ..., 'epoch': ...}) ported: nn.save keeps the
    # nesting, the optimizer's int keys and tuples, and the scheduler's numbers, without pickle
    from optim import lr_scheduler

    def make():
        ag.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)).to(dtype)
        opt = optim.Adam(model.parameters(), lr=0.05, betas=(0.8, 0.9), amsgrad=True)
        return model, opt, lr_scheduler.ReduceLROnPlateau(opt, patience=0)

    x = ag.tensor(np.random.default_rng(0).standard_normal((8, 3)), dtype=dtype)

    def train(model, opt, schedule, steps):
        for _ in range(steps):
            loss = (model(x) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step(loss.item())

    model, opt, schedule = make()
    train(model, opt, schedule, 3)
    path = tmp_path / "checkpoint.npz"
    nn.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": schedule.state_dict(), "epoch": 3, "note": None}, path)
    loaded = nn.load(path)
    assert loaded["epoch"] == 3 and loaded["note"] is None
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.8, 0.9)
    assert "model.0.weight" in np.load(path, allow_pickle=False)  # plain NumPy reads it
    resumed, resumed_opt, resumed_schedule = make()
    resumed.load_state_dict(loaded["model"])
    resumed_opt.load_state_dict(loaded["optimizer"])
    resumed_schedule.load_state_dict(loaded["scheduler"])
    train(model, opt, schedule, 3)
    train(resumed, resumed_opt, resumed_schedule, 3)
    for (name, a), b in zip(model.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert resumed_opt.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_save_refuses_what_only_pickle_could_store(tmp_path):
    with pytest.raises(TypeError, match=r"nn.save: cannot save 'optimizer.hook', a function"):
        nn.save({"optimizer": {"hook": lambda: 0}}, tmp_path / "x.npz")
    with pytest.raises(ValueError, match="two entries of the checkpoint are named 'a.b'"):
        nn.save({"a.b": np.ones(1), "a": {"b": np.ones(1)}, "c": None}, tmp_path / "y.npz")
