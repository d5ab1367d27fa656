"""Layers against their formulas: Linear, activations, Softmax, BatchNorm1d, Dropout."""

import math

import numpy as np
import pytest

import autograd as ag
import nn
from nn import functional as F


def rand(*shape, seed=0, dtype=np.float64, requires_grad=False):
    data = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return ag.tensor(data, requires_grad=requires_grad)


# ---- Linear ----------------------------------------------------------------------------------
def test_linear_shapes_forward_and_default_dtype():
    layer = nn.Linear(5, 3)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    assert layer.weight.dtype == np.float32
    x = rand(4, 5, dtype=np.float32)
    expected = x.data @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-6)


def test_linear_default_init_is_pytorchs():
    ag.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w = layer.weight.data
    assert np.abs(w).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound  # U(-b, b) has std b / sqrt(3)
    assert abs(w.mean()) < 0.01 * bound


def test_linear_init_uses_the_seeded_generator():
    ag.manual_seed(3)
    a = nn.Linear(4, 4).weight.data.copy()
    ag.manual_seed(3)
    np.testing.assert_array_equal(nn.Linear(4, 4).weight.data, a)


def test_linear_gradients_gradcheck():
    x = rand(3, 4, seed=1, requires_grad=True)
    w = rand(2, 4, seed=2, requires_grad=True)
    b = rand(2, seed=3, requires_grad=True)
    assert ag.gradcheck(lambda x, w, b: F.linear(x, w, b), (x, w, b))


def test_linear_without_bias_and_shape_error():
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None and len(list(layer.parameters())) == 1
    with pytest.raises(ValueError, match=r"\(4, 5\)"):
        layer(rand(4, 5, dtype=np.float32))


# ---- activations -----------------------------------------------------------------------------
ACTIVATIONS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.ELU(0.5), lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1))),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.Softmax(axis=0), lambda x: np.exp(x) / np.exp(x).sum(axis=0, keepdims=True)),
    (nn.Softmax(), lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)),
    (nn.LogSoftmax(), lambda x: x - np.log(np.exp(x).sum(axis=-1, keepdims=True))),
]


@pytest.mark.parametrize("module, reference", ACTIVATIONS, ids=lambda v: repr(v)[:20])
def test_activation_modules_match_numpy(module, reference):
    x = rand(4, 6, seed=5)
    np.testing.assert_allclose(module(x).data, reference(x.data), rtol=1e-10, atol=1e-12)


def test_functional_activations_match_modules():
    x = rand(3, 3, seed=6)
    np.testing.assert_allclose(F.leaky_relu(x, 0.1).data, nn.LeakyReLU(0.1)(x).data)
    np.testing.assert_allclose(F.elu(x, 2.0).data, nn.ELU(2.0)(x).data)
    np.testing.assert_allclose(F.softmax(x, axis=0).data, nn.Softmax(axis=0)(x).data)
    np.testing.assert_allclose(F.log_softmax(x).data, np.log(F.softmax(x).data))


