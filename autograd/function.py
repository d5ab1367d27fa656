"""How an operation is recorded: `Function` (forward and VJP side by side) and `Node` (its ctx).

Every operation, built-in or user-defined, is a `Function` subclass run through `apply`. When
an input requires grad, `apply` records a `Node`, which is also the `ctx` that `forward` saves
values on and `backward` reads them from. One mechanism, two calling conventions:

- `Function`, for users (PyTorch's semantics): `forward` and `backward` receive tensors and
  return tensors. `forward` runs with grad mode off. In `backward` the saved tensors and the
  gradients are tensors: recorded under `create_graph=True` (so a backward written with tensor
  operations can be differentiated again), plain otherwise.
- `Primitive`, for the built-in ops in `autograd/ops`: `forward` receives the inputs' NumPy
  arrays; `backward` receives arrays in an ordinary backward (nothing is recorded, so no
  tensor bookkeeping is paid for) and tensors under `create_graph`.

Everything a backward reads from its forward goes through one checked channel,
`ctx.save_for_backward(*values)`: a saved input or output is kept as a reference with its
version (changed in place afterwards, backward raises naming the op); any other array that
could change behind the node's back (an argument's, or a view of one) is snapshotted; other
values are kept as they are. Plain ctx attributes are for constants (axis, slope, shapes).
"""

from __future__ import annotations

from itertools import count
from typing import Any

import numpy as np

from .compile import _capture, _Traced  # ag.compile's hooks, and its arrays
from .grad_mode import _mode
from .tensor import Tensor


class _SavedOutput:
    """A saved output of the node itself, kept without a reference to the output tensor
    (which would make a node -> tensor -> node cycle)."""

    __slots__ = ("data", "output_nr", "_version")  # made by _saved_output


class Node:
    """One recorded operation: the edges to its inputs, what it saved, hooks on its outputs.

    `edges[i]` says where the gradient of input i goes: None (no gradient wanted), or
    (the `Node` that produced the input or the leaf tensor itself, output index, shape, dtype).
    `sequence_nr` counts the nodes made: a node's inputs were made before it, so running the
    latest-made node first is a topological order. `needs_input_grad[i]` is whether edge i is
    set. What `save_for_backward` kept is in `_saved`, as a `Primitive`'s ordinary backward
    receives it (arrays), and `_checks`: (position, reference, version) for each saved input or
    output, the reference being the input tensor or a `_SavedOutput`. Both are None once a
    backward without retain_graph released them. `_general` is False for the usual node,
    which the engine runs inline: a `Primitive` of one output with no hooks and no retained
    gradient (setting any of those sets it). `Function.apply` makes nodes.
    """

    __slots__ = ("fn", "edges", "needs_input_grad", "sequence_nr", "_saved", "_checks",
                 "_general", "__weakref__", "__dict__")
    # Rarely set, so class-level defaults (an instance sets its own in its __dict__):
    outputs_meta: tuple = ()  # (shape, dtype) of each output, if there are several
    hooks: dict[int, list] | None = None  # output index -> gradient hooks
    retained: dict[int, Any] | None = None  # output index -> weakref to the tensor

    @property
    def name(self) -> str:
        return self.fn.__name__.lstrip("_")  # a private Function still reads as its op

    @property
    def freed(self) -> bool:
        """Whether a backward without retain_graph released the saved values."""
        return self._checks is None

    def __repr__(self) -> str:
        return f"<{self.name}>"

    def save_for_backward(self, *values: Any) -> None:
        """Keep values for `backward`, checked: inputs and outputs by reference with their
        version, other arrays that the caller could still change as snapshots."""
        self._saved = values

    @property
    def saved_tensors(self) -> tuple:
        """The saved values, each checked against its version. For a `Primitive`, arrays in
        an ordinary backward; otherwise tensors (recorded under create_graph)."""
        checks = self._checks
        if checks is None:
            raise RuntimeError(
                f"{self.name}: trying to backward through the graph a second time; its saved "
                "values were freed after the first backward. Pass retain_graph=True to the "
                "first backward() to keep them.")
        for _, reference, version in checks:
            if reference._version[0] != version:
                raise _modified(self, reference, version)
        if self.fn._takes_arrays and not _mode.enabled:
            return self._saved
        recording = _mode.enabled
        values = list(self._saved)
        for k, reference, _ in checks:
            if type(reference) is _SavedOutput:
                output = Tensor._make(reference.data, recording, self if recording else None,
                                      reference.output_nr if recording else 0)
                output._version = reference._version
                reference = output
            elif not recording and (reference._requires_grad or reference.grad_fn is not None):
                reference = reference.detach()  # a plain backward: nothing may be recorded
            values[k] = reference
        return tuple(values)


def _modified(node: Node, value: Any, version: int) -> RuntimeError:
    return RuntimeError(
        f"{node.name}: an array of shape {value.data.shape} that it saved for backward was "
        f"modified in place afterwards (version {value._version[0]}, saved at version "
        f"{version}); the gradient would be wrong. Change a copy instead, or recompute the "
        "forward.")


_sequence = count()  # next() on it is atomic: nodes made in several threads get distinct numbers


