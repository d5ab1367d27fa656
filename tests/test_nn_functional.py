"""Losses against their formulas: values, reductions, gradients (gradcheck), extreme logits."""

import numpy as np
import pytest

import autograd as ag
import nn
from nn import functional as F


def tensor(data, requires_grad=False):
    return ag.tensor(np.asarray(data, dtype=np.float64), requires_grad=requires_grad)


def ce_reference(logits, target):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(target)), target]


LOGITS = np.random.default_rng(0).standard_normal((6, 4)) * 3
TARGET = np.array([0, 3, 1, 1, 2, 0])


@pytest.mark.parametrize("reduction, reduce", [("mean", np.mean), ("sum", np.sum),
                                               ("none", lambda v: v)])
def test_cross_entropy_value_and_reductions(reduction, reduce):
    loss = F.cross_entropy(tensor(LOGITS), TARGET, reduction=reduction)
    np.testing.assert_allclose(loss.data, reduce(ce_reference(LOGITS, TARGET)), rtol=1e-12)


def test_cross_entropy_module_and_tensor_targets():
    loss = nn.CrossEntropyLoss()(tensor(LOGITS), ag.tensor(TARGET))
    np.testing.assert_allclose(loss.item(), ce_reference(LOGITS, TARGET).mean(), rtol=1e-12)


def test_cross_entropy_gradient_is_softmax_minus_onehot_and_gradchecks():
    x = tensor(LOGITS, requires_grad=True)
    F.cross_entropy(x, TARGET).backward()
    probs = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
    probs[np.arange(6), TARGET] -= 1
    np.testing.assert_allclose(x.grad.data, probs / 6, rtol=1e-10, atol=1e-14)
    for reduction in ("mean", "sum", "none"):
        assert ag.gradcheck(lambda x, r=reduction: F.cross_entropy(x, TARGET, reduction=r),
                            (tensor(LOGITS, requires_grad=True),))


def test_cross_entropy_finite_for_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=np.float32)
    x = ag.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, np.array([1, 0]), reduction="none")
    np.testing.assert_allclose(loss.data, [2e4, 2e4 + np.log(2)], rtol=1e-6)
    loss.sum().backward()
    assert np.all(np.isfinite(x.grad.data))
    np.testing.assert_allclose(x.grad.data, [[1, -1, 0], [-1, 0.5, 0.5]], atol=1e-6)


def test_cross_entropy_probability_targets_and_single_sample():
    probs = np.full((6, 4), 0.25)
    expected = -(probs * (LOGITS - np.log(np.exp(LOGITS).sum(1, keepdims=True)))).sum(1).mean()
    np.testing.assert_allclose(F.cross_entropy(tensor(LOGITS), probs).item(), expected)
    single = F.cross_entropy(tensor(LOGITS[0]), np.array(2))
    np.testing.assert_allclose(single.item(), ce_reference(LOGITS[:1], [2])[0])


def test_cross_entropy_bad_targets_and_reduction():
    with pytest.raises(IndexError, match=r"\[0, 4\)"):
        F.cross_entropy(tensor(LOGITS), np.array([0, 1, 2, 3, 4, 0]))
    with pytest.raises(ValueError, match=r"\(5,\)"):
        F.cross_entropy(tensor(LOGITS), np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="reduction"):
        nn.CrossEntropyLoss(reduction="avg")


# (N, C, d1, d2) scores, targets (N, d1, d2): each position a sample, as in PyTorch
SCORES_K = np.random.default_rng(1).standard_normal((2, 4, 3, 5)) * 2
TARGET_K = np.random.default_rng(2).integers(0, 4, (2, 3, 5))
TARGET_K[0, 1, 2] = 3


def as_rows(scores):
    return scores.transpose(0, 2, 3, 1).reshape(-1, scores.shape[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [{}, {"weight": [1.0, 2.0, 0.5, 1.5]}, {"ignore_index": 3},
                                     {"label_smoothing": 0.2, "weight": [1.0, 2.0, 0.5, 1.5]}])
def test_cross_entropy_and_nll_take_positions_beyond_the_class_axis(dtype, reduction, options):
    scores = ag.tensor(SCORES_K.astype(dtype))
    rows = ag.tensor(as_rows(SCORES_K).astype(dtype))
    loss = F.cross_entropy(scores, TARGET_K, reduction=reduction, **options)
    expected = F.cross_entropy(rows, TARGET_K.reshape(-1), reduction=reduction, **options)
    assert loss.dtype == dtype and loss.shape == ((2, 3, 5) if reduction == "none" else ())
    np.testing.assert_allclose(loss.data.reshape(-1), expected.data.reshape(-1), rtol=1e-6)
    options = {k: v for k, v in options.items() if k != "label_smoothing"}
    log_probs = scores.log_softmax(axis=1)
    nll = nn.NLLLoss(reduction=reduction, **options)(log_probs, ag.tensor(TARGET_K))
    expected = F.nll_loss(rows.log_softmax(axis=1), TARGET_K.reshape(-1), reduction=reduction,
                          **options)
    np.testing.assert_allclose(nll.data.reshape(-1), expected.data.reshape(-1), rtol=1e-6)


def test_cross_entropy_positions_gradcheck_probabilities_and_shape_errors():
    assert ag.gradcheck(lambda x: F.cross_entropy(x, TARGET_K, label_smoothing=0.1),
                        (tensor(SCORES_K, requires_grad=True),))
    probs = np.random.default_rng(3).dirichlet(np.ones(4), (2, 3, 5)).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(F.cross_entropy(tensor(SCORES_K), probs).item(),
                               F.cross_entropy(tensor(as_rows(SCORES_K)), as_rows(probs)).item())
    with pytest.raises(ValueError, match=r"\(2, 3, 5\).*\(2, 3\)"):
        F.cross_entropy(tensor(SCORES_K), TARGET_K[:, :, 0])
    with pytest.raises(ValueError, match=r"\(2, 3, 5\).*\(2, 5, 3\)"):
        F.nll_loss(tensor(SCORES_K), TARGET_K.transpose(0, 2, 1))


def bce_reference(x, y):
    p = 1 / (1 + np.exp(-x))
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def test_bce_with_logits_value_reductions_and_gradcheck():
    x = np.random.default_rng(1).standard_normal((5, 3)) * 2
    y = np.random.default_rng(2).random((5, 3))
    ref = bce_reference(x, y)
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(tensor(x), y).item(),
                               ref.mean(), rtol=1e-12)
    np.testing.assert_allclose(nn.BCEWithLogitsLoss(reduction="sum")(tensor(x), y).item(),
                               ref.sum(), rtol=1e-12)
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(tensor(x), y, reduction="none").data, ref,
        rtol=1e-12)
    assert ag.gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(x, y),
                        (tensor(x, True), tensor(y, True)))


