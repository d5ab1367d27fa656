"""The PyTorch spellings (API.md, "Coming from PyTorch"): one test per name, against its
formula in NumPy. The gradients of the new primitives (sin, cos, log1p, clone) and of norm and
swapaxes are checked by the op table (tests/opcheck.py)."""

import inspect

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor

DTYPES = [np.float32, np.float64]


def _x(dtype=np.float64, shape=(3, 4), requires_grad=False, seed=0):
    values = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return Tensor(values, requires_grad=requires_grad)


# ---- dim= and keepdim= --------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var", "std", "logsumexp",
                                  "argmax", "argmin", "norm"])
def test_reductions_take_dim_and_keepdim_for_axis_and_keepdims(name):
    x = _x()
    ours = getattr(x, name)(axis=1, keepdims=True)
    torch_style = getattr(x, name)(dim=1, keepdim=True)
    assert torch_style.shape == (3, 1)
    np.testing.assert_array_equal(torch_style.data, ours.data)


def test_dim_and_keepdim_give_what_axis_and_keepdims_give():
    x = _x(shape=(2, 3))
    pairs = [
        (x.softmax(dim=0), x.softmax(axis=0)), (x.log_softmax(dim=0), x.log_softmax(axis=0)),
        (x[:1].squeeze(dim=0), x[:1].squeeze(axis=0)),
        (x.expand_dims(dim=1), x.expand_dims(axis=1)),
        (ag.concatenate([x, x], dim=1), ag.concatenate([x, x], axis=1)),
        (ag.cat([x, x], dim=1), np.concatenate([x.data, x.data], axis=1)),
        (ag.stack([x, x], dim=2), np.stack([x.data, x.data], axis=2)),
        (ag.sum(x, dim=0, keepdim=True), x.data.sum(axis=0, keepdims=True)),
    ]
    for torch_style, numpy_style in pairs:
        np.testing.assert_array_equal(np.asarray(torch_style), np.asarray(numpy_style))


@pytest.mark.parametrize("call", [lambda x: x.sum(axis=0, dim=0),
                                  lambda x: x.mean(keepdims=True, keepdim=True),
                                  lambda x: ag.concatenate([x], axis=0, dim=0)])
def test_both_spellings_at_once_is_a_type_error_naming_the_function(call):
    with pytest.raises(TypeError, match=r"(sum|mean|concatenate): got both (axis|keepdims)= "
                                        r"and (dim|keepdim)="):
        call(_x())


def test_an_axis_that_is_a_tensor_is_a_type_error_pointing_to_maximum():
    a, b = _x(), _x(seed=1)
    with pytest.raises(TypeError, match="max: axis must be an int .* ag.maximum"):
        ag.max(a, b)  # torch.max(a, b) is the elementwise maximum


# ---- tensor methods -------------------------------------------------------------------------
def test_view_is_reshape():
    x = _x()
    assert x.view(2, 6).shape == (2, 6) and x.view((4, -1)).shape == (4, 3)
    np.testing.assert_array_equal(x.view(-1).data, x.data.reshape(-1))


def test_unsqueeze_inserts_an_axis():
    x = _x()
    assert x.unsqueeze(0).shape == (1, 3, 4) and x.unsqueeze(-1).shape == (3, 4, 1)


def test_permute_is_a_permutation_of_the_axes():
    x = _x(shape=(2, 3, 4))
    np.testing.assert_array_equal(x.permute(2, 0, 1).data, x.data.transpose(2, 0, 1))
    np.testing.assert_array_equal(x.permute((1, 2, 0)).data, x.data.transpose(1, 2, 0))


