"""Bad input to the public API raises a TypeError, ValueError or RuntimeError (or PyTorch's
KeyError/IndexError where PyTorch raises one) naming the function and what was wrong, where
the mistake is made: not an AttributeError or a NumPy message from deep inside."""

import numpy as np
import pytest

import autograd as ag
import nn


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
    "viz params": (lambda: ag.viz.to_svg((ag.ones(2, requires_grad=True) * 2).sum(), params=5),
                   TypeError, r"^draw_graph: params must be"),
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
