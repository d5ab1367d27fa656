"""The added layers, losses, forward hooks and nn.utils, each against its formula in NumPy;
non-tensor inputs to layers, losses and F.* raise TypeError naming the function."""

import math

import numpy as np
import pytest

import autograd as ag
import nn
import optim
from nn import functional as F
from nn import utils

DTYPES = [np.float32, np.float64]
erf = np.vectorize(math.erf, otypes=[float])


def rand(*shape, seed=0, dtype=np.float64, requires_grad=False, scale=1.0):
    data = (scale * np.random.default_rng(seed).standard_normal(shape)).astype(dtype)
    return ag.tensor(data, requires_grad=requires_grad)


def close(actual, expected, dtype):
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(actual.data, expected, rtol=rtol, atol=rtol)
    assert actual.dtype == dtype


# ---- layers ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_exact_and_tanh_forms(dtype):
    x = rand(4, 5, dtype=dtype, scale=3)
    v = x.data.astype(np.float64)
    close(nn.GELU()(x), 0.5 * v * (1 + erf(v / np.sqrt(2))), dtype)
    tanh_form = 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v ** 3)))
    close(nn.GELU(approximate="tanh")(x), tanh_form, dtype)
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        nn.GELU("fast")


def test_gelu_gradients_first_and_second_order():
    x = rand(3, 4, requires_grad=True, scale=2)
    for approximate in ("none", "tanh"):
        fn = lambda t, a=approximate: F.gelu(t, approximate=a)  # noqa: E731
        assert ag.gradcheck(fn, (x,)) and ag.gradgradcheck(fn, (x,))
    # d/dx x Phi(x) = Phi(x) + x phi(x)
    (grad,) = ag.grad(F.gelu(x).sum(), x)
    v = x.data
    np.testing.assert_allclose(grad.data, 0.5 * (1 + erf(v / np.sqrt(2)))
                               + v * np.exp(-v * v / 2) / np.sqrt(2 * np.pi), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_silu(dtype):
    x = rand(3, 4, dtype=dtype, scale=3)
    v = x.data.astype(np.float64)
    close(nn.SiLU()(x), v / (1 + np.exp(-v)), dtype)
    assert ag.gradgradcheck(F.silu, (rand(3, 4, requires_grad=True),))


@pytest.mark.parametrize("dtype", DTYPES)
def test_softplus_formula_threshold_and_large_inputs(dtype):
    x = ag.tensor(np.array([-50.0, -3.0, -0.1, 0.0, 0.7, 4.0, 9.0, 11.0, 1e4], dtype=dtype),
                  requires_grad=True)
    beta, threshold = 2.0, 20.0
    v = x.data.astype(np.float64)
    expected = np.where(beta * v > threshold, v, np.log1p(np.exp(np.minimum(beta * v, 50)))
                        / beta)
    with np.errstate(over="raise", invalid="raise"):  # not in the unused branch either
        y = nn.Softplus(beta=beta, threshold=threshold)(x)
        y.sum().backward()
    close(y, expected, dtype)
    slope = np.where(beta * v > threshold, 1.0, 1 / (1 + np.exp(-np.minimum(beta * v, 50))))
    np.testing.assert_allclose(x.grad.data, slope, rtol=1e-5, atol=1e-30)  # subnormals
    assert ag.gradgradcheck(lambda t: F.softplus(t, 1.5), (rand(3, 4, requires_grad=True),))


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_layer(dtype):
    x = rand(3, 4, dtype=dtype)
    v = x.data.astype(np.float64)
    close(nn.LogSoftmax(axis=0)(x), v - np.log(np.exp(v).sum(axis=0)), dtype)


def test_flatten_start_and_end_dims():
    x = rand(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20)
    np.testing.assert_array_equal(nn.Flatten(1, 2)(x).data, x.data.reshape(2, 12, 5))
    assert nn.Flatten(0)(ag.tensor(3.0)).shape == (1,)
    with pytest.raises(ValueError, match=r"Flatten: start_dim=1 and end_dim=-1 .* \(3,\)"):
        nn.Flatten()(rand(3))
    with pytest.raises(ValueError, match="start_dim=2 and end_dim=1"):
        nn.Flatten(2, 1)(x)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


def test_identity_ignores_its_arguments():
    x = rand(3)
    assert nn.Identity(54, unused="yes")(x) is x


@pytest.mark.parametrize("layer, reference", [
    (nn.ReLU(inplace=True), lambda v: np.maximum(v, 0)),
    (nn.LeakyReLU(0.2, inplace=True), lambda v: np.where(v > 0, v, 0.2 * v)),
    (nn.ELU(0.5, inplace=True), lambda v: np.where(v > 0, v, 0.5 * np.expm1(v))),
    (nn.SiLU(inplace=True), lambda v: v / (1 + np.exp(-v))),
    (nn.Dropout(0.0, inplace=True), lambda v: v),
])
def test_inplace_is_accepted_and_computed_out_of_place(layer, reference):
    x = rand(3, 4)
    before = x.data.copy()
    np.testing.assert_allclose(layer(x).data, reference(before), rtol=1e-12)
    np.testing.assert_array_equal(x.data, before)
    assert "inplace=True" in repr(layer)
    assert F.relu(x, inplace=True).shape == x.shape


def test_module_dict_registers_in_order():
    layers = nn.ModuleDict({"enc": nn.Linear(3, 4), "act": nn.ReLU()})
    layers["dec"] = nn.Linear(4, 2)
    assert list(layers) == ["enc", "act", "dec"] and len(layers) == 3 and "act" in layers
    assert [n for n, _ in layers.named_parameters()] == ["enc.weight", "enc.bias",
                                                         "dec.weight", "dec.bias"]
    layers["enc"] = nn.Linear(3, 4)  # replaced in place: the order stays
    assert list(layers.keys()) == ["enc", "act", "dec"]
    assert isinstance(layers.pop("act"), nn.ReLU) and "act" not in layers
    del layers["dec"]
    assert list(layers.state_dict()) == ["enc.weight", "enc.bias"]
    layers.update([("out", nn.Tanh())])
    assert [type(m).__name__ for m in layers.values()] == ["Linear", "Tanh"]
    layers.clear()
    assert len(layers) == 0 and list(layers.parameters()) == []


def test_parameter_list_registers_and_trains():
    params = nn.ParameterList([np.ones(2), ag.zeros(3)])
    params.append(nn.Parameter(np.full(1, 5.0)))
    assert [n for n, _ in params.named_parameters()] == ["0", "1", "2"]
    assert all(isinstance(p, nn.Parameter) for p in params) and params[2].item() == 5.0
    opt = optim.SGD(params.parameters(), lr=0.5)
    sum((p * p).sum() for p in params).backward()
    opt.step()
    np.testing.assert_allclose(params[0].data, [0, 0])  # 1 - 0.5 * 2
    params[1] = np.full(3, 2.0)
    assert list(dict(params.named_parameters())) == ["0", "1", "2"]
    with pytest.raises(TypeError, match="ParameterList: expected a Parameter, tensor or array"):
        params.append([1.0])


def test_replacing_a_sequential_layer_keeps_its_position():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    model[0] = nn.Linear(2, 3)
    assert list(model._modules) == ["0", "1", "2"]
    assert model(rand(4, 2, dtype=np.float32)).shape == (4, 1)


# ---- losses ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_l1_smooth_l1_and_huber(dtype):
    x, y = rand(4, 3, dtype=dtype, scale=2), rand(4, 3, seed=1, dtype=dtype, scale=2)
    d = (x.data - y.data).astype(np.float64)
    a = np.abs(d)
    close(nn.L1Loss()(x, y), a.mean(), dtype)
    close(nn.L1Loss(reduction="sum")(x, y), a.sum(), dtype)
    for beta in (0.5, 1.0, 2.0):
        smooth = np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)
        close(nn.SmoothL1Loss(beta=beta)(x, y), smooth.mean(), dtype)
        huber = np.where(a < beta, 0.5 * d * d, beta * (a - 0.5 * beta))
        close(nn.HuberLoss(reduction="none", delta=beta)(x, y), huber, dtype)
    close(F.smooth_l1_loss(x, y, beta=0.0), a.mean(), dtype)
    with pytest.raises(ValueError, match="huber_loss: delta must be > 0"):
        F.huber_loss(x, y, delta=0)


