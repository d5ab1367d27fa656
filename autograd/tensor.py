"""`Tensor`: a NumPy array that records the operations applied to it into a graph."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .compile import _capture, _engine, asarray, data_of  # ag.compile's hooks; engine.py, late
from .grad_mode import _mode


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """NumPy arrays keep their dtype; Python floats become float32 and ints int64."""
    if isinstance(data, Tensor):
        array = data.data
    elif isinstance(data, (np.ndarray, np.generic)):
        array = asarray(data)
    else:
        try:
            array = np.asarray(data)
        except ValueError as error:  # ragged nested lists
            raise ValueError(f"Tensor: {error}") from None
        if dtype is None and array.dtype == np.float64:
            array = array.astype(np.float32)
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    if array.dtype.kind not in "biufc":
        raise TypeError(f"tensor: data must be numeric (bool, int, float or complex); got "
                        f"{type(data).__name__} of dtype {array.dtype}")
    return array


def _check_float(array: np.ndarray, where: str) -> None:
    if array.dtype.kind != "f":
        raise TypeError(f"{where}: only floating-point tensors can require grad; "
                        f"got dtype {array.dtype}")


def _check_callable(hook: Any, where: str) -> None:
    if not callable(hook):
        raise TypeError(f"{where}: hook must be callable, got {type(hook).__name__}")


def _note_change(version: list, step: int, changed: np.ndarray, whole: np.ndarray) -> None:
    """Note on the version list that a tensor's views share: the op numbered `step` changed
    `changed` of its memory `whole` (an advanced index gives a copy: then all of it counts).
    A change of all the memory, or of the same block as an earlier one, replaces the earlier
    notes it covers (a view that one refuses, this one refuses too), so a buffer changed on
    every step keeps as many notes as the blocks it changes, not one per step."""
    if changed.size == whole.size or not np.shares_memory(changed, whole):
        del version[1:]
        changed = whole
    elif (block := _block(changed)) is not None:
        version[1:] = [note for note in version[1:] if _block(note[1]) != block]
    version.append((step, changed))


def _block(array: np.ndarray) -> tuple[int, int] | None:
    """(address, bytes) of a C-contiguous array's memory, else None."""
    return (array.__array_interface__["data"][0], array.nbytes) if array.flags.c_contiguous \
        else None


def _unwrap(value: Any) -> Any:
    """An operand as NumPy takes it: a tensor's data (through data_of, for ag.compile)."""
    return data_of(value) if isinstance(value, Tensor) else value


def _bitwise(ufunc: np.ufunc, *operands: Any) -> Tensor:
    """A mask combined as NumPy combines it ((x > 0) & (x < 1)); a float operand is refused."""
    try:
        return Tensor._make(np.asanyarray(ufunc(*operands)), False, None, 0)
    except TypeError:
        dtypes = ", ".join(str(np.result_type(o)) for o in operands)
        raise TypeError(f"{ufunc.__name__}: needs bool or integer tensors, got {dtypes} (a "
                        f"float mask is a comparison away: x > 0)") from None


class HookHandle:
    """What `register_hook` returns: `remove()` takes the hook off again, as does the end of a
    `with handle:` block (PyTorch's RemovableHandle)."""

    def __init__(self, hooks: list, hook: Callable):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.remove()


