"""../shared/API.md, line by line: every promised name exists with the promised parameters (in
order, with their defaults; a signature may have more after them), and the promised return
types and conventions hold. Behaviour is tested beside each feature; this file is the list."""

import ast
import inspect

import numpy as np
import pytest

import autograd as ag
import autograd.distributed as dist
import nn
import optim
from autograd import Tensor, no_grad
from autograd.utils import data
from nn import functional as F
from nn import init
from optim import lr_scheduler

S = lr_scheduler
# name -> its parameters as API.md writes them (self left out)
SIGNATURES = {
    "ag.tensor": "data, dtype=None, requires_grad=False",
    "Tensor": "data, dtype=None, requires_grad=False",
    "ag.zeros": "*shape, dtype=None, requires_grad=False", "ag.ones": "*shape, dtype=None, "
    "requires_grad=False", "ag.rand": "*shape, dtype=None, requires_grad=False",
    "ag.randn": "*shape, dtype=None, requires_grad=False",
    "ag.empty": "*shape, dtype=None, requires_grad=False",
    "ag.full": "shape, value, dtype=None, requires_grad=False",
    "ag.eye": "n, dtype=None, requires_grad=False",
    "ag.arange": "*args, dtype=None, requires_grad=False",
    "ag.zeros_like": "t, dtype=None, requires_grad=False",
    "ag.ones_like": "t, dtype=None, requires_grad=False",
    "ag.randn_like": "t, dtype=None, requires_grad=False",
    "ag.rand_like": "t, dtype=None, requires_grad=False",
    "ag.manual_seed": "seed",
    "Tensor.backward": "gradient=None, retain_graph=False, create_graph=False",
    "Tensor.requires_grad_": "flag=True", "Tensor.register_hook": "hook",
    "Tensor.clip": "lo, hi", "Tensor.leaky_relu": "negative_slope=0.01",
    "Tensor.elu": "alpha=1.0", "ag.maximum": "a, b", "ag.minimum": "a, b",
    "ag.where": "condition, a, b",
    "Tensor.sum": "axis=None, keepdims=False", "Tensor.mean": "axis=None, keepdims=False",
    "Tensor.max": "axis=None, keepdims=False", "Tensor.min": "axis=None, keepdims=False",
    "Tensor.var": "axis=None, keepdims=False, ddof=0",
    "Tensor.std": "axis=None, keepdims=False, ddof=0",
    "Tensor.logsumexp": "axis=None, keepdims=False",
    "Tensor.softmax": "axis=-1", "Tensor.log_softmax": "axis=-1",
    "Tensor.reshape": "*shape", "Tensor.transpose": "*axes", "Tensor.squeeze": "axis=None",
    "Tensor.expand_dims": "axis", "Tensor.broadcast_to": "shape", "Tensor.flatten": "",
    "ag.concatenate": "tensors, axis=0", "ag.cat": "tensors, axis=0",
    "ag.stack": "tensors, axis=0", "Tensor.matmul": "other",
    "ag.set_grad_enabled": "mode", "ag.is_grad_enabled": "",
    "ag.grad": "outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, "
               "allow_unused=False",
    "ag.gradcheck": "fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True",
    "ag.gradgradcheck": "fn, inputs",
    "ag.viz.draw_graph": "root, params=None, show_grads=False",
    "ag.viz.to_svg": "root, path=None, **kw",
    "nn.Module.train": "mode=True", "nn.Module.load_state_dict": "state_dict, strict=True",
    "nn.Parameter": "data", "nn.save": "state_dict, path", "nn.load": "path",
    "nn.Linear": "in_features, out_features, bias=True", "nn.Sequential": "*modules",
    "nn.ModuleList": "modules", "nn.LeakyReLU": "negative_slope=0.01", "nn.ELU": "alpha=1.0",
    "nn.Softmax": "axis=-1", "nn.LogSoftmax": "axis=-1",
    "nn.BatchNorm1d": "num_features, eps=1e-5, momentum=0.1, affine=True, "
                      "track_running_stats=True",
    "nn.Dropout": "p=0.5", "nn.MSELoss": "reduction='mean'",
    "nn.CrossEntropyLoss": "weight=None, ignore_index=-100, reduction='mean', "
                           "label_smoothing=0.0",
    "nn.BCEWithLogitsLoss": "reduction='mean', pos_weight=None",
    "F.softmax": "x, axis=-1", "F.log_softmax": "x, axis=-1",
    "F.linear": "x, weight, bias=None", "F.dropout": "x, p=0.5, training=True",
    "F.batch_norm": "x, running_mean, running_var, weight=None, bias=None, training=False, "
                    "momentum=0.1, eps=1e-5",
    "F.one_hot": "labels, num_classes=-1",
    "init.calculate_gain": "nonlinearity, param=None",
    "init.xavier_uniform_": "tensor, gain=1.0", "init.xavier_normal_": "tensor, gain=1.0",
    "init.kaiming_uniform_": "tensor, a=0, mode='fan_in', nonlinearity='leaky_relu'",
    "init.kaiming_normal_": "tensor, a=0, mode='fan_in', nonlinearity='leaky_relu'",
    "optim.Optimizer": "params, defaults", "optim.Optimizer.zero_grad": "set_to_none=True",
    "optim.Optimizer.step": "closure=None", "optim.Optimizer.load_state_dict": "state_dict",
    "optim.SGD": "params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False",
    "optim.RMSprop": "params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, "
                     "centered=False",
    "optim.Adam": "params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, "
                  "amsgrad=False",
    "optim.AdamW": "params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, "
                   "amsgrad=False",
    "optim.Adagrad": "params, lr=1e-2, eps=1e-10, weight_decay=0",
    "S.StepLR": "optimizer, step_size, gamma=0.1", "S.ExponentialLR": "optimizer, gamma",
    "S.CosineAnnealingLR": "optimizer, T_max, eta_min=0", "S.LambdaLR": "optimizer, lr_lambda",
    "S.ReduceLROnPlateau": "optimizer, mode='min', factor=0.1, patience=10, threshold=1e-4, "
                           "cooldown=0, min_lr=0",
    "S.ReduceLROnPlateau.step": "metrics", "S.StepLR.step": "", "S.StepLR.get_last_lr": "",
    # Additions: PyTorch spellings
    "Tensor.view": "*shape", "Tensor.unsqueeze": "dim", "Tensor.permute": "*dims",
    "Tensor.pow": "exponent", "Tensor.clamp": "min=None, max=None", "Tensor.mm": "other",
    "Tensor.size": "dim=None", "Tensor.argmax": "axis=None, keepdims=False",
    "Tensor.argmin": "axis=None, keepdims=False",
    "Tensor.norm": "ord=2, axis=None, keepdims=False", "Tensor.fill_": "value",
    "Tensor.copy_": "src", "Tensor.swapaxes": "axis1, axis2",
    "ag.sum": "t, axis=None, keepdims=False", "ag.mean": "t, axis=None, keepdims=False",
    "ag.max": "t, axis=None, keepdims=False", "ag.min": "t, axis=None, keepdims=False",
    "ag.matmul": "t, other", "ag.reshape": "t, shape", "ag.transpose": "t, axes=None",
    "ag.clip": "t, lo, hi", "ag.softmax": "t, axis=-1", "ag.log_softmax": "t, axis=-1",
    "ag.linspace": "start, stop, num=50", "ag.from_numpy": "array",
    # autograd.utils.data
    "data.TensorDataset": "*tensors",
    "data.DataLoader": "dataset, batch_size=1, shuffle=False, drop_last=False, generator=None, "
                       "collate_fn=None, sampler=None",
    "data.random_split": "dataset, lengths, generator=None",
    "data.DistributedSampler": "dataset, num_replicas=None, rank=None, shuffle=True, seed=0, "
                               "drop_last=False",
    "data.DistributedSampler.set_epoch": "epoch",
    # nn, more layers and losses
    "nn.Flatten": "start_dim=1, end_dim=-1", "nn.Softplus": "beta=1.0",
    "nn.SmoothL1Loss": "reduction='mean', beta=1.0", "nn.HuberLoss": "reduction='mean', delta=1.0",
    "nn.Module.register_forward_hook": "hook", "nn.Module.register_forward_pre_hook": "hook",
    "nn.utils.clip_grad_norm_": "parameters, max_norm, norm_type=2.0",
    "nn.utils.clip_grad_value_": "parameters, clip_value",
    "nn.utils.parameters_to_vector": "parameters",
    "nn.utils.vector_to_parameters": "vec, parameters",
    # ag.compile, autograd.distributed
    "ag.compile": "fn, check=False", "dist.init_process_group": "backend='mpi'",
    "dist.all_reduce": "tensor, op='sum'", "dist.broadcast": "tensor, src=0",
    "nn.parallel.DistributedDataParallel": "module",
    "nn.SyncBatchNorm.convert_sync_batchnorm": "module",
}
# promised names whose parameters API.md leaves open
NAMES = """Tensor.detach Tensor.numpy Tensor.item Tensor.tolist Tensor.numel Tensor.retain_grad
Tensor.exp Tensor.log Tensor.sqrt Tensor.abs Tensor.sigmoid Tensor.tanh Tensor.relu
Tensor.square Tensor.dim Tensor.float Tensor.double Tensor.long Tensor.clone Tensor.sin
Tensor.cos Tensor.log1p Tensor.zero_ Tensor.to Tensor.cpu Tensor.__array__
ag.exp ag.log ag.sqrt ag.abs ag.sin ag.cos ag.tanh ag.sigmoid ag.relu ag.float32 ag.float64
ag.int64 ag.no_grad ag.enable_grad ag.Function ag.GradcheckError no_grad
nn.Module nn.Module.forward nn.Module.parameters nn.Module.named_parameters nn.Module.children
nn.Module.modules nn.Module.eval nn.Module.zero_grad nn.Module.state_dict nn.ReLU nn.Sigmoid
nn.Tanh nn.Identity nn.GELU nn.SiLU nn.ModuleDict nn.ParameterList nn.NLLLoss nn.L1Loss
nn.BCELoss nn.SyncBatchNorm F.relu F.leaky_relu F.elu F.sigmoid F.tanh F.mse_loss
F.cross_entropy F.binary_cross_entropy_with_logits F.nll_loss F.l1_loss F.smooth_l1_loss
F.huber_loss F.binary_cross_entropy init.uniform_ init.normal_ init.constant_ init.zeros_
init.ones_ optim.Optimizer.state_dict optim.NAdam optim.RAdam optim.Adamax optim.Adadelta
S.MultiStepLR S.LinearLR S.OneCycleLR S.CosineAnnealingWarmRestarts S.SequentialLR
S.ChainedScheduler data.Dataset dist.get_rank dist.get_world_size dist.is_initialized
dist.barrier dist.destroy_process_group""".split()
NAMESPACE = {"ag": ag, "Tensor": Tensor, "no_grad": no_grad, "nn": nn, "F": F, "init": init,
             "optim": optim, "S": S, "data": data, "dist": dist}