class _Unrecorded:
    """The ctx of a call that records nothing: saving is a no-op."""

    __slots__ = ("needs_input_grad", "__dict__")

    def save_for_backward(self, *values: Any) -> None:
        pass


class Function:
    """An operation with its vector-Jacobian product side by side (PyTorch's semantics).

    Subclass it with two static methods and call `MyOp.apply(*args)`:
      forward(ctx, *args)           tensors in, a tensor (or a tuple of tensors) out, run with
                                    grad mode off; `ctx.save_for_backward(*tensors)` what the
                                    VJP needs, `ctx.needs_input_grad` says which inputs want a
                                    gradient.
      backward(ctx, *grad_outputs)  tensors in (`ctx.saved_tensors` and the gradients), one
                                    gradient per forward argument out (None where there is
                                    none), shaped like the input or broadcastable to it: the
                                    engine sums broadcast axes back. Under create_graph it is
                                    recorded, so write it with tensor operations to get higher
                                    derivatives.
    Called with no tensor among its arguments, `apply` runs `forward` on them as they are.
    """

    _takes_arrays = False  # `Primitive` sets it: forward gets arrays, backward arrays or tensors

    @staticmethod
    def forward(ctx: Any, *args: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Node, *grad_outputs: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any) -> Any:
        if _capture.recorder is not None:  # ag.compile is capturing a step
            return _capture.recorder.apply(cls, args)
        recording = _mode.enabled
        primitive = cls._takes_arrays
        arrays = list(args)
        tensor_given = False
        node = None
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                tensor_given = True
                arrays[i] = data = a.data
                if recording:
                    if len(a._version) > 1:  # its memory was changed in place while recording
                        _check_view_is_current(a, cls.__name__)
                    if a._requires_grad:
                        if node is None:
                            node = _new_node(Node)
                            node.fn, node.sequence_nr = cls, next(_sequence)
                            node._saved = node._checks = ()
                            node._general = not primitive
                            edges = node.edges = [None] * len(args)
                        edges[i] = (a.grad_fn or a, a._output_nr, data.shape, data.dtype)
        if node is not None:
            node.needs_input_grad = tuple(map(bool, edges))
            ctx = node
        else:
            ctx = _new_node(_Unrecorded)
            ctx.needs_input_grad = (False,) * len(args)
        try:
            if primitive or not tensor_given:
                result = cls.forward(ctx, *arrays)
            else:
                _mode.enabled = False
                try:
                    result = cls.forward(ctx, *args)
                finally:
                    _mode.enabled = recording
        except Exception as error:
            raise _named(error, cls.__name__, args) from None
        if not tensor_given:
            return result  # plain values in, plain values out
        if (type(result) is np.ndarray or type(result) is _Traced) and primitive \
                and result.base is None:  # a primitive's fresh result: _wrap's usual case, inline
            output = _new_tensor(Tensor)
            output.data, output._version = result, [0]
            output._grad = output._hooks = None
            if node is None or result.dtype.kind != "f":
                output._requires_grad, output.grad_fn, output._output_nr = False, None, 0
            else:
                output._requires_grad, output.grad_fn, output._output_nr = True, node, 0
        elif type(result) is tuple:
            outputs = tuple([_wrap(r, node, i, args, arrays, primitive)
                             for i, r in enumerate(result)])
            if node is not None:
                node.outputs_meta = tuple([(o.data.shape, o.data.dtype) for o in outputs])
                node._general = True
                if node._saved:
                    _check_saved(node, args, arrays, result, outputs)
            return outputs
        else:
            output = _wrap(result, node, 0, args, arrays, primitive)
        if node is not None and node._saved:
            _check_saved(node, args, arrays, (result,), (output,))
        return output


class Primitive(Function):
    """A built-in op: `forward` computes on the inputs' NumPy arrays; `backward` gets arrays in
    an ordinary backward and tensors under create_graph, so a rule is written with what both
    share (operators, `reshape`, `transpose`, `sum(axis=, keepdims=)`, indexing, `apply`)."""

    _takes_arrays = True


def _check_view_is_current(t: Tensor, op: str) -> None:
    """Raise if `t` is a view of memory that an in-place op changed, while recording, after
    the view was taken: its values are the new ones, its graph leads to the old ones (PyTorch
    rebuilds such a view's graph; here it is taken again). A view outside the graph (of a
    tensor that did not require grad then) would pass for a constant and lose the change's
    gradient; one taken by an op notes when, one made otherwise (detach()) is a constant on
    purpose."""
    if t.data.base is None:  # the changed tensor itself (or an alias of all of its memory)
        return
    taken = getattr(t, "_taken", None) if t.grad_fn is None else t.grad_fn.sequence_nr
    if taken is None:
        return
    changes = t._version
    for k in range(len(changes) - 1, 0, -1):  # the latest change first
        changed_at, memory = changes[k]
        if changed_at < taken:
            return
        if np.shares_memory(t.data, memory):
            raise RuntimeError(
                f"{op}: an input of shape {t.shape} views a tensor changed in place (while "
                "recording) after the view was taken; the view's values are the new ones but "
                "its graph leads to the old ones, so its gradient would be wrong. Take the "
                "view again after the change.")