def test_bce_with_logits_finite_for_huge_logits_and_right_at_zero():
    x = ag.tensor(np.array([1e4, -1e4, 1e4, -1e4, 0.0], dtype=np.float32), requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(loss.data, [0, 0, 1e4, 1e4, np.log(2)], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.data, [0, 0, 1, -1, -0.5], atol=1e-6)


def test_bce_with_logits_second_derivative():
    x = tensor([0.3, -1.2], requires_grad=True)
    assert ag.gradgradcheck(lambda x: F.binary_cross_entropy_with_logits(x, [1.0, 0.0]), (x,))


def test_mse_loss_value_gradient_and_shape_check():
    a = np.random.default_rng(3).standard_normal((4, 2))
    b = np.random.default_rng(4).standard_normal((4, 2))
    np.testing.assert_allclose(nn.MSELoss()(tensor(a), b).item(), np.mean((a - b) ** 2))
    np.testing.assert_allclose(F.mse_loss(tensor(a), b, reduction="sum").item(),
                               np.sum((a - b) ** 2))
    assert ag.gradcheck(lambda a: F.mse_loss(a, b), (tensor(a, True),))
    with pytest.raises(ValueError, match="shape"):
        F.mse_loss(tensor(a), b[:3])


def test_nll_loss_on_log_softmax_equals_cross_entropy():
    log_probs = F.log_softmax(tensor(LOGITS), axis=1)
    np.testing.assert_allclose(nn.NLLLoss()(log_probs, TARGET).item(),
                               F.cross_entropy(tensor(LOGITS), TARGET).item())


def test_cross_entropy_second_derivative():
    for reduction in ("mean", "sum", "none"):
        x = tensor(LOGITS[:3] / 3, requires_grad=True)
        assert ag.gradgradcheck(
            lambda x, r=reduction: F.cross_entropy(x, TARGET[:3], reduction=r), (x,))


def test_linear_second_derivative():
    x = tensor(LOGITS[:2, :3], requires_grad=True)
    w = tensor(LOGITS[2:4, :3], requires_grad=True)
    b = tensor(LOGITS[4, :2], requires_grad=True)
    assert ag.gradgradcheck(lambda x, w, b: F.linear(x, w, b).tanh(), (x, w, b))


@pytest.mark.parametrize("classes", [5, 100])
def test_class_weights_against_the_weighted_mean_for_any_number_of_classes(classes):
    """mean reduction with weight w: sum_i w[t_i] * loss_i / sum_i w[t_i], label smoothing off
    and on (cross_entropy) and on log-probabilities (nll_loss); 100 classes too (NumPy's choose
    takes at most 64)."""
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((8, classes))
    target = rng.integers(0, classes, 8)
    weight = rng.uniform(0.5, 2, classes)
    losses = ce_reference(logits, target)
    expected = (weight[target] * losses).sum() / weight[target].sum()
    got = F.cross_entropy(tensor(logits), target, weight=tensor(weight))
    assert np.allclose(got.data, expected)
    log_probs = F.log_softmax(tensor(logits), axis=1)
    assert np.allclose(F.nll_loss(log_probs, target, weight=tensor(weight)).data, expected)
    # PyTorch's smoothing: (1 - e) * the weighted loss + e / C * sum_c w_c * (-log p_c), both
    # over sum_i w[t_i]
    log_p = log_probs.data
    spread = -(log_p * weight).sum(axis=1).sum() / weight[target].sum()
    smoothed = F.cross_entropy(tensor(logits), target, weight=tensor(weight), label_smoothing=0.1)
    assert np.allclose(smoothed.data, 0.9 * expected + 0.1 / classes * spread)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.1},
                                     {"weight": np.array([1.0, 2.0, 0.5, 1.0])}])
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_a_mean_over_no_counted_target_is_nan_with_a_zero_gradient(dtype, options, loss):
    # a batch whose every target is ignore_index (padding only): the mean is 0 / 0, NaN as in
    # PyTorch, but its gradient was NaN too (0 * 1 / 0), which an optimizer step spreads into
    # every parameter; PyTorch's is 0
    if loss == "nll_loss" and "label_smoothing" in options:
        pytest.skip("nll_loss has no label smoothing")
    x = ag.tensor(np.random.default_rng(0).standard_normal((3, 4)).astype(dtype),
                  requires_grad=True)
    scores = x if loss == "cross_entropy" else F.log_softmax(x, axis=1)
    with np.errstate(all="raise"):  # no 0 / 0 on the way either
        value = getattr(F, loss)(scores, np.array([-100, -100, -100]), **options)
        value.backward()
    assert np.isnan(value.data) and value.dtype == dtype
    np.testing.assert_array_equal(x.grad.data, np.zeros((3, 4), dtype))