def promised(params):
    """(name, kind, default) of each parameter as API.md writes them."""
    args = ast.parse(f"def f({params}): pass").body[0].args
    defaults = [inspect.Parameter.empty] * (len(args.args) - len(args.defaults))
    found = [(a.arg, "positional", d if d is inspect.Parameter.empty else ast.literal_eval(d))
             for a, d in zip(args.args, defaults + args.defaults)]
    if args.vararg:
        found.insert(0, (args.vararg.arg, "*", inspect.Parameter.empty))
    found += [(a.arg, "keyword", ast.literal_eval(d) if d else inspect.Parameter.empty)
              for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg:
        found.append((args.kwarg.arg, "**", inspect.Parameter.empty))
    return found


def test_every_promised_name_exists():
    missing = [name for name in [*SIGNATURES, *NAMES] if _lookup(name) is None]
    assert not missing


def _lookup(name):
    try:
        return eval(name, dict(NAMESPACE))
    except AttributeError:
        return None


KIND = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**",
        inspect.Parameter.KEYWORD_ONLY: "keyword"}


@pytest.mark.parametrize("name", SIGNATURES)
def test_the_parameters_are_the_promised_ones_in_order_with_their_defaults(name):
    actual = [p for p in inspect.signature(_lookup(name)).parameters.values()
              if p.name != "self"]
    names = [p.name for p in actual]
    at = -1
    for param, kind, default in promised(SIGNATURES[name]):
        assert param in names, f"{name}: no parameter {param!r} in {names}"
        i = names.index(param)
        assert i > at, f"{name}: {param!r} out of order in {names}"
        at, got = i, actual[i]
        # keyword-only where PyTorch's position differs: Adagrad's eps, DataLoader's drop_last
        assert KIND.get(got.kind, "positional") in (kind, "keyword" if kind == "positional"
                                                    else kind), f"{name}: {param!r} {got.kind}"
        if default is not inspect.Parameter.empty or got.default is inspect.Parameter.empty:
            assert got.default == default, f"{name}: {param}={got.default!r}, promised {default!r}"
    extra = [p.name for p in actual[at + 1:]
             if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    assert not extra, f"{name}: required parameters beyond the promised ones: {extra}"


def test_a_default_the_api_leaves_open_may_be_one_the_api_gives_elsewhere():
    # clip(lo, hi) is NumPy's: both default to None here so that one bound can be left out
    assert inspect.signature(Tensor.clip).parameters["hi"].default is None


# ---- return types and conventions ----------------------------------------------------------
@pytest.mark.parametrize("make, dtype", [
    (lambda: ag.tensor(1.5), np.float32), (lambda: ag.tensor([1.0, 2]), np.float32),
    (lambda: ag.tensor(3), np.int64), (lambda: ag.tensor([1, 2]), np.int64),
    (lambda: ag.tensor(np.ones(2, np.float64)), np.float64),
    (lambda: ag.tensor(np.ones(2, np.int32)), np.int32), (lambda: Tensor(2.0), np.float32),
    (lambda: ag.zeros(2, 3), np.float32), (lambda: ag.ones((2, 3)), np.float32),
    (lambda: ag.full((2,), 7.0), np.float32), (lambda: ag.full((2,), 7), np.int64),
    (lambda: ag.eye(2), np.float32), (lambda: ag.arange(3), np.int64),
    (lambda: ag.arange(0.0, 1.0, 0.25), np.float32), (lambda: ag.rand(2), np.float32),
    (lambda: ag.randn(2, dtype=np.float64), np.float64), (lambda: ag.linspace(0, 1, 3),
                                                         np.float32),
    (lambda: ag.empty(2), np.float32), (lambda: ag.zeros_like(np.ones(2)), np.float64),
])
def test_creation_dtypes(make, dtype):
    t = make()
    assert isinstance(t, Tensor) and t.dtype == dtype
    assert not t.requires_grad and t.is_leaf and t.grad_fn is None and t.grad is None


@pytest.mark.parametrize("make", [
    lambda: ag.tensor([1, 2], requires_grad=True), lambda: Tensor([True], requires_grad=True),
    lambda: ag.zeros(2, dtype=np.int64, requires_grad=True),
    lambda: ag.arange(3, requires_grad=True), lambda: ag.tensor([1]).requires_grad_(),
])
def test_requires_grad_on_a_non_float_dtype_is_a_type_error(make):
    with pytest.raises(TypeError, match="floating-point"):
        make()


def test_attributes_and_conversions():
    x = ag.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    y = x * 2
    assert isinstance(x.data, np.ndarray) and x.shape == (1, 3) and x.ndim == 2
    assert x.T.shape == (3, 1) and x.is_leaf and not y.is_leaf and y.grad_fn is not None
    assert isinstance(y.detach(), Tensor) and not y.detach().requires_grad
    assert isinstance(x.numpy(), np.ndarray) and x.tolist() == [[1.0, 2.0, 3.0]]
    assert x.numel() == 3 and len(x) == 1 and x[0, 1].item() == 2.0
    assert np.shares_memory(np.asarray(x), x.data) and not np.shares_memory(np.array(x), x.data)
    r = repr(y)
    assert "2., 4., 6." in r and "float32" in r and "grad_fn=<Mul>" in r
    for compared in (x < 2, x <= 2, x > 2, x >= 2, x == 2, x != 2):
        assert compared.dtype == np.bool_ and not compared.requires_grad


def test_grad_returns_a_tuple_and_leaves_dot_grad_alone():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    grads = ag.grad((x * x).sum(), x)
    assert isinstance(grads, tuple) and isinstance(grads[0], Tensor) and x.grad is None


def test_modules_and_optimizers_look_like_pytorchs():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Dropout(0.25))
    assert list(model.state_dict()) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
        "1.num_batches_tracked"]
    assert all(isinstance(v, np.ndarray) for v in model.state_dict().values())
    assert repr(model) == (
        "Sequential(\n  (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (1): BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
        "\n  (2): ReLU()\n  (3): Dropout(p=0.25)\n)")
    assert model[0].weight.shape == (4, 3) and isinstance(model[0].weight, nn.Parameter)
    assert model.train() is model and model.eval() is model and not model[1].training
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    state = opt.state_dict()
    assert set(state) == {"state", "param_groups"} and state["param_groups"][0]["params"] == [
        0, 1, 2, 3]
    assert state["param_groups"][0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0.9
    assert S.StepLR(opt, 2).get_last_lr() == [0.1]
    assert init.zeros_(model[0].bias) is model[0].bias


def test_gradcheck_error_is_a_runtime_error():
    assert issubclass(ag.GradcheckError, RuntimeError)


# what PyTorch 2.13 prints for the same modules (its 'torch.' before a dtype left out)
REPRS = {
    "nn.ELU()": "ELU(alpha=1.0)", "nn.ReLU(inplace=True)": "ReLU(inplace=True)",
    "nn.LeakyReLU(0.2, inplace=True)": "LeakyReLU(negative_slope=0.2, inplace=True)",
    "nn.Dropout(0.2, inplace=True)": "Dropout(p=0.2, inplace=True)",
    "nn.Flatten()": "Flatten(start_dim=1, end_dim=-1)", "nn.GELU()": "GELU(approximate='none')",
    "nn.Softplus()": "Softplus(beta=1.0, threshold=20.0)", "nn.Identity()": "Identity()",
    "nn.Sigmoid()": "Sigmoid()", "nn.MSELoss()": "MSELoss()",
    "nn.CrossEntropyLoss(label_smoothing=0.1)": "CrossEntropyLoss()",
    "nn.BCEWithLogitsLoss()": "BCEWithLogitsLoss()", "nn.HuberLoss()": "HuberLoss()",
    "nn.Linear(2, 3, bias=False)": "Linear(in_features=2, out_features=3, bias=False)",
    "nn.ModuleDict({'a': nn.ReLU()})": "ModuleDict(\n  (a): ReLU()\n)",
    "nn.ParameterList()": "ParameterList()",
    "nn.Sequential(nn.ParameterList([ag.ones(2), ag.ones((2, 3), dtype=np.float64)]))":
        "Sequential(\n  (0): ParameterList(\n      (0): Parameter containing: [float32 of size 2]\n"
        "      (1): Parameter containing: [float64 of size 2x3]\n  )\n)",
}


@pytest.mark.parametrize("make", REPRS)
def test_a_modules_repr_is_pytorchs(make):
    assert repr(eval(make)) == REPRS[make]