def test_regression_loss_gradients():
    x, y = rand(4, 3, requires_grad=True, scale=2), rand(4, 3, seed=1, scale=2)
    for fn in (F.l1_loss, F.smooth_l1_loss, F.huber_loss):
        assert ag.gradcheck(lambda t, f=fn: f(t, y), (x,))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_formula_weight_and_clamped_logs(dtype):
    p = ag.tensor(np.array([[0.0, 0.2, 0.9], [1.0, 0.5, 1e-30]], dtype=dtype), requires_grad=True)
    y = np.array([[0.0, 1.0, 0.3], [0.0, 1.0, 1.0]], dtype=dtype)
    w = np.array([1.0, 2.0, 0.5], dtype=dtype)
    pv = p.data.astype(np.float64)
    with np.errstate(divide="ignore"):
        log_p, log_q = np.maximum(np.log(pv), -100), np.maximum(np.log1p(-pv), -100)
    expected = -w * (y * log_p + (1 - y) * log_q)
    loss = nn.BCELoss(weight=w, reduction="sum")(p, y)
    close(loss, expected.sum(), dtype)
    loss.backward()
    grad = w * (pv - y) / np.maximum(pv * (1 - pv), 1e-12)
    assert np.isfinite(p.grad.data).all()  # p = 0 and p = 1 give finite gradients
    np.testing.assert_allclose(p.grad.data, grad, rtol=1e-5)
    close(F.binary_cross_entropy(p, y), (-(y * log_p + (1 - y) * log_q)).mean(), dtype)


