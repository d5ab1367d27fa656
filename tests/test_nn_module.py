"""nn.Module machinery: registration, the walk, modes, gradients, state dicts, save/load."""

import numpy as np
import pytest

import autograd as ag
import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.bn(self.fc(x)).relu())


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.heads = nn.ModuleList([nn.Linear(4, 2), nn.Linear(4, 1, bias=False)])
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))
        self.register_buffer("counter", ag.tensor(np.zeros(2, dtype=np.float32)))
        self.register_buffer("scratch", ag.tensor(np.zeros(1)), persistent=False)

    def forward(self, x):
        h = self.block(x)
        return self.heads[0](h) * self.scale


def test_named_parameters_dotted_and_in_order():
    names = [name for name, _ in Net().named_parameters()]
    assert names == ["scale", "block.fc.weight", "block.fc.bias", "block.bn.weight",
                     "block.bn.bias", "heads.0.weight", "heads.0.bias", "heads.1.weight"]


def test_parameters_are_the_registered_objects():
    net = Net()
    assert net.block.fc.weight is dict(net.named_parameters())["block.fc.weight"]
    assert all(p.requires_grad and p.is_leaf for p in net.parameters())


def test_children_and_modules():
    net = Net()
    assert [type(c).__name__ for c in net.children()] == ["Block", "ModuleList"]
    assert [name for name, _ in net.named_modules()] == [
        "", "block", "block.fc", "block.bn", "block.drop", "heads", "heads.0", "heads.1"]
    assert len(list(net.modules())) == 8


def test_shared_parameter_and_module_listed_once():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    assert [name for name, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(seq.modules())) == 3


def test_a_module_shared_under_two_names_is_in_the_state_dict_under_both():
    """As PyTorch's state_dict (its named_modules(remove_duplicate=False)): a checkpoint of
    Sequential(shared, shared) has 0.* and 1.*, and loads back strictly; parameters() still
    gives the shared ones once."""
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    state = seq.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [name for name, _ in seq.named_modules(remove_duplicate=False)] == ["", "0", "1", "2"]
    state["2.bias"] = state["0.bias"] + 1  # loaded in order: the last name wins, as in PyTorch
    result = nn.Sequential(shared, nn.ReLU(), shared).load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(shared.bias.data, state["2.bias"])


def test_buffers_registered_and_persistent_ones_in_state_dict():
    net = Net()
    assert [name for name, _ in net.named_buffers()] == [
        "counter", "scratch", "block.bn.running_mean", "block.bn.running_var",
        "block.bn.num_batches_tracked"]
    keys = list(net.state_dict())
    assert "counter" in keys and "scratch" not in keys
    assert "block.bn.running_var" in keys and "block.bn.num_batches_tracked" in keys
    assert all(isinstance(v, np.ndarray) for v in net.state_dict().values())


def test_reassigning_and_deleting_attributes_updates_registries():
    net = Net()
    net.scale = nn.Parameter(np.zeros(3, dtype=np.float32))
    assert dict(net.named_parameters())["scale"].shape == (3,)
    del net.scale
    assert "scale" not in dict(net.named_parameters())
    net.block = nn.Identity()
    assert not any(name.startswith("block.") for name, _ in net.named_parameters())


def test_assigning_a_plain_tensor_to_a_parameter_slot_is_refused():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="weight"):
        layer.weight = ag.tensor(np.zeros((2, 2), dtype=np.float32))
    layer.bias = None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]


def test_assignment_before_init_names_the_problem():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super"):
        Broken()


def test_train_and_eval_recurse():
    net = Net()
    assert net.eval() is net
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.train(False)
    assert not net.heads[1].training