# ---- BatchNorm1d -----------------------------------------------------------------------------
def test_batchnorm_training_normalises_with_biased_batch_variance():
    bn = nn.BatchNorm1d(3)
    x = rand(8, 3, seed=7, dtype=np.float32) * 4.0 + 2.0
    y = bn(x).data
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=0), 1 - 1e-5 / (x.data.var(axis=0) + 1e-5),
                               rtol=1e-4)
    expected = (x.data - x.data.mean(0)) / np.sqrt(x.data.var(0) + 1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


def test_batchnorm_running_statistics_follow_exponential_smoothing():
    bn = nn.BatchNorm1d(2, momentum=0.3)
    mean, var = np.zeros(2), np.ones(2)
    for seed in range(3):
        x = rand(5, 2, seed=seed, dtype=np.float32) * (seed + 1) + seed
        bn(x)
        mean = 0.7 * mean + 0.3 * x.data.mean(axis=0)
        var = 0.7 * var + 0.3 * x.data.var(axis=0, ddof=1)  # unbiased
    np.testing.assert_allclose(bn.running_mean.data, mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, var, rtol=1e-5)
    assert int(bn.num_batches_tracked.data) == 3


def test_batchnorm_cumulative_average_when_momentum_is_none():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [rand(4, 2, seed=s, dtype=np.float32) for s in range(3)]
    for x in batches:
        bn(x)
    np.testing.assert_allclose(bn.running_mean.data,
                               np.mean([x.data.mean(0) for x in batches], axis=0), rtol=1e-5)


def test_batchnorm_eval_uses_running_statistics_and_affine():
    bn = nn.BatchNorm1d(2)
    bn.running_mean.data[:] = [1.0, -2.0]
    bn.running_var.data[:] = [4.0, 0.25]
    bn.weight.data[:] = [2.0, 3.0]
    bn.bias.data[:] = [0.5, -0.5]
    bn.eval()
    x = rand(3, 2, seed=9, dtype=np.float32)
    expected = (x.data - [1.0, -2.0]) / np.sqrt(np.array([4.0, 0.25]) + 1e-5) * [2, 3] + [.5, -.5]
    np.testing.assert_allclose(bn(x).data, expected, rtol=1e-5)
    np.testing.assert_array_equal(bn.running_mean.data, [1.0, -2.0])  # eval leaves them


def test_batchnorm_without_affine_or_running_stats():
    bn = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(bn.parameters()) == [] and bn.state_dict() == {}
    x = rand(6, 3, seed=10, dtype=np.float32) + 5
    bn.eval()  # still batch statistics: nothing else to use
    np.testing.assert_allclose(bn(x).data.mean(axis=0), 0, atol=1e-5)


def test_batchnorm_on_sequences_reduces_over_batch_and_length():
    bn = nn.BatchNorm1d(2)
    x = rand(4, 2, 5, seed=11, dtype=np.float32) * 3
    y = bn(x).data
    np.testing.assert_allclose(y.mean(axis=(0, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * x.data.mean(axis=(0, 2)), rtol=1e-5)


def test_batchnorm_gradients_gradcheck_in_training():
    x = rand(5, 3, seed=12, requires_grad=True)
    w = rand(3, seed=13, requires_grad=True)
    b = rand(3, seed=14, requires_grad=True)
    assert ag.gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                        (x, w, b))


def test_batchnorm_refuses_single_sample_in_training_and_wrong_width():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value"):
        bn(rand(1, 3, dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(2, 4\)"):
        bn(rand(2, 4, dtype=np.float32))


# ---- Dropout ---------------------------------------------------------------------------------
def test_dropout_zero_fraction_and_scaling():
    ag.manual_seed(0)
    x = ag.tensor(np.ones((200, 500), dtype=np.float32))
    y = nn.Dropout(0.3)(x).data
    zero_fraction = np.mean(y == 0)
    assert abs(zero_fraction - 0.3) < 0.005
    np.testing.assert_allclose(y[y != 0], 1 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.01  # inverted dropout keeps the expectation


def test_dropout_gradient_is_the_mask():
    ag.manual_seed(1)
    x = ag.tensor(np.ones((50, 40)), requires_grad=True)
    y = F.dropout(x, 0.5, training=True)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, y.data)  # 0 or 2 where kept


def test_dropout_eval_identity_and_edge_probabilities():
    x = rand(10, 10, dtype=np.float32)
    layer = nn.Dropout(0.9).eval()
    assert layer(x) is x
    assert F.dropout(x, 0.0) is x
    assert np.all(F.dropout(x, 1.0).data == 0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout_draws_from_the_seeded_generator():
    x = ag.tensor(np.ones((30, 30), dtype=np.float32))
    ag.manual_seed(42)
    a = F.dropout(x, 0.5).data
    ag.manual_seed(42)
    np.testing.assert_array_equal(F.dropout(x, 0.5).data, a)