def _log_softmax(v):
    s = v - v.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


LOGITS = np.random.default_rng(3).standard_normal((6, 4)) * 2
TARGET = np.array([0, 3, -100, 1, 3, 2])
WEIGHT = np.array([0.5, 1.0, 2.0, 0.25])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_with_weight_and_ignore_index(reduction):
    logp = _log_softmax(LOGITS)
    keep = TARGET != -100
    safe = np.where(keep, TARGET, 0)
    w = WEIGHT[safe] * keep
    losses = -logp[np.arange(6), safe] * w
    expected = {"mean": losses.sum() / w.sum(), "sum": losses.sum(), "none": losses}[reduction]
    x = ag.tensor(logp, requires_grad=True)
    close(nn.NLLLoss(weight=WEIGHT, reduction=reduction)(x, TARGET), expected, np.float64)
    assert ag.gradcheck(lambda t: F.nll_loss(t, TARGET, WEIGHT, reduction=reduction), (x,))


def _smoothed_cross_entropy(v, target, weight, eps, reduction):
    """PyTorch's definition, written out: (1 - eps) * weighted nll + eps / C * smoothing term,
    both normalised by the weights of the counted samples for 'mean'."""
    logp = _log_softmax(v)
    n, classes = v.shape
    keep = target != -100
    safe = np.where(keep, target, 0)
    w_class = np.ones(classes) if weight is None else weight
    w = w_class[safe] * keep
    nll = -logp[np.arange(n), safe] * w
    smooth = -(logp * w_class).sum(axis=1) * keep
    if reduction == "mean":
        return (1 - eps) * nll.sum() / w.sum() + eps / classes * smooth.sum() / w.sum()
    if reduction == "sum":
        return (1 - eps) * nll.sum() + eps / classes * smooth.sum()
    return (1 - eps) * nll + eps / classes * smooth


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", [None, WEIGHT])
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_cross_entropy_weight_ignore_index_label_smoothing(reduction, weight, eps):
    x = ag.tensor(LOGITS, requires_grad=True)
    loss_fn = nn.CrossEntropyLoss(weight=weight, reduction=reduction, label_smoothing=eps)
    expected = _smoothed_cross_entropy(LOGITS, TARGET, weight, eps, reduction)
    close(loss_fn(x, TARGET), expected, np.float64)
    assert ag.gradcheck(lambda t: loss_fn(t, TARGET), (x,))