def test_swapaxes_is_torch_transpose_of_two_axes():
    x = _x(shape=(2, 3, 4))
    np.testing.assert_array_equal(x.swapaxes(0, 2).data, np.swapaxes(x.data, 0, 2))
    np.testing.assert_array_equal(x.swapaxes(-1, 1).data, np.swapaxes(x.data, -1, 1))
    np.testing.assert_array_equal(ag.swapaxes(x, 1, 1).data, x.data)
    with pytest.raises(ValueError, match="swapaxes: axis 3 is out of range"):
        x.swapaxes(0, 3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pow_and_square(dtype):
    x = _x(dtype, requires_grad=True)
    np.testing.assert_allclose(x.pow(3).data, x.data ** 3, rtol=1e-6)
    y = x.square()
    assert y.dtype == dtype
    np.testing.assert_allclose(y.data, x.data * x.data, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data, rtol=1e-6)


def test_clamp_is_clip_with_torch_keywords():
    x = _x()
    np.testing.assert_array_equal(x.clamp(min=0).data, np.maximum(x.data, 0))
    np.testing.assert_array_equal(x.clamp(max=0.5).data, np.minimum(x.data, 0.5))
    np.testing.assert_array_equal(x.clamp(-0.1, 0.2).data, np.clip(x.data, -0.1, 0.2))


def test_mm_multiplies_matrices_and_rejects_other_shapes():
    a, b = _x(shape=(3, 4)), _x(shape=(4, 2), seed=1)
    np.testing.assert_allclose(a.mm(b).data, a.data @ b.data)
    with pytest.raises(ValueError, match=r"mm: needs two 2-D tensors; got shapes \(3, 4\) and "
                                         r"\(4,\)"):
        a.mm(b[:, 0])


def test_size_and_dim():
    x = _x(shape=(2, 3, 4))
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4 and x.dim() == 3


@pytest.mark.parametrize(("method", "dtype"), [("float", np.float32), ("double", np.float64),
                                               ("long", np.int64)])
def test_float_double_long_cast(method, dtype):
    x = Tensor(np.array([1.5, -2.5, 3.0]))
    cast = getattr(x, method)()
    assert cast.dtype == dtype
    np.testing.assert_array_equal(cast.data, x.data.astype(dtype))
    same = Tensor(np.zeros(2, dtype))
    assert getattr(same, method)() is same  # already that dtype: itself, as PyTorch


def test_float_is_differentiable_back_to_float64():
    x = _x(np.float64, requires_grad=True)
    (x.float() * 2).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.data, np.full((3, 4), 2.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_clone_copies_into_new_memory_and_passes_gradients(dtype):
    x = _x(dtype, requires_grad=True)
    y = x.clone()
    assert y.dtype == dtype and not np.shares_memory(x.data, y.data)
    np.testing.assert_array_equal(y.data, x.data)
    (y * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((3, 4), 3, dtype))
    with ag.no_grad():
        y += 1
    np.testing.assert_array_equal(y.data, x.data + 1)  # x itself unchanged


@pytest.mark.parametrize(("name", "reference"), [("argmax", np.argmax), ("argmin", np.argmin)])
def test_argmax_argmin(name, reference):
    x = _x()
    for kw in ({}, {"axis": 0}, {"axis": 1, "keepdims": True}):
        out = getattr(x, name)(**kw)
        assert out.dtype == np.int64 and not out.requires_grad
        np.testing.assert_array_equal(out.data, reference(x.data, **kw))


@pytest.mark.parametrize(("name", "reference"), [("sin", np.sin), ("cos", np.cos),
                                                 ("log1p", np.log1p)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_sin_cos_log1p(name, reference, dtype):
    x = Tensor(np.abs(_x(dtype).data), requires_grad=True)
    out = getattr(x, name)()
    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, reference(x.data), rtol=1e-6)


def test_log1p_keeps_the_digits_of_a_tiny_input():
    x = Tensor(np.array([1e-10], np.float32))
    assert x.log1p().item() == pytest.approx(1e-10, rel=1e-6)
    assert (x + 1).log().item() == 0  # what log1p avoids


@pytest.mark.parametrize("dtype", DTYPES)
def test_norm_against_its_formula(dtype):
    x = _x(dtype)
    a = x.data.astype(np.float64)
    cases = [((), np.sqrt((a * a).sum())), ((1,), np.abs(a).sum()),
             ((3,), (np.abs(a) ** 3).sum() ** (1 / 3)), ((np.inf,), np.abs(a).max()),
             ((-np.inf,), np.abs(a).min()), (("fro",), np.sqrt((a * a).sum())),
             ((2, 1), np.sqrt((a * a).sum(axis=1)))]
    for args, expected in cases:
        out = x.norm(*args)
        assert out.dtype == dtype
        np.testing.assert_allclose(out.data, expected, rtol=1e-5)


def test_norm_takes_pytorchs_p_for_ord():
    x = _x()
    np.testing.assert_array_equal(x.norm(p=1, dim=1).data, x.norm(1, axis=1).data)
    assert x.norm(p="fro").data == x.norm().data
    with pytest.raises(TypeError, match="norm: got both ord= and p="):
        x.norm(ord=1, p=1)


def test_norm_of_zero_has_gradient_zero_not_nan():
    x = ag.zeros(3, requires_grad=True, dtype=np.float64)
    x.norm().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(3))


def test_norm_rejects_a_bad_ord():
    with pytest.raises(ValueError, match="norm: ord must be a positive number"):
        _x().norm(0)


def test_zero_fill_copy_change_in_place_and_bump_the_version():
    x = _x()
    data = x.data
    version = x._version[0]
    assert x.zero_() is x and x.data is data and not x.data.any()
    x.fill_(2.5)
    np.testing.assert_array_equal(x.data, np.full((3, 4), 2.5))
    x.copy_(np.arange(4))  # broadcast, cast to float64
    np.testing.assert_array_equal(x.data, np.tile(np.arange(4.0), (3, 1)))
    assert x.data is data and x._version[0] == version + 3
    with pytest.raises(ValueError, match=r"copy_: could not broadcast .*tensor of shape "
                                         r"\(3, 4\) float64, value of shape \(5,\)"):
        x.copy_(np.zeros(5))


def test_in_place_on_a_tensor_that_requires_grad_needs_no_grad():
    w = _x(requires_grad=True)
    for call in (lambda: w.zero_(), lambda: w.fill_(1.0), lambda: w.copy_(np.ones(4))):
        with pytest.raises(RuntimeError, match="in-place (zero_|fill_|copy_) on a leaf tensor of "
                                               r"shape \(3, 4\) that requires grad"):
            call()
    with ag.no_grad():
        w.copy_(Tensor(np.ones((3, 4))))
        w.grad = None
    np.testing.assert_array_equal(w.data, np.ones((3, 4)))


def test_a_saved_tensor_changed_by_copy_makes_backward_raise():
    x = _x(requires_grad=True)
    y = _x(seed=1)
    out = (x * y).sum()
    y.copy_(np.zeros((3, 4)))
    with pytest.raises(RuntimeError, match="modified in place"):
        out.backward()


# ---- device and dtype ---------------------------------------------------------------------
def test_to_cpu_and_cpu_return_the_tensor_itself():
    x = _x()
    assert x.to("cpu") is x and x.cpu() is x and x.to(device="cpu") is x


def test_a_tensors_device_is_the_cpu_and_passes_on_as_pytorch_code_does():
    x = _x()
    assert x.device == "cpu" and ag.zeros(2, device=x.device).device == "cpu"
    assert x.to(x.device) is x


def test_to_a_dtype_casts():
    x = _x(np.float64)
    assert x.to(ag.float32).dtype == np.float32
    assert x.to("cpu", np.float32).dtype == np.float32
    assert x.to(dtype=ag.int64).dtype == np.int64
    assert x.to(Tensor(np.zeros(1, np.float32))).dtype == np.float32  # another tensor's dtype


@pytest.mark.parametrize("call", [lambda: _x().to("cuda"), lambda: ag.zeros(2, device="cuda:0"),
                                  lambda: ag.tensor([1.0], device="mps")])
def test_any_device_but_the_cpu_is_a_value_error(call):
    with pytest.raises(ValueError, match="(to|zeros|tensor): device '(cuda|cuda:0|mps)' is not "
                                         "available: this engine runs on the CPU only"):
        call()


@pytest.mark.parametrize("factory", [
    lambda **kw: ag.tensor([1.0], **kw), lambda **kw: ag.zeros(2, **kw),
    lambda **kw: ag.ones(2, **kw), lambda **kw: ag.full((2,), 1.0, **kw),
    lambda **kw: ag.eye(2, **kw), lambda **kw: ag.arange(3, **kw),
    lambda **kw: ag.zeros_like(ag.ones(2), **kw), lambda **kw: ag.ones_like(ag.ones(2), **kw),
    lambda **kw: ag.rand(2, **kw), lambda **kw: ag.randn(2, **kw),
    lambda **kw: ag.empty(2, **kw), lambda **kw: ag.linspace(0, 1, 3, **kw),
    lambda **kw: ag.rand_like(ag.ones(2), **kw), lambda **kw: ag.randn_like(ag.ones(2), **kw)])
def test_creation_functions_accept_device_cpu(factory):
    assert isinstance(factory(device="cpu"), Tensor)
    assert isinstance(factory(device="cpu:0"), Tensor)  # PyTorch's name of the same device
    with pytest.raises(ValueError, match="CPU only"):
        factory(device="cuda")


def test_the_device_keyword_shows_in_the_signature():
    assert "device" in inspect.signature(ag.zeros).parameters


# ---- functions -----------------------------------------------------------------------------
FUNCTIONS = [  # (name, arguments after the tensor, NumPy's formula)
    ("exp", (), np.exp), ("log", (), np.log), ("sqrt", (), np.sqrt), ("abs", (), np.abs),
    ("sin", (), np.sin), ("cos", (), np.cos), ("log1p", (), np.log1p), ("tanh", (), np.tanh),
    ("sigmoid", (), lambda a: 1 / (1 + np.exp(-a))), ("relu", (), lambda a: np.maximum(a, 0)),
    ("sum", (1,), lambda a, axis: a.sum(axis)), ("mean", (0,), lambda a, axis: a.mean(axis)),
    ("max", (1,), lambda a, axis: a.max(axis)), ("min", (None,), lambda a, axis: a.min(axis)),
    ("matmul", (np.ones((4, 2), np.float32),), np.matmul), ("reshape", ((4, 3),), np.reshape),
    ("transpose", (), np.transpose), ("clip", (0.7, 1.2), np.clip),
    ("softmax", (), lambda a: np.exp(a) / np.exp(a).sum(-1, keepdims=True)),
    ("log_softmax", (0,), lambda a, axis: a - np.log(np.exp(a).sum(axis, keepdims=True))),
    ("clamp", (0.7, 1.2), np.clip), ("pow", (3,), np.power), ("square", (), np.square),
    ("mm", (np.ones((4, 2), np.float32),), np.matmul),
    ("squeeze", (), np.squeeze), ("unsqueeze", (1,), np.expand_dims),
    ("permute", ((1, 0),), np.transpose), ("var", (0,), lambda a, axis: a.var(axis)),
    ("std", (1,), lambda a, axis: a.std(axis)),
    ("logsumexp", (1,), lambda a, axis: np.log(np.exp(a).sum(axis))),
    ("norm", (), np.linalg.norm),
]


@pytest.mark.parametrize(("name", "args", "formula"), FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
@pytest.mark.parametrize("dtype", DTYPES)
def test_function_forms_against_numpy(name, args, formula, dtype):
    x = Tensor(np.abs(_x(dtype).data) + 0.5, requires_grad=True)
    out = getattr(ag, name)(x, *args)
    assert isinstance(out, Tensor) and out.dtype == dtype and out.requires_grad
    np.testing.assert_allclose(out.data, formula(x.data.astype(np.float64), *args), rtol=1e-5)


def test_function_forms_have_numpy_signatures_and_take_arrays():
    assert list(inspect.signature(ag.sum).parameters) == ["t", "axis", "keepdims"]
    assert list(inspect.signature(ag.softmax).parameters) == ["t", "axis"]
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(ag.transpose(a, axes=(1, 0)).data, a.T)
    np.testing.assert_array_equal(ag.max(a, axis=1, keepdims=True).data, a.max(1, keepdims=True))


def test_transpose_function_with_two_axes_is_an_error_not_a_permutation():
    with pytest.raises(TypeError):
        ag.transpose(_x(), 0, 1)  # torch.transpose(x, 0, 1) is ag.swapaxes(x, 0, 1)


def test_cat_is_concatenate():
    a, b = _x(shape=(2, 3)), _x(shape=(1, 3), seed=1)
    np.testing.assert_array_equal(ag.cat([a, b]).data, np.concatenate([a.data, b.data]))


@pytest.mark.parametrize("dtype", [None, np.float64])
def test_linspace(dtype):
    t = ag.linspace(-np.pi, np.pi, 2000, dtype=dtype)
    assert t.dtype == (np.float32 if dtype is None else dtype) and t.shape == (2000,)
    np.testing.assert_allclose(t.data, np.linspace(-np.pi, np.pi, 2000), rtol=1e-6)


def test_empty_has_the_shape_and_dtype():
    t = ag.empty(2, 3, requires_grad=True)
    assert t.shape == (2, 3) and t.dtype == np.float32 and t.requires_grad
    assert ag.empty((4,), dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize(("name", "reference"), [("randn_like", "randn"), ("rand_like", "rand")])
@pytest.mark.parametrize("dtype", DTYPES)
def test_random_like_draws_from_the_global_generator_in_the_shape_and_dtype(name, reference,
                                                                             dtype):
    x = _x(dtype, shape=(2, 3))
    ag.manual_seed(5)
    drawn = getattr(ag, name)(x)
    ag.manual_seed(5)
    expected = getattr(ag, reference)(2, 3, dtype=dtype)
    assert drawn.dtype == dtype and drawn.shape == (2, 3)
    np.testing.assert_array_equal(drawn.data, expected.data)
    with pytest.raises(TypeError, match=f"{name}: random values need a floating-point dtype; "
                                        "the tensor has int64"):
        getattr(ag, name)(ag.tensor([1, 2]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_t_expand_masked_fill_contiguous_and_the_int_casts(dtype):
    x = _x(dtype, shape=(2, 3), requires_grad=True)
    np.testing.assert_array_equal(x.t().data, x.data.T)
    assert _x(shape=(4,)).t().shape == (4,) and x.contiguous() is x
    with pytest.raises(ValueError, match=r"t: expects a tensor of at most 2 dims, got shape"):
        _x(shape=(2, 3, 4)).t()
    assert x.expand(5, -1, 3).shape == (5, 2, 3) and x[:1].expand((4, -1)).shape == (4, 3)
    assert x.int().dtype == np.int32 and x.bool().dtype == np.bool_
    filled = x.masked_fill(x > 0, 0.5)
    assert filled.dtype == dtype
    np.testing.assert_array_equal(filled.data, np.where(x.data > 0, dtype(0.5), x.data))
    (filled.sum() + x.expand(2, 2, 3).sum()).backward()
    np.testing.assert_array_equal(x.grad.data, np.where(x.data > 0, 0, 1) + 2)


def test_randint_and_randperm_draw_integers_from_the_global_generator():
    ag.manual_seed(2)
    drawn = ag.randint(3, 7, (200,))
    assert drawn.dtype == np.int64 and drawn.shape == (200,)
    assert set(drawn.tolist()) == {3, 4, 5, 6}
    ag.manual_seed(2)
    np.testing.assert_array_equal(ag.randint(3, 7, size=(200,)).data, drawn.data)
    high_only = ag.randint(4, (2, 5))  # PyTorch's randint(high, size)
    assert high_only.shape == (2, 5) and 0 <= high_only.data.min() and high_only.data.max() < 4
    assert ag.randint(2, size=3, dtype=np.int32).dtype == np.int32
    perm = ag.randperm(10)
    assert perm.dtype == np.int64 and sorted(perm.tolist()) == list(range(10))
    with pytest.raises(ValueError, match="randint: low >= high"):
        ag.randint(3, 2, (1,))


def test_from_numpy_shares_memory_and_keeps_the_dtype():
    array = np.zeros(3, np.float64)
    t = ag.from_numpy(array)
    assert t.dtype == np.float64 and np.shares_memory(t.data, array)
    array[0] = 7
    assert t.data[0] == 7
    with pytest.raises(TypeError, match="from_numpy: expected a NumPy array, got list"):
        ag.from_numpy([1.0])


def test_dtypes_are_numpy_dtypes():
    assert (ag.float32, ag.float64, ag.int64) == (np.float32, np.float64, np.int64)
    assert ag.zeros(2, dtype=ag.float64).dtype == np.float64


def test_nn_softmax_and_log_softmax_take_dim():
    import nn
    from nn import functional as F
    x = _x(shape=(2, 3))
    for torch_style, numpy_style in [(F.softmax(x, dim=0), x.softmax(axis=0)),
                                     (F.log_softmax(x, dim=0), x.log_softmax(axis=0)),
                                     (nn.Softmax(dim=0)(x), x.softmax(axis=0)),
                                     (nn.LogSoftmax(dim=0)(x), x.log_softmax(axis=0))]:
        np.testing.assert_array_equal(torch_style.data, numpy_style.data)


@pytest.mark.parametrize("dtype", DTYPES)
def test_float_int_and_format_on_a_one_element_tensor(dtype):
    t = Tensor(np.array([[2.75]], dtype))
    assert float(t) == 2.75 and type(float(t)) is float
    assert int(t) == 2 and type(int(t)) is int
    assert f"{t:.1f}" == "2.8" and format(t, ">6.2f") == "  2.75" and f"{t}" == str(t)


def test_float_of_a_tensor_with_several_elements_is_a_type_error():
    with pytest.raises(TypeError, match=r"float: only a one-element tensor converts to a Python "
                                        r"number; this one has shape \(2,\)"):
        float(ag.zeros(2))
    with pytest.raises(TypeError, match="format: only a one-element tensor"):
        f"{ag.zeros(2):.3f}"


def test_layers_accept_the_cpu_device_and_refuse_any_other():
    import nn

    assert nn.Linear(2, 3, device="cpu").weight.shape == (3, 2)
    assert nn.BatchNorm1d(3, device="cpu").running_mean.shape == (3,)
    for make in (lambda: nn.Linear(2, 3, device="cuda"), lambda: nn.BatchNorm1d(3, device="mps")):
        with pytest.raises(ValueError, match="runs on the CPU only"):
            make()


def test_a_module_moves_to_the_cpu_and_casts_as_pytorch_spells_it():
    import nn

    model = nn.Linear(2, 3)
    weight = model.weight
    assert model.cpu() is model and model.to("cpu") is model and model.to(device="cpu") is model
    assert model.to(device="cpu", dtype=np.float64) is model and weight.dtype == np.float64
    assert model.to("cpu", np.float32).weight is weight and weight.dtype == np.float32
    for call in (lambda: model.to("cuda"), lambda: model.to(device="cuda:0")):
        with pytest.raises(ValueError, match="to: device 'cuda(:0)?' is not available"):
            call()


@pytest.mark.parametrize("shape, dim", [((2, 3), 2), ((2, 3), -3), ((), 0)])
def test_size_of_a_dim_out_of_range_names_size_and_the_dims(shape, dim):
    with pytest.raises(IndexError, match=rf"size: dim {dim} is out of range for a tensor with "
                                         rf"{len(shape)} dims"):
        ag.zeros(shape).size(dim)


def test_arguments_whose_position_differs_from_pytorch_must_be_named():
    # Adagrad(params, 0.1, 0.5) is lr_decay=0.5 in PyTorch but was eps=0.5 here, and
    # DataLoader(ds, 2, False, [1, 0]) PyTorch's sampler but drop_last here: PyTorch code
    # passing them by position ran with other settings, silently
    import optim
    from autograd.utils.data import DataLoader
    params = [ag.tensor([1.0], requires_grad=True)]
    with pytest.raises(TypeError, match="positional argument"):
        optim.Adagrad(params, 0.1, 0.5)
    with pytest.raises(TypeError, match="positional argument"):
        DataLoader([1.0, 2.0], 2, False, [1, 0])
    assert optim.Adagrad(params, 0.1, lr_decay=0.5).defaults["lr_decay"] == 0.5
    assert len(DataLoader([1.0, 2.0], 2, False, sampler=[1, 0])) == 1