def test_zero_grad_sets_none_or_zeros():
    net = Net()
    x = ag.tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p is not net.heads[1].weight)
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.data == 0) for p in net.parameters() if p.grad is not None)
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_round_trip_restores_values_in_place():
    src, dst = Net(), Net()
    src.block.bn.running_mean.data[:] = [1, 2, 3, 4]
    weight = dst.block.fc.weight
    result = dst.load_state_dict(src.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert dst.block.fc.weight is weight  # same object: an optimizer holding it keeps working
    for key, value in src.state_dict().items():
        np.testing.assert_array_equal(dst.state_dict()[key], value)


def test_state_dict_is_a_snapshot():
    layer = nn.Linear(2, 2)
    saved = layer.state_dict()
    before = saved["weight"].copy()
    with ag.no_grad():
        layer.weight += 1.0
    np.testing.assert_array_equal(saved["weight"], before)


def test_load_state_dict_missing_key_is_named():
    net = Net()
    state = net.state_dict()
    del state["block.fc.bias"]
    with pytest.raises(RuntimeError, match="block.fc.bias"):
        net.load_state_dict(state)


def test_load_state_dict_unexpected_key_is_named():
    net = Net()
    state = net.state_dict()
    state["block.extra"] = np.zeros(1)
    with pytest.raises(RuntimeError, match="block.extra"):
        net.load_state_dict(state)
    result = net.load_state_dict(state, strict=False)
    assert result.unexpected_keys == ["block.extra"]


def test_load_state_dict_wrong_shape_names_key_and_both_shapes_and_copies_nothing():
    net = Net()
    before = net.state_dict()
    state = Net().state_dict()
    state["heads.0.weight"] = np.zeros((3, 4), dtype=np.float32)
    with pytest.raises(RuntimeError, match=r"heads\.0\.weight.*\(3, 4\).*\(2, 4\)"):
        net.load_state_dict(state, strict=False)
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_load_state_dict_bumps_version_so_stale_graphs_refuse_backward():
    layer = nn.Linear(2, 1)  # an input that requires grad: its gradient reads the weight
    x = ag.tensor(np.ones((1, 2), dtype=np.float32), requires_grad=True)
    out = layer(x * 1.0).sum()
    layer.load_state_dict(nn.Linear(2, 1).state_dict())
    with pytest.raises(RuntimeError, match="in place"):
        out.backward()


def test_save_and_load_npz_without_pickle(tmp_path):
    net = Net()
    path = tmp_path / "model.weights"
    nn.save(net.state_dict(), path)
    assert path.exists()  # exactly the given path, nothing appended
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(net.state_dict())
    loaded = nn.load(path)
    other = Net()
    other.load_state_dict(loaded)
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[key], value)
        assert loaded[key].dtype == value.dtype


def test_save_refuses_object_arrays(tmp_path):
    with pytest.raises(TypeError, match="pickle"):
        nn.save({"x": np.array([{}, 1], dtype=object)}, tmp_path / "x.npz")


def test_sequential_indexing_len_and_forward():
    seq = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    assert len(seq) == 3 and isinstance(seq[1], nn.Tanh)
    assert isinstance(seq[:2], nn.Sequential) and len(seq[:2]) == 2
    x = ag.tensor(np.ones((4, 3), dtype=np.float32))
    np.testing.assert_allclose(seq(x).data, seq[2](seq[1](seq[0](x))).data)


def test_module_list_registers_and_indexes():
    layers = nn.ModuleList(nn.Linear(2, 2) for _ in range(3))
    layers.append(nn.Linear(2, 1))
    assert len(layers) == 4 and len(list(layers.parameters())) == 8
    assert [name for name, _ in layers.named_parameters()][-1] == "3.bias"


def test_apply_visits_every_module():
    seen = []
    Net().apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen.count("Linear") == 3


def test_repr_shows_the_tree():
    text = repr(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))
    assert "(0): Linear(in_features=2, out_features=3, bias=True)" in text
    assert "(1): ReLU()" in text


def test_to_double_and_float_cast_parameters_and_buffers_in_place():
    net = Net()
    weight = net.block.fc.weight
    assert net.double() is net
    assert net.block.fc.weight is weight and weight.dtype == np.float64
    assert net.block.bn.running_var.dtype == np.float64
    assert net.block.bn.num_batches_tracked.dtype == np.int64  # integer buffers untouched
    x = ag.tensor(np.random.default_rng(0).standard_normal((4, 3)))
    assert net(x).dtype == np.float64
    net.to("cpu", np.float32)
    assert all(p.dtype == np.float32 for p in net.parameters())
    with pytest.raises(ValueError, match="cuda"):
        net.to("cuda")


def test_get_submodule_follows_a_dotted_path_as_named_modules_names_it():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    assert model.get_submodule("") is model and model.get_submodule("1.1") is model[1][1]
    assert all(model.get_submodule(name) is m for name, m in model.named_modules())
    with pytest.raises(AttributeError, match=r"get_submodule: Sequential has no submodule '2' "
                                             r"\(in '1.2'\)"):
        model.get_submodule("1.2")