def test_an_ignore_index_that_is_a_class_drops_its_samples():
    valid = np.abs(TARGET) % 4  # every target a class; those of class 3 are ignored
    keep = valid != 3
    logp = _log_softmax(LOGITS)
    x = ag.tensor(LOGITS)
    expected = -logp[np.arange(6), valid][keep].mean()
    close(F.cross_entropy(x, valid, ignore_index=3), expected, np.float64)
    close(F.nll_loss(ag.tensor(logp), valid, ignore_index=3), expected, np.float64)
    close(F.cross_entropy(x, valid, ignore_index=5), -logp[np.arange(6), valid].mean(),
          np.float64)  # out of range: counts every sample


def test_cross_entropy_default_path_equals_the_composed_one():
    x = ag.tensor(LOGITS, dtype=np.float32)
    valid = np.abs(TARGET)  % 4
    fused = F.cross_entropy(x, valid)
    composed = F.nll_loss(F.log_softmax(x, axis=1), valid)
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-6)
    smoothed = F.cross_entropy(x, valid, label_smoothing=0.2)
    logp = _log_softmax(LOGITS)
    expected = (0.8 * -logp[np.arange(6), valid] - 0.2 / 4 * logp.sum(axis=1)).mean()
    np.testing.assert_allclose(smoothed.data, expected, rtol=1e-5)


def test_cross_entropy_probability_targets_with_smoothing_and_weight():
    probs = np.random.default_rng(4).dirichlet(np.ones(4), size=6)
    x = ag.tensor(LOGITS)
    smoothed = probs * 0.7 + 0.3 / 4
    expected = (-(WEIGHT * _log_softmax(LOGITS) * smoothed).sum(axis=1)).mean()
    close(F.cross_entropy(x, probs, WEIGHT, label_smoothing=0.3), expected, np.float64)


