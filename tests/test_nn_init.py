"""nn.init: gains, fans and the statistics of each initialiser."""

import math
import re

import numpy as np
import pytest

import autograd as ag
import nn
from nn import init


def param(*shape, dtype=np.float32):
    return nn.Parameter(np.empty(shape, dtype=dtype))


@pytest.mark.parametrize("name, param_value, gain", [
    ("linear", None, 1.0), ("sigmoid", None, 1.0), ("conv2d", None, 1.0),
    ("tanh", None, 5 / 3), ("relu", None, math.sqrt(2)), ("selu", None, 0.75),
    ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("leaky_relu", 0, math.sqrt(2)),
])
def test_calculate_gain(name, param_value, gain):
    assert init.calculate_gain(name, param_value) == pytest.approx(gain)


def test_calculate_gain_rejects_unknown():
    with pytest.raises(ValueError, match="swish"):
        init.calculate_gain("swish")


def test_fans_follow_pytorch_for_linear_and_conv_shapes():
    assert init._calculate_fan_in_and_fan_out(param(30, 20)) == (20, 30)
    assert init._calculate_fan_in_and_fan_out(param(8, 3, 5, 5)) == (75, 200)
    with pytest.raises(ValueError, match="fewer than 2"):
        init.xavier_uniform_(param(5))


SHAPE = (300, 500)  # fan_out = 300, fan_in = 500


def check_stats(t, std, bound=None, mean=0.0):
    data = t.data.astype(np.float64)
    assert abs(data.mean() - mean) < 0.02 * std + 1e-12
    assert abs(data.std() - std) < 0.02 * std
    if bound is not None:
        assert np.abs(data - mean).max() <= bound * (1 + 1e-6)


def test_xavier_uniform_and_normal():
    ag.manual_seed(0)
    t = param(*SHAPE)
    assert init.xavier_uniform_(t, gain=2.0) is t
    bound = 2.0 * math.sqrt(6 / 800)
    check_stats(t, bound / math.sqrt(3), bound)
    check_stats(init.xavier_normal_(param(*SHAPE)), math.sqrt(2 / 800))


def test_kaiming_uniform_and_normal_for_relu():
    ag.manual_seed(1)
    std_in, std_out = math.sqrt(2 / 500), math.sqrt(2 / 300)
    check_stats(init.kaiming_uniform_(param(*SHAPE), nonlinearity="relu"), std_in,
                math.sqrt(3) * std_in)
    check_stats(init.kaiming_normal_(param(*SHAPE), mode="fan_out", nonlinearity="relu"),
                std_out)
    leaky = math.sqrt(2 / (1 + 0.1 ** 2)) / math.sqrt(500)
    check_stats(init.kaiming_normal_(param(*SHAPE), a=0.1), leaky)
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_normal_(param(*SHAPE), mode="fan_avg")


def test_kaiming_keeps_relu_activation_variance_through_depth():
    ag.manual_seed(2)
    x = np.random.default_rng(0).standard_normal((2000, 256))
    second_moments = []
    for _ in range(6):
        w = init.kaiming_normal_(param(256, 256, dtype=np.float64), nonlinearity="relu").data
        x = np.maximum(x @ w.T, 0)
        second_moments.append(np.mean(x ** 2))
    assert 0.7 < second_moments[-1] / second_moments[0] < 1.4


def test_uniform_normal_constant_zeros_ones():
    ag.manual_seed(3)
    check_stats(init.uniform_(param(*SHAPE), -1.0, 3.0), 4 / math.sqrt(12), 2.0, mean=1.0)
    check_stats(init.normal_(param(*SHAPE), mean=2.0, std=0.5), 0.5, mean=2.0)
    assert np.all(init.constant_(param(3, 3), 0.25).data == 0.25)
    assert np.all(init.zeros_(param(4)).data == 0)
    assert np.all(init.ones_(param(2, 2)).data == 1)
    assert init.normal_(param(5, dtype=np.float64)).dtype == np.float64


def test_initialisers_draw_from_the_seeded_generator():
    ag.manual_seed(7)
    a = init.normal_(param(10)).data.copy()
    ag.manual_seed(7)
    np.testing.assert_array_equal(init.normal_(param(10)).data, a)


def test_zero_init_keeps_hidden_units_symmetric():
    ag.manual_seed(4)
    layer1, layer2 = nn.Linear(3, 4), nn.Linear(4, 1)
    for layer in (layer1, layer2):
        init.constant_(layer.weight, 0.1)
        init.zeros_(layer.bias)
    x = ag.tensor(np.random.default_rng(1).standard_normal((8, 3)).astype(np.float32))
    layer2(layer1(x).tanh()).sum().backward()
    grads = layer1.weight.grad.data
    np.testing.assert_allclose(grads, np.broadcast_to(grads[0], grads.shape), rtol=1e-6)


@pytest.mark.parametrize("initialiser", [init.kaiming_uniform_, init.kaiming_normal_,
                                         init.xavier_uniform_, init.xavier_normal_])
@pytest.mark.parametrize("shape", [(3, 0), (0, 0), (4, 0, 3)])
def test_zero_fan_is_a_value_error_naming_the_function_and_shape(initialiser, shape):
    with pytest.raises(ValueError, match=rf"{initialiser.__name__}.*{re.escape(str(shape))}"):
        initialiser(param(*shape))


@pytest.mark.parametrize("features", [(0, 3), (3, 0), (-1, 2)])
def test_linear_with_no_features_is_a_value_error(features):
    with pytest.raises(ValueError, match="Linear"):
        nn.Linear(*features)


@pytest.mark.parametrize("initialiser, args", [
    (init.uniform_, ()), (init.normal_, ()), (init.constant_, (0.5,)), (init.zeros_, ()),
    (init.ones_, ()), (init.xavier_uniform_, ()), (init.xavier_normal_, ()),
    (init.kaiming_uniform_, ()), (init.kaiming_normal_, ()),
])
@pytest.mark.parametrize("bad", [[1.0, 2.0], "ab", None, np.ones((2, 2))])
def test_initialisers_refuse_non_tensors_naming_the_function(initialiser, args, bad):
    with pytest.raises(TypeError, match=initialiser.__name__):
        initialiser(bad, *args)