class Tensor:
    """An n-dimensional array with a gradient.

    `data` is the NumPy array; `grad_fn` is the node that produced it (None for leaves);
    after `backward()`, a leaf that requires grad holds d(output)/d(self) in `grad`.
    """

    __slots__ = ("data", "_grad", "_requires_grad", "grad_fn", "_output_nr", "_version",
                 "_hooks", "_taken", "__weakref__")  # _taken: see function._wrap
    __array_priority__ = 1000  # `ndarray + Tensor` defers to Tensor.__radd__

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False):
        self.data = _as_array(data, dtype)
        if requires_grad:
            _check_float(self.data, "Tensor")
        self._requires_grad = bool(requires_grad)
        self._grad: Tensor | None = None
        self.grad_fn = None
        self._output_nr = 0
        # Bumped by every in-place change; shared by every tensor over the same memory (views,
        # detach(), a Tensor or Parameter made from a tensor), so a change through one is seen.
        shared = isinstance(data, Tensor) and self.data is data.data
        self._version = data._version if shared else [0]
        self._hooks: list | None = None

    @staticmethod
    def _make(data: np.ndarray, requires_grad: bool, grad_fn: Any, output_nr: int) -> Tensor:
        """Wrap an operation's result without conversions (the engine's fast path)."""
        tensor = object.__new__(Tensor)
        tensor.data = data
        tensor._grad = None
        tensor._requires_grad = requires_grad
        tensor.grad_fn = grad_fn
        tensor._output_nr = output_nr
        tensor._version = [0]
        tensor._hooks = None
        return tensor

    # ---- attributes -------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    @property
    def grad(self) -> Tensor | None:
        """d(output)/d(self) after backward (leaves and retained tensors), else None."""
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"grad: expected a Tensor or None for a tensor of shape "
                                f"{self.shape}, got {type(value).__name__}")
            if value.shape != self.shape or value.dtype != self.dtype:
                raise ValueError(f"grad: assigned grad of shape {value.shape} {value.dtype} to "
                                 f"a tensor of shape {self.shape} {self.dtype}; they must match")
        if _capture.recorder is not None:  # ag.compile: an assignment the replay repeats
            _capture.recorder.grad_assigned(self, value)
        self._grad = value

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def numel(self) -> int:
        return self.data.size

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared, not copied)."""
        if _capture.recorder is not None:  # ag.compile: a value leaving the tape
            _capture.recorder.escape(".numpy()", self)
        return self.data

    def item(self) -> Any:
        if _capture.recorder is not None:  # ag.compile: a value leaving the tape
            _capture.recorder.escape(".item()", self)
        try:
            return self.data.item()
        except ValueError:
            raise ValueError(f"item: only a one-element tensor converts to a Python number; "
                             f"this one has shape {self.shape}") from None

    def tolist(self) -> Any:
        if _capture.recorder is not None:  # ag.compile: a value leaving the tape
            _capture.recorder.escape(".tolist()", self)
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """`np.asarray(t)` shares the data; `np.array(t)` (copy=True) copies it."""
        if _capture.recorder is not None:  # ag.compile: a value leaving the tape
            _capture.recorder.escape("np.asarray()", self)
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return numpy_functions.apply_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Callable, types: tuple, args: tuple, kwargs: dict) -> Any:
        return numpy_functions.apply_function(func, args, kwargs)

    def __len__(self) -> int:
        if not self.data.ndim:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        if _capture.recorder is not None:  # ag.compile: a value leaving the tape
            _capture.recorder.escape("bool()", self)
        return bool(self.data)

    __hash__ = object.__hash__  # tensors are identities (== is elementwise)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = f", dtype={self.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{self.grad_fn.name}>"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ---- graph ------------------------------------------------------------------------
    def requires_grad_(self, flag: bool = True) -> Tensor:
        if not self.is_leaf:
            raise RuntimeError("requires_grad_: only leaf tensors can change requires_grad; "
                               "use detach() to get a new leaf")
        if flag:
            _check_float(self.data, "requires_grad_")
        self._requires_grad = bool(flag)
        return self

    def detach(self) -> Tensor:
        """A new leaf sharing this data, cut from the graph."""
        tensor = Tensor._make(self.data, False, None, 0)
        tensor._version = self._version
        return tensor

    def backward(self, gradient: Any = None, retain_graph: bool = False,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into the `.grad` of every leaf that requires grad, or
        only into the `.grad` of `inputs` (a tensor or several, leaves or not).

        `gradient` is the vector of the vector-Jacobian product (required unless self is
        a scalar). The graph's saved values are freed unless `retain_graph`; with
        `create_graph` the gradients are themselves recorded (higher-order derivatives).
        """
        _engine().backward((self,), None if gradient is None else (gradient,),
                           retain_graph=retain_graph or create_graph,
                           create_graph=create_graph, inputs=inputs)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> HookHandle:
        """Call `hook(grad)` when this tensor's gradient is computed; a returned tensor
        replaces the gradient. `handle.remove()` on the returned handle removes the hook."""
        if not self._requires_grad:
            raise RuntimeError("register_hook: the tensor does not require grad, so no "
                               "gradient will ever reach the hook")
        _check_callable(hook, "register_hook")
        if self.grad_fn is None:
            self._hooks = hooks = self._hooks or []
        else:
            node = self.grad_fn
            node.hooks = node.hooks or {}
            node._general = True  # the engine's general path runs hooks
            hooks = node.hooks.setdefault(self._output_nr, [])
        hooks.append(hook)
        return HookHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> HookHandle:
        """Call `hook(self)` each time `backward()` has accumulated this leaf's `.grad` (not
        after `ag.grad`, which leaves `.grad` alone): how DistributedDataParallel averages."""
        if not self._requires_grad or self.grad_fn is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: only a leaf tensor that "
                               "requires grad accumulates a .grad")
        import weakref

        from .engine import _post_accumulate_hooks
        hooks = _post_accumulate_hooks.get(id(self))
        if hooks is None:  # keyed by id (tensors compare elementwise), dropped with the tensor
            hooks = _post_accumulate_hooks[id(self)] = []
            weakref.finalize(self, _post_accumulate_hooks.pop, id(self), None)
        hooks.append(hook)
        return HookHandle(hooks, hook)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in `.grad` after backward."""
        import weakref
        if not self._requires_grad:
            raise RuntimeError("retain_grad: the tensor does not require grad")
        if self.grad_fn is not None:
            node = self.grad_fn
            node.retained = node.retained or {}
            node._general = True  # the engine's general path keeps retained gradients
            node.retained[self._output_nr] = weakref.ref(self)

    # ---- operators ----------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Mul.apply(ops.Reciprocal.apply(self), other)  # as PyTorch: keeps neither

    def __pow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(other, self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __abs__(self) -> Tensor:
        return ops.Abs.apply(self)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.GetItem.apply(self, index)

    # Comparisons are not differentiable: they return bool tensors outside the graph.
    def __lt__(self, other: Any) -> Tensor:
        return Tensor._make(np.asanyarray(data_of(self) < _unwrap(other)), False, None, 0)

    def __le__(self, other: Any) -> Tensor:
        return Tensor._make(np.asanyarray(data_of(self) <= _unwrap(other)), False, None, 0)

    def __gt__(self, other: Any) -> Tensor:
        return Tensor._make(np.asanyarray(data_of(self) > _unwrap(other)), False, None, 0)

    def __ge__(self, other: Any) -> Tensor:
        return Tensor._make(np.asanyarray(data_of(self) >= _unwrap(other)), False, None, 0)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor._make(np.asanyarray(data_of(self) == _unwrap(other)), False, None, 0)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor._make(np.asanyarray(data_of(self) != _unwrap(other)), False, None, 0)

    # ---- logical and bitwise, on bool and integer tensors (NumPy's; no gradient) ---------
    def __and__(self, other: Any) -> Tensor:
        return _bitwise(np.bitwise_and, data_of(self), _unwrap(other))

    def __rand__(self, other: Any) -> Tensor:
        return _bitwise(np.bitwise_and, _unwrap(other), data_of(self))

    def __or__(self, other: Any) -> Tensor:
        return _bitwise(np.bitwise_or, data_of(self), _unwrap(other))

    def __ror__(self, other: Any) -> Tensor:
        return _bitwise(np.bitwise_or, _unwrap(other), data_of(self))

    def __xor__(self, other: Any) -> Tensor:
        return _bitwise(np.bitwise_xor, data_of(self), _unwrap(other))

    def __rxor__(self, other: Any) -> Tensor:
        return _bitwise(np.bitwise_xor, _unwrap(other), data_of(self))

    def __invert__(self) -> Tensor:
        return _bitwise(np.invert, data_of(self))

    # ---- in place ---------------------------------------------------------------------
    def _in_place(self, name: str, value: Any, update: Callable[[np.ndarray, Any], None],
                  recorded: Callable[[], Tensor], index: Any = Ellipsis) -> Tensor:
        """Change the data (at `index`) in place and bump the version. While recording, when
        either side requires grad, the change joins the graph as PyTorch's does: `recorded()`
        computes the result as an op (out of place), its values are written in, and this
        tensor becomes that op's output. A leaf that requires grad, or a view, is refused
        instead: its own gradient, or the viewed tensor's graph, could not follow the change.
        The views of this tensor taken before keep the old graph: the change is noted on the
        shared version list, (the op's sequence number, the memory changed), so that an op
        given one of them refuses it (`function._check_view_is_current`)."""
        if _capture.recorder is not None:  # ag.compile is capturing a step
            return _capture.recorder.in_place(Tensor._in_place, self, name, value, update,
                                              recorded)
        if _mode.enabled and (self._requires_grad
                              or isinstance(value, Tensor) and value._requires_grad):
            if self._requires_grad and self.grad_fn is None:
                raise RuntimeError(
                    f"in-place {name} on a leaf tensor of shape {self.shape} that requires "
                    "grad: its gradient would be of the changed value. Wrap parameter updates "
                    "in `with no_grad():`, or use the out-of-place operator.")
            if self.data.base is not None:
                raise RuntimeError(
                    f"in-place {name} on a view of shape {self.shape} while recording: the "
                    "tensor it views would not see the change in its graph. Build the result "
                    "out of place (x = x + w, ag.where, ag.concatenate), or change the tensor "
                    "itself.")
            result = recorded()
            np.copyto(self.data, result.data, casting="unsafe")
            self._version[0] += 1
            if result.grad_fn is not None:  # for the views taken before: see the docstring
                _note_change(self._version, result.grad_fn.sequence_nr, self.data[index],
                             self.data)
            self.grad_fn, self._output_nr = result.grad_fn, result._output_nr
            self._requires_grad = result._requires_grad
            return self
        other = _unwrap(value)
        try:
            update(self.data, other)
        except (ValueError, TypeError) as error:
            message = (f"in-place {name}: {error} (tensor of shape {self.shape} {self.dtype}, "
                       f"value of shape {np.shape(other)} "
                       f"{getattr(other, 'dtype', type(other).__name__)})")
            try:
                named = type(error)(message)
            except Exception:  # a type whose constructor takes more (NumPy's UFuncTypeError)
                named = (ValueError if isinstance(error, ValueError) else TypeError)(message)
            raise named from None
        self._version[0] += 1
        return self

    def _old_values(self, other: Any) -> Tensor:
        """This tensor as the first operand of Mul or Div recorded for an in-place change: a
        copy of its values where the op keeps them (for `other`'s gradient), which the change
        would overwrite."""
        if isinstance(other, Tensor) and other._requires_grad:
            return ops.Clone.apply(self)
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place("+=", other, lambda a, b: np.add(a, b, out=a),
                              lambda: ops.Add.apply(self, other))

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place("-=", other, lambda a, b: np.subtract(a, b, out=a),
                              lambda: ops.Sub.apply(self, other))

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place("*=", other, lambda a, b: np.multiply(a, b, out=a),
                              lambda: ops.Mul.apply(self._old_values(other), other))

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place("/=", other, lambda a, b: np.divide(a, b, out=a),
                              lambda: ops.Div.apply(self._old_values(other), other))

    def __setitem__(self, index: Any, value: Any) -> None:
        index = ops.as_index(index)
        self._in_place("[]=", value, lambda a, b: a.__setitem__(index, b),
                       lambda: ops.SetItem.apply(self, index, value), index)

    # ---- elementwise --------------------------------------------------------------------
    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def clip(self, lo: Any = None, hi: Any = None) -> Tensor:
        return ops.Clip.apply(self, lo, hi)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        return ops.LeakyReLU.apply(self, negative_slope)

    def elu(self, alpha: float = 1.0) -> Tensor:
        return ops.ELU.apply(self, alpha)

    def astype(self, dtype: Any) -> Tensor:
        """The values in another dtype; gradients flow back cast to this tensor's dtype."""
        return ops.AsType.apply(self, np.dtype(dtype))

    # ---- reductions ----------------------------------------------------------------------
    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.Sum.apply(self, ops.as_axis(axis, self.ndim, "sum"), keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        axis = ops.as_axis(axis, self.ndim, "mean")
        return ops.Sum.apply(self, axis, keepdims) / ops.count(self.shape, axis)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.Max.apply(self, ops.as_axis(axis, self.ndim, "max"), keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.Min.apply(self, ops.as_axis(axis, self.ndim, "min"), keepdims)

    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Mean squared deviation from the mean, divided by n - ddof instead of n. With
        ddof >= n it is inf (NaN where there is no spread), its gradient -inf or inf (NaN where
        an element is the mean), as NumPy's and PyTorch's, with a RuntimeWarning."""
        return self._var(axis, keepdims, ddof, "var")

    def std(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """sqrt(var), with gradient 0 (not NaN) where there is no spread, as PyTorch's."""
        return ops.Std.apply(self._var(axis, keepdims, ddof, "std"))

    def _var(self, axis: Any, keepdims: bool, ddof: int, op: str) -> Tensor:
        """var, with `op` (var or std) named in its errors and its warning."""
        axis = ops.as_axis(axis, self.ndim, op)
        n = ops.count(self.shape, axis)
        if n > ddof:
            # Shifted by the mean rounded to the dtype, a constant, the values are exact, and
            # their own (small) mean corrects that rounding, which squared would lose the
            # digits of a variance far smaller than the mean; the function is the same.
            shifted = self - np.mean(data_of(self), axis=axis, keepdims=True)
            deviation = shifted - shifted.mean(axis, keepdims=True)
            return (deviation * deviation).sum(axis, keepdims) / (n - ddof)
        mean = self.mean(axis, keepdims=True)
        warnings.warn(f"{op}: ddof={ddof} leaves no degrees of freedom for {n} element(s): "
                      "the result is inf, or NaN where there is no spread", RuntimeWarning,
                      stacklevel=4)  # the caller of var (through torch_keywords)
        deviation = self - mean.detach()  # the mean's share of the gradient, 0, is inf * 0
        with np.errstate(divide="ignore", invalid="ignore"):
            return (deviation * deviation).sum(axis, keepdims) / 0

    def _minus_max(self, axis: Any, op: str) -> tuple[Tensor, np.ndarray, Any]:
        """(x - m, m, axis) with m = max(x) along axis taken as a constant (0 where it is not
        finite): the shifted values are exact near the max, so nothing overflows and
        nothing rounds at the logits' magnitude; the results do not depend on m."""
        if self.dtype.kind != "f":
            raise TypeError(f"{op}: needs a floating-point tensor; got dtype {self.dtype} "
                            f"(shape {self.shape}); convert it with astype first")
        axis = ops.as_axis(axis, self.ndim, op)
        shift = np.max(data_of(self), axis=axis, keepdims=True, initial=-np.inf)
        shift = np.where(np.isfinite(shift), shift, 0).astype(self.dtype)
        return self - shift, shift, axis

    def logsumexp(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """log(sum(exp(x))), computed as m + log(sum(exp(x - m))) with m = max(x), so that
        nothing overflows; the gradient is softmax(x)."""
        shifted, shift, axis = self._minus_max(axis, "logsumexp")
        out = shifted.exp().sum(axis, keepdims=True).log() + shift
        return out if keepdims else out.reshape(ops.reduced_shape(self.shape, axis))

    def softmax(self, axis: int = -1) -> Tensor:
        """exp(s) / sum(exp(s)) with s = x - max(x): exact to a few ulps for logits of any
        magnitude (equal logits give exactly 1/n)."""
        shifted, _, axis = self._minus_max(axis, "softmax")
        exps = shifted.exp()
        return exps / exps.sum(axis, keepdims=True)

    def log_softmax(self, axis: int = -1) -> Tensor:
        """s - log(sum(exp(s))) with s = x - max(x): exact to a few ulps for logits of any
        magnitude (equal logits give exactly -log n)."""
        shifted, _, axis = self._minus_max(axis, "log_softmax")
        return shifted - shifted.exp().sum(axis, keepdims=True).log()

    # ---- shape --------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape)

    def transpose(self, *axes: Any) -> Tensor:
        """Permute the axes (NumPy semantics: none given reverses them)."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return ops.Transpose.apply(self, tuple(axes) if axes else None)

    def squeeze(self, axis: Any = None) -> Tensor:
        axes = ops.as_axis(axis, self.ndim, "squeeze")
        for a in axes or ():
            if self.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} has size {self.shape[a]}, not 1 "
                                 f"(shape {self.shape})")
        return self.reshape(np.squeeze(self.data, axes).shape)

    def expand_dims(self, axis: Any) -> Tensor:
        added = len(axis) if isinstance(axis, (tuple, list)) else 1
        axes = ops.as_axis(axis, self.ndim + added, "expand_dims")
        return self.reshape(np.expand_dims(self.data, axes).shape)

    def broadcast_to(self, shape: Any) -> Tensor:
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        return ops.BroadcastTo.apply(self, shape)

    def flatten(self) -> Tensor:
        return self.reshape(-1)

    def matmul(self, other: Any) -> Tensor:
        return ops.MatMul.apply(self, other)


    # ---- PyTorch spellings ----------------------------------------------------------------
    # Accepted beside the NumPy names where they do not contradict them (API.md, "Coming from
    # PyTorch"); each is an alias or a small composition, and `dim=`/`keepdim=` are accepted
    # for every `axis=`/`keepdims=` by `ops.torch_keywords`, applied below the class.
    def view(self, *shape: Any) -> Tensor:
        return self.reshape(*shape)

    def unsqueeze(self, dim: int) -> Tensor:
        return self.expand_dims(dim)

    def permute(self, *dims: Any) -> Tensor:
        return self.transpose(*dims)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes (PyTorch's `transpose(a, b)`)."""
        axes = list(range(self.ndim))
        a, b = (ops.as_axis(axis, self.ndim, "swapaxes")[0] for axis in (axis1, axis2))
        axes[a], axes[b] = b, a
        return self.transpose(axes)

    def pow(self, exponent: Any) -> Tensor:
        return self ** exponent

    def square(self) -> Tensor:
        return self * self

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        return self.clip(min, max)

    def mm(self, other: Any) -> Tensor:
        """Matrix times matrix; `matmul` and `@` take any shapes."""
        if self.ndim != 2 or np.ndim(other) != 2:
            raise ValueError(f"mm: needs two 2-D tensors; got shapes {self.shape} and "
                             f"{np.shape(other)} (matmul or @ take 1-D and batched ones)")
        return self @ other

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.shape
        if not -self.ndim <= dim < self.ndim:
            raise np.exceptions.AxisError(f"size: dim {dim} is out of range for a tensor with "
                                          f"{self.ndim} dims")
        return self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def sin(self) -> Tensor:
        return ops.Sin.apply(self)

    def cos(self) -> Tensor:
        return ops.Cos.apply(self)

    def log1p(self) -> Tensor:
        return ops.Log1p.apply(self)

    def clone(self) -> Tensor:
        """A copy in its own memory, in the graph (gradients flow back to this tensor)."""
        return ops.Clone.apply(self)

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Index of the largest value along `axis` (of the flattened tensor when None)."""
        return self._index_of(np.argmax, axis, keepdims)

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return self._index_of(np.argmin, axis, keepdims)

    def _index_of(self, find: Callable, axis: int | None, keepdims: bool) -> Tensor:
        if axis is not None:  # an axis out of range raises, naming find (0-d: 0 and -1 pass)
            ops.as_axis(axis, self.ndim, find.__name__)
        return Tensor._make(np.asanyarray(find(data_of(self), axis, keepdims=keepdims)),
                            False, None, 0)

    def norm(self, ord: Any = 2, axis: Any = None, keepdims: bool = False) -> Tensor:
        """The vector norm (sum |x|^ord)^(1/ord) over `axis`, all elements when None (as
        PyTorch's `norm()`; "fro" is 2); ord=inf and -inf give max |x| and min |x|."""
        if ord == np.inf or ord == -np.inf:
            return self.abs().max(axis, keepdims) if ord > 0 else self.abs().min(axis, keepdims)
        ord = 2 if ord == "fro" else ord
        if not isinstance(ord, (int, float)) or ord <= 0:
            raise ValueError(f"norm: ord must be a positive number, inf, -inf or 'fro'; got "
                             f"{ord!r}")
        if ord == 2:
            total = (self * self).sum(axis, keepdims)
        else:
            magnitude = self.abs()
            if ord < 1:  # |x| ** ord's slope is infinite at 0: taken at 1 there and dropped,
                nonzero = magnitude.data != 0  # so no 0 * inf reaches any derivative
                powered = ops.where(nonzero, ops.where(nonzero, magnitude, 1) ** ord, 0)
            else:
                powered = magnitude ** ord
            total = powered.sum(axis, keepdims)
        # the root's slope is infinite at 0: PyTorch's gradient is 0 (these masks test != 0, so
        nonzero = total.data != 0  # that a NaN stays NaN, which > 0 would turn into a norm of 0)
        return ops.where(nonzero, total, 1) ** (1 / ord) * nonzero

    def to(self, *args: Any, device: Any = None, dtype: Any = None) -> Tensor:
        """`to("cpu")`, `to(dtype)`, `to(other)` (its dtype), `to("cpu", dtype)`: the device is
        always the CPU, so only the dtype can change; unchanged, `self` comes back."""
        for arg in args:
            if isinstance(arg, str):
                device = arg
            else:
                dtype = arg.dtype if isinstance(arg, Tensor) else arg
        ops.check_device(device, "to")
        if dtype is None or np.dtype(dtype) == self.dtype:
            return self
        return self.astype(dtype)

    @property
    def device(self) -> str:
        """Always "cpu", the one device the engine computes on (for `device=x.device`)."""
        return "cpu"

    def cpu(self) -> Tensor:
        return self

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def int(self) -> Tensor:
        return self.to(np.int32)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    def t(self) -> Tensor:
        """A matrix transposed (a vector or a number as it is), as PyTorch's `t()`."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor of at most 2 dims, got shape {self.shape} "
                             "(swapaxes or transpose take more)")
        return self.T

    def expand(self, *sizes: Any) -> Tensor:
        """PyTorch's `broadcast_to`, in which a size of -1 keeps that axis's size."""
        sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) \
            else sizes
        lead = len(sizes) - self.ndim
        return self.broadcast_to(tuple(self.shape[i - lead] if size == -1 and i >= lead
                                       else size for i, size in enumerate(sizes)))

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """`value` where `mask` is true, this tensor elsewhere (ag.where(mask, value, self))."""
        if not isinstance(value, Tensor):
            value = Tensor(value, dtype=self.dtype)  # a number keeps this tensor's dtype
        return ops.where(mask, value, self)

    def contiguous(self) -> Tensor:
        """The tensor itself: the engine's operations take any memory layout."""
        return self

    def zero_(self) -> Tensor:
        return self._in_place("zero_", 0, lambda a, _: a.fill(0),
                              lambda: ops.SetItem.apply(self, Ellipsis, 0))

    def fill_(self, value: Any) -> Tensor:
        return self._in_place("fill_", value, lambda a, v: a.fill(v),
                              lambda: ops.SetItem.apply(self, Ellipsis, value))

    def copy_(self, src: Any) -> Tensor:
        """Copy `src`'s values in, broadcast to this shape and cast to this dtype."""
        return self._in_place("copy_", src, lambda a, v: np.copyto(a, v, casting="unsafe"),
                              lambda: ops.SetItem.apply(self, Ellipsis, src))

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __format__(self, spec: str) -> str:
        """`f"{loss:.4f}"` formats a one-element tensor's value; no spec gives `str(t)`."""
        return format(self._scalar("format"), spec) if spec else str(self)

    def _scalar(self, where: str) -> Any:
        if _capture.recorder is not None:  # ag.compile: a value leaving the tape
            _capture.recorder.escape(f"{where}()", self)
        if self.data.size != 1:
            raise TypeError(f"{where}: only a one-element tensor converts to a Python number; "
                            f"this one has shape {self.shape}")
        return self.data.item()
    # ---- end of PyTorch spellings ---------------------------------------------------------


# These need Tensor; the methods above look them up when called.
from . import numpy_functions, ops  # noqa: E402
from .ops.arguments import torch_keywords  # noqa: E402

for _name, _method in list(vars(Tensor).items()):  # dim=/keepdim= beside every axis=/keepdims=
    if callable(_method) and not _name.startswith("_"):
        setattr(Tensor, _name, torch_keywords(_method))
del _name, _method