def test_cross_entropy_option_errors():
    x = ag.tensor(LOGITS)
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        F.cross_entropy(x, TARGET, weight=np.ones(3))
    with pytest.raises(TypeError, match="pass reduction='sum' by keyword"):
        F.cross_entropy(x, TARGET, "sum")
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        F.cross_entropy(x, TARGET, label_smoothing=1.5)
    with pytest.raises(IndexError, match="ignore_index=-1"):
        F.cross_entropy(x, TARGET, ignore_index=-1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_pos_weight_and_weight(dtype):
    x = rand(5, 3, dtype=dtype, scale=3, requires_grad=True)
    y = (np.random.default_rng(1).random((5, 3)) > 0.5).astype(dtype)
    pos, w = np.array([1.0, 3.0, 0.5], dtype=dtype), np.array([2.0, 1.0, 1.0], dtype=dtype)
    v = x.data.astype(np.float64)
    log_sig, log_1msig = -np.logaddexp(0, -v), -np.logaddexp(0, v)
    expected = (-w * (pos * y * log_sig + (1 - y) * log_1msig)).mean()
    loss_fn = nn.BCEWithLogitsLoss(weight=w, pos_weight=pos)
    close(loss_fn(x, y), expected, dtype)
    if dtype == np.float64:
        assert ag.gradcheck(lambda t: loss_fn(t, y), (x,))


def test_one_hot():
    labels = ag.tensor(np.array([[0, 2], [1, 2]]))
    expected = np.eye(3, dtype=np.int64)[labels.data]
    np.testing.assert_array_equal(F.one_hot(labels).data, expected)
    assert F.one_hot(labels).dtype == np.int64 and F.one_hot(labels, 5).shape == (2, 2, 5)
    with pytest.raises(ValueError, match="label 2 is out of range for num_classes=2"):
        F.one_hot(labels, 2)
    with pytest.raises(TypeError, match="labels must be integers"):
        F.one_hot(ag.tensor([0.0, 1.0]))


# ---- forward hooks -----------------------------------------------------------------------
def test_forward_pre_hook_replaces_args_and_forward_hook_the_output():
    layer = nn.Linear(3, 2)
    x = rand(4, 3, dtype=np.float32)
    seen = []
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    post = layer.register_forward_hook(lambda m, args, out: seen.append((m, args)) or out + 1)
    y = layer(x)
    np.testing.assert_allclose(y.data, F.linear(x * 2, layer.weight, layer.bias).data + 1,
                               rtol=1e-6)
    assert seen[0][0] is layer and np.array_equal(seen[0][1][0].data, x.data * 2)
    pre.remove()
    post.remove()
    np.testing.assert_array_equal(layer(x).data, F.linear(x, layer.weight, layer.bias).data)
    assert len(seen) == 1
    post.remove()  # a second remove does nothing


def test_hooks_returning_none_keep_values_and_a_bare_value_becomes_the_args():
    model = nn.Sequential(nn.ReLU(), nn.Tanh())
    model[1].register_forward_pre_hook(lambda m, args: args[0] * 0)  # not a tuple
    handle = model.register_forward_hook(lambda m, args, out: None)
    assert np.all(model(rand(3)).data == 0)
    handle.remove()


def test_a_hook_can_remove_itself_while_running():
    layer = nn.ReLU()
    calls = []
    handles = []
    handles.append(layer.register_forward_hook(
        lambda m, a, o: calls.append(1) or handles[0].remove()))
    layer.register_forward_hook(lambda m, a, o: calls.append(2))
    layer(rand(2))
    layer(rand(2))
    assert calls == [1, 2, 2]



def test_a_hook_handle_is_a_context_manager_that_removes_it_on_exit():
    layer = nn.ReLU()
    x = ag.tensor([1.0, -1.0], requires_grad=True)
    calls = []
    with layer.register_forward_hook(lambda m, a, o: calls.append(1)) as handle:
        layer(x)
        with x.register_hook(lambda g: g * 10):
            layer(x).sum().backward()
    assert hasattr(handle, "remove") and calls == [1, 1]
    layer(x).sum().backward()
    assert calls == [1, 1] and x.grad.data.tolist() == [11.0, 0.0]

# ---- nn.utils ----------------------------------------------------------------------------
def _with_grads(*grads):
    params = [nn.Parameter(np.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = ag.tensor(g.copy())
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
def test_clip_grad_norm(norm_type):
    g1, g2 = np.array([3.0, -4.0]), np.array([[1.0, 2.0], [-2.0, 0.5]])
    flat = np.concatenate([g1, g2.ravel()])
    order = float(norm_type)
    if order == math.inf:
        total = np.max(np.abs(flat))
    else:
        total = np.sum(np.abs(flat) ** order) ** (1 / order)
    params = _with_grads(g1, g2)
    returned = utils.clip_grad_norm_(params, max_norm=1.0, norm_type=norm_type)
    np.testing.assert_allclose(returned.item(), total, rtol=1e-12)
    scale = 1.0 / (total + 1e-6)
    np.testing.assert_allclose(params[0].grad.data, g1 * scale, rtol=1e-12)
    np.testing.assert_allclose(params[1].grad.data, g2 * scale, rtol=1e-12)
    untouched = _with_grads(g1)
    utils.clip_grad_norm_(untouched[0], max_norm=100.0, norm_type=norm_type)
    np.testing.assert_array_equal(untouched[0].grad.data, g1)


def test_clip_grad_norm_float32_no_grads_and_nonfinite():
    params = _with_grads(np.array([3.0, 4.0], dtype=np.float32))
    total = nn.utils.clip_grad_norm_(params, 2.5)
    assert total.dtype == np.float32 and params[0].grad.dtype == np.float32
    np.testing.assert_allclose(params[0].grad.data, [1.5, 2.0], rtol=1e-5)
    assert utils.clip_grad_norm_([nn.Parameter(np.ones(2))], 1.0).item() == 0.0
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is inf"):
        utils.clip_grad_norm_(_with_grads(np.array([np.inf])), 1.0, error_if_nonfinite=True)


def test_clip_grad_value():
    params = _with_grads(np.array([3.0, -0.5, -4.0]))
    utils.clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad.data, [1.0, -0.5, -1.0])


def test_parameters_to_vector_and_back():
    model = nn.Linear(3, 2)
    vec = utils.parameters_to_vector(model.parameters())
    np.testing.assert_array_equal(vec.data, np.concatenate([model.weight.data.ravel(),
                                                            model.bias.data]))
    (vec * vec).sum().backward()  # recorded: the gradient reaches the parameters
    np.testing.assert_allclose(model.weight.grad.data, 2 * model.weight.data)
    utils.vector_to_parameters(ag.arange(8).astype(np.float32), model.parameters())
    np.testing.assert_array_equal(model.weight.data, np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(model.bias.data, [6, 7])
    with pytest.raises(ValueError, match=r"vec of shape \(5,\) does not hold the 8 values"):
        utils.vector_to_parameters(ag.zeros(5), model.parameters())
    with pytest.raises(TypeError, match="expected vec to be a Tensor, got list"):
        utils.vector_to_parameters([0.0] * 8, model.parameters())


# ---- non-tensor inputs -------------------------------------------------------------------
BAD_INPUTS = [[1.0, 2.0], "abc", None, np.ones((2, 3), dtype=np.float32)]
CALLS = [
    ("relu()", F.relu), ("gelu()", F.gelu), ("softmax()", F.softmax),
    ("linear()", lambda x: F.linear(x, ag.ones(2, 3))), ("dropout()", F.dropout),
    ("mse_loss()", lambda x: F.mse_loss(x, ag.ones(2, 3))),
    ("cross_entropy()", lambda x: F.cross_entropy(x, np.array([0, 1]))),
    ("binary_cross_entropy()", lambda x: F.binary_cross_entropy(x, ag.ones(2, 3))),
    ("relu()", nn.ReLU()), ("tanh()", nn.Tanh()), ("linear()", nn.Linear(3, 2)),
    ("BatchNorm1d", nn.BatchNorm1d(3)), ("Flatten", nn.Flatten()),
    ("cross_entropy()", lambda x: nn.CrossEntropyLoss()(x, np.array([0, 1]))),
    ("huber_loss()", lambda x: nn.HuberLoss()(x, ag.ones(2, 3))),
]


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=["list", "str", "None", "ndarray"])
@pytest.mark.parametrize("name, call", CALLS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CALLS)])
def test_non_tensor_inputs_raise_type_error_naming_the_function(name, call, bad):
    with pytest.raises(TypeError, match=rf"{name.replace('(', '[(]').replace(')', '[)]')}: "
                                        rf"argument 'input' must be a Tensor, got "
                                        rf"{type(bad).__name__}"):
        call(bad)


def test_an_ndarray_input_gets_a_hint_and_a_bad_target_a_type_error():
    with pytest.raises(TypeError, match=r"wrap an array with ag.tensor\(a\)"):
        F.relu(np.ones(3))
    with pytest.raises(TypeError, match="mse_loss[(][)]: argument 'target' must be a Tensor or "
                                        "an array of numbers, got str"):
        F.mse_loss(ag.ones(3), "abc")
    with pytest.raises(TypeError, match="got NoneType"):
        F.l1_loss(ag.ones(3), None)
