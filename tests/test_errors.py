"""Bad input to the public API raises a TypeError, ValueError or RuntimeError (or PyTorch's
KeyError/IndexError where PyTorch raises one) naming the function and what was wrong, where
the mistake is made: not an AttributeError or a NumPy message from deep inside."""

import numpy as np
import pytest

import autograd as ag
import nn
import optim
from autograd.utils.data import DataLoader
from nn import functional as F
from nn import init


def _p():
    return [nn.Parameter(ag.ones(2))]


def _model():
    return nn.Sequential(nn.Linear(2, 1))


# (call, exception type, a regex its message matches)
CASES = {
    # creation
    "ragged data": (lambda: ag.tensor([[1.0, 2.0], [3.0]]), ValueError, r"^tensor: .*inhomog"),
    "ragged Tensor": (lambda: ag.Tensor([[1.0], []]), ValueError, r"^Tensor: .*inhomog"),
    "unknown dtype": (lambda: ag.tensor([1.0], dtype="bogus"), TypeError, r"^tensor: .*bogus"),
    "negative shape": (lambda: ag.zeros(2, -1), ValueError, r"^zeros: negative dim.*2, -1"),
    "float shape": (lambda: ag.ones(2.5), TypeError, r"^ones: .*float"),
    "negative eye": (lambda: ag.eye(-1), ValueError, r"^eye: negative"),
    "arange step 0": (lambda: ag.arange(0, 1, 0), ValueError, r"^arange: step must be nonzero"),
    "seed negative": (lambda: ag.manual_seed(-1), ValueError, r"^manual_seed: .*-1"),
    "seed text": (lambda: ag.manual_seed("a"), TypeError, r"^manual_seed: .*str"),
    "seed float": (lambda: ag.manual_seed(1.5), TypeError, r"^manual_seed: .*float"),
    # tensor methods
    "item of two": (lambda: ag.ones(2).item(), ValueError, r"^item: .*one-element.*\(2,\)"),
    "len of 0-d": (lambda: len(ag.tensor(1.0)), TypeError, r"len\(\) of a 0-d tensor"),
    "argmax axis": (lambda: ag.ones(3).argmax(axis=1), np.exceptions.AxisError,
                    r"^argmax: axis 1 is out of range for a tensor with 1 dims"),
    "argmin dim": (lambda: ag.ones(2, 3).argmin(dim=-3), np.exceptions.AxisError,
                   r"^argmin: axis -3 is out of range"),
    "hook not callable": (lambda: ag.ones(2, requires_grad=True).register_hook(3), TypeError,
                          r"^register_hook: hook must be callable, got int"),
    "grad mode text": (lambda: ag.set_grad_enabled("no"), TypeError,
                       r"^set_grad_enabled: mode must be a bool, got str"),
    "add text": (lambda: ag.ones(2) + "a", TypeError, r"^Add: .*operands: Tensor\(2,\)"),
    # nn
    "save an int": (lambda: nn.save(5, "x.npz"), TypeError, r"^nn.save: .*mapping.*int"),
    "load a list": (lambda: _model().load_state_dict([1, 2]), TypeError,
                    r"^load_state_dict: .*mapping.*list"),
    "uniform a > b": (lambda: init.uniform_(ag.ones(2), 2.0, 1.0), ValueError,
                      r"^nn.init.uniform_: .*a=2.0 > b=1.0"),
    "normal std < 0": (lambda: init.normal_(ag.ones(2), 0.0, -1.0), ValueError,
                       r"^nn.init.normal_: std must be >= 0, got -1.0"),
    "dropout p text": (lambda: nn.Dropout("a"), TypeError, r"^Dropout: p must be a number"),
    "F.dropout p text": (lambda: F.dropout(ag.ones(2), "a"), TypeError,
                         r"^dropout: p must be a number"),
    "sequential index": (lambda: _model()[3], IndexError, r"^Sequential: index 3 is out of "
                                                          r"range for 1 entries"),
    "sequential key": (lambda: _model()["a"], TypeError, r"^Sequential indices must be "
                                                         r"integers or slices, not str"),
    "parameter index": (lambda: nn.ParameterList([ag.ones(1)])[-2], IndexError,
                        r"^ParameterList: index -2 is out of range for 1 entries"),
    "float mask": (lambda: ag.ones(2) & (ag.ones(2) > 0), TypeError,
                   r"^bitwise_and: needs bool or integer tensors, got float32, bool"),
    "forward hook": (lambda: _model().register_forward_hook(3), TypeError,
                     r"^register_forward_hook: hook must be callable, got int"),
    "pre hook": (lambda: _model().register_forward_pre_hook(None), TypeError,
                 r"^register_forward_pre_hook: hook must be callable, got NoneType"),
    "buffer name": (lambda: nn.Module().register_buffer("a.b", ag.ones(1)), KeyError,
                    r"buffer name can't contain '\.'"),
    "cross_entropy rows": (lambda: F.cross_entropy(ag.ones(4, 3), ag.tensor([0, 1, 2])),
                           ValueError, r"^cross_entropy: .*input \(4, 3\) and target \(3,\)"),
    "nll_loss target": (lambda: F.nll_loss(ag.ones(2, 3), ag.tensor([0, 3])), IndexError,
                        r"^nll_loss: target values must lie in \[0, 3\)"),
    "clip norm type": (lambda: nn.utils.clip_grad_norm_(_p(), 1.0, norm_type="x"), ValueError,
                       r"^clip_grad_norm_: norm_type must be a positive number or 'inf'"),
    "vector of none": (lambda: nn.utils.parameters_to_vector([]), ValueError,
                       r"^parameters_to_vector: no parameters"),
    "viz params": (lambda: ag.viz.to_svg((ag.ones(2, requires_grad=True) * 2).sum(), params=5),
                   TypeError, r"^draw_graph: params must be"),
    # optim, data
    "group without params": (lambda: optim.SGD([{"lr": 0.1}]), ValueError,
                             r"^parameter group 0 has no 'params'"),
    "betas a number": (lambda: optim.Adam(_p(), betas=0.9), TypeError,
                       r"^betas must be a pair of numbers \(beta1, beta2\), got 0.9"),
    "load an int": (lambda: optim.SGD(_p()).load_state_dict(5), TypeError,
                    r"^load_state_dict: .*'state' and 'param_groups'.*int"),
    "loader of an int": (lambda: DataLoader(5), TypeError,
                         r"^DataLoader: dataset must have __len__ and __getitem__.*int"),
    "lr_lambda a number": (lambda: optim.lr_scheduler.LambdaLR(optim.SGD(_p()), 5), TypeError,
                           r"^LambdaLR: lr_lambda must be a function of the epoch.*5"),
    "plateau metric text": (lambda: optim.lr_scheduler.ReduceLROnPlateau(optim.SGD(_p())).step(
        "a"), TypeError, r"^ReduceLROnPlateau.step: the metric must be a number, got str"),
    # engine, compile
    "gradient text": (lambda: (ag.ones(2, requires_grad=True) * 2).sum().backward("a"),
                      TypeError, r"^backward: gradient must be a tensor or an array of numbers"),
    "compile a number": (lambda: ag.compile(5), TypeError,
                         r"^ag.compile: expected a function to compile, got int"),
}


@pytest.mark.parametrize("name", CASES)
def test_bad_input_raises_a_clear_error(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    call, error, message = CASES[name]
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_takes_a_list_as_numpy_does(dtype):
    x = ag.ones(2, 3, dtype=dtype, requires_grad=True)
    y = x @ [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(y.data, x.data @ [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(([[1.0, 1.0]] @ x).data, [[1.0, 1.0]] @ x.data)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.tile([1.0, 2.0, 3.0], (2, 1)))


def test_set_grad_enabled_takes_numpy_bools():
    with ag.set_grad_enabled(np.bool_(False)):
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()


def test_masks_combine_as_in_numpy():
    x = ag.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    inside = (x > 0) & (x < 1)
    assert inside.tolist() == [False, True, False] and not inside.requires_grad
    assert ((x < 0) | (x > 1)).tolist() == [True, False, True] and (~inside).tolist() == [
        True, False, True]
    assert ((x > 0) ^ True).tolist() == [True, False, False]
    assert (np.array([True, True, False]) & inside).tolist() == [False, True, False]
    assert (ag.tensor([6, 3]) & 5).tolist() == [4, 1] and (~ag.tensor([0])).tolist() == [-1]
    x[inside].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 0.0])