def _named(error: Exception, op: str, args: tuple) -> Exception:
    """The error raised in a forward, of the same type, its message prefixed with the op and
    the shapes and dtypes of its operands."""
    message = str(error)
    if message.startswith(op + ":") or not isinstance(error, (ValueError, TypeError)):
        return error
    operands = ", ".join(f"Tensor{a.shape} {a.dtype}" if isinstance(a, Tensor)
                         else f"array{a.shape} {a.dtype}" if isinstance(a, np.ndarray)
                         else repr(a)[:40] for a in args)
    message = f"{op}: {message} (operands: {operands})"
    try:
        return type(error)(message)
    except Exception:  # a type whose constructor takes other arguments (NumPy's UFuncTypeError)
        return (TypeError if isinstance(error, TypeError) else ValueError)(message)


def _wrap(value: Any, node: Node | None, output_nr: int, args: tuple, arrays: list,
          primitive: bool) -> Tensor:
    """One result of a forward as an output tensor. A result that shares an input's memory
    (a view, or the input itself) shares its version counter, so that a change through either
    is seen by both. A primitive never returns an input itself, so a result of its that is no
    view is fresh."""
    if type(value) is not np.ndarray:
        value = value.data if isinstance(value, Tensor) else np.asanyarray(value)  # ag.compile
    output = _new_tensor(Tensor)
    output.data = value
    output._grad = output._hooks = None
    if node is None or value.dtype.kind != "f":  # integer and boolean results have no gradient
        output._requires_grad, output.grad_fn, output._output_nr = False, None, 0
    else:
        output._requires_grad, output.grad_fn, output._output_nr = True, node, output_nr
    base = value.base
    if base is None and primitive:
        output._version = [0]  # a primitive's fresh result
        return output
    for a, array in zip(args, arrays):
        if (array is value or base is not None and (
                base is array or base is getattr(array, "base", None))) \
                and isinstance(a, Tensor):  # getattr: an axis or shape may come first
            output._version = a._version
            if output.grad_fn is None:  # a view outside the graph: when it was taken
                output._taken = next(_sequence)  # (_check_view_is_current)
            return output
    output._version = [0]
    return output


_new_tensor = _new_node = object.__new__


def _check_saved(node: Node, args: tuple, arrays: list, results: tuple,
                 outputs: tuple[Tensor, ...]) -> None:
    """Check in what forward saved: inputs and outputs become references with their versions
    noted (the first unclaimed input, so that in x * y with y sharing x's data each keeps its
    own); arrays the caller still holds (a non-tensor argument, or a view of an argument)
    become snapshots. `_saved` is rebuilt only where a value changed."""
    saved = node._saved
    kept, checks, claimed = None, [], 0  # claimed: a bit for each input taken
    n = len(arrays)
    primitive = node.fn._takes_arrays
    for k, value in enumerate(saved):
        if value is None:
            continue
        if k < n and value is arrays[k] and value is not args[k]:
            # Input k saved k-th, the usual order (a tensor's array: not the argument itself).
            claimed |= 1 << k
            checks.append((k, args[k], args[k]._version[0]))
            continue
        if value is results[0] and primitive:  # a primitive's output (fresh)
            data, reference = outputs[0].data, _saved_output(outputs[0], 0)
        elif type(value) is np.ndarray or isinstance(value, (np.ndarray, Tensor)):
            data, reference, claimed = _reference(value, args, arrays, results, outputs,
                                                  claimed)
        else:
            continue
        if reference is not None:
            checks.append((k, reference, reference._version[0]))
        if data is not value:
            kept = kept or list(saved)
            kept[k] = data
    node._checks = checks
    if kept is not None:
        node._saved = tuple(kept)


def _saved_output(output: Tensor, output_nr: int) -> _SavedOutput:
    saved = _new_node(_SavedOutput)
    saved.data, saved.output_nr, saved._version = output.data, output_nr, output._version
    return saved


def _reference(value: Any, args: tuple, arrays: list, results: tuple, outputs: tuple,
               claimed: int) -> tuple[Any, Any, int]:
    """A saved array or tensor as (what a Primitive's backward gets, the input tensor or
    `_SavedOutput` checked against its version or None, the claimed inputs)."""
    for i, array in enumerate(arrays):
        if (value is array or value is args[i]) and not claimed >> i & 1 \
                and isinstance(args[i], Tensor):
            return args[i].data, args[i], claimed | 1 << i
    for i, result in enumerate(results):
        if value is result:
            return outputs[i].data, _saved_output(outputs[i], i), claimed
    if isinstance(value, Tensor):  # a tensor made in forward keeps its version
        return value.data, value, claimed
    # An array is snapshotted if the caller can still change it (it is, or views, an
    # argument's memory), and kept as it is if forward made it.
    base = value if value.base is None else value.base
    for array in arrays:
        if isinstance(array, np.ndarray) and (array is base or array.base is base
                                              or array is value):  # ag.compile: traced too
            return value.copy(), None, claimed
    return value, None, claimed
