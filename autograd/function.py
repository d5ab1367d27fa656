"""How an operation is recorded: `Function` (forward and VJP side by side) and `Node` (its ctx).

Every operation, built-in or user-defined, is a `Function` subclass run through `apply`.
`forward` computes with NumPy: tensors arrive as their arrays. When an input requires grad,
`apply` records a `Node`, which is also the `ctx` that `forward` saves values on and
`backward` reads them from.

`backward` sees one kind of value throughout: NumPy arrays in an ordinary backward pass
(nothing is recorded there, so no tensor bookkeeping is paid for), tensors under
`create_graph=True` (so the VJP itself is recorded and can be differentiated again). Rules
are written with what both kinds share: operators, `reshape`, `transpose`, `sum`, `astype`,
indexing, and `Function.apply`, which returns arrays for arrays and tensors for tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .grad_mode import _mode
from .tensor import Tensor


class _SavedOutput:
    """A saved output of the node itself, kept without a reference to the output tensor
    (which would make a node -> tensor -> node cycle)."""

    __slots__ = ("data", "output_nr", "_version")

    def __init__(self, output: Tensor, output_nr: int):
        self.data, self.output_nr, self._version = output.data, output_nr, output._version


class Node:
    """One recorded operation: the edges to its inputs, what it saved, hooks on its outputs.

    `edges[i]` says where the gradient of input i goes: None (no gradient wanted), or
    (the `Node` that produced the input, its output index), or (a leaf tensor, 0).
    """

    __slots__ = ("fn", "edges", "needs_input_grad", "_saved", "_versions", "__weakref__",
                 "__dict__")
    # Rarely set, so class-level defaults (an instance sets its own in its __dict__):
    outputs_meta: tuple = ()  # (shape, dtype) of each output, if there are several
    hooks: dict[int, list] | None = None  # output index -> gradient hooks
    retained: dict[int, Any] | None = None  # output index -> weakref to the tensor
    _freed = False  # set after a backward without retain_graph released the saved values

    def __init__(self, fn: type[Function], needs_input_grad: tuple[bool, ...]):
        self.fn = fn
        self.needs_input_grad = needs_input_grad
        self.edges: list = []  # set by `_connect` once the outputs exist
        self._saved: tuple = ()
        self._versions: list = []

    @property
    def name(self) -> str:
        return self.fn.__name__.lstrip("_")  # a private Function still reads as its op

    def __repr__(self) -> str:
        return f"<{self.name}>"

    def save_for_backward(self, *values: Any) -> None:
        """Keep values for `backward`: the forward's input arrays come back as the input
        tensors (an input changed in place afterwards makes backward raise), its result as
        the output, anything else as it is."""
        self._saved = values

    @property
    def saved_tensors(self) -> tuple:
        """The saved values: arrays in an ordinary backward, tensors under create_graph."""
        if self._freed:
            raise RuntimeError(
                f"{self.name}: trying to backward through the graph a second time; its saved "
                "values were freed after the first backward. Pass retain_graph=True to the "
                "first backward() to keep them.")
        as_tensors = _mode.enabled
        values = []
        for value, version in zip(self._saved, self._versions):
            if version is not None:  # a reference to a tensor: check it, then unwrap it
                if value._version[0] != version:
                    raise RuntimeError(
                        f"{self.name}: an array of shape {value.data.shape} that it saved for "
                        f"backward was modified in place afterwards (version "
                        f"{value._version[0]}, saved at version {version}); the gradient would "
                        "be wrong. Change a copy instead, or recompute the forward.")
                if not as_tensors:
                    value = value.data
                elif isinstance(value, _SavedOutput):
                    value = Tensor._make(value.data, True, self, value.output_nr)
            values.append(value)
        return tuple(values)

    def free(self) -> None:
        """Release what was saved (after a backward without retain_graph)."""
        self._saved, self._versions = (), []
        self._freed = True


class _Unrecorded:
    """The ctx of a call that records nothing: saving is a no-op."""

    def __init__(self, needs_input_grad: tuple[bool, ...]):
        self.needs_input_grad = needs_input_grad

    def save_for_backward(self, *values: Any) -> None:
        pass


class Function:
    """An operation with its vector-Jacobian product side by side.

    Subclass it with two static methods and call `MyOp.apply(*args)`:
      forward(ctx, *args)           NumPy in (tensors arrive as arrays), NumPy out (an array or
                                    a tuple of arrays); `ctx.save_for_backward(...)` what the
                                    VJP needs.
      backward(ctx, *grad_outputs)  one gradient per forward argument (None where there is
                                    none), shaped like the output; the engine sums broadcast
                                    axes back to each input's shape.
    `apply` returns tensors when any argument is a tensor, plain arrays otherwise.
    """

    @staticmethod
    def forward(ctx: Any, *args: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Node, *grad_outputs: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any) -> Any:
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        needs = tuple([isinstance(a, Tensor) and a._requires_grad for a in args])
        node = Node(cls, needs) if True in needs and _mode.enabled else None
        try:
            result = cls.forward(node or _Unrecorded((False,) * len(args)), *arrays)
        except (ValueError, TypeError) as error:
            raise _named(error, cls.__name__, args) from None
        if node is None and not any([isinstance(a, Tensor) for a in args]):
            return result  # plain arrays in, plain arrays out
        several = type(result) is tuple
        outputs = tuple([_wrap(r, node, i, args) for i, r in enumerate(result)]) if several \
            else (_wrap(result, node, 0, args),)
        if node is not None:
            _connect(node, args, arrays, outputs)
        return outputs if several else outputs[0]


def _named(error: Exception, op: str, args: tuple) -> Exception:
    """NumPy's error, prefixed with the op and the shapes and dtypes of its operands."""
    if str(error).startswith(op + ":"):
        return error
    operands = ", ".join(f"Tensor{a.shape} {a.dtype}" if isinstance(a, Tensor)
                         else f"array{a.shape} {a.dtype}" if isinstance(a, np.ndarray)
                         else repr(a)[:40] for a in args)
    kind = ValueError if isinstance(error, ValueError) else TypeError
    return kind(f"{op}: {error} (operands: {operands})")


def _wrap(value: Any, node: Node | None, output_nr: int, args: tuple) -> Tensor:
    """One result of a forward as an output tensor. A result that is a view of the first
    input's memory (reshape, transpose, basic indexing, ...) shares its version counter, so
    that a change through either is seen by both."""
    if type(value) is not np.ndarray:
        value = value.data if isinstance(value, Tensor) else np.asarray(value)
    if node is None or value.dtype.kind != "f":  # integer and boolean results have no gradient
        output = Tensor._make(value, False, None, output_nr)
    else:
        output = Tensor._make(value, True, node, output_nr)
    if value.base is not None and args and isinstance(args[0], Tensor):
        first = args[0].data
        if value.base is (first if first.base is None else first.base):
            output._version = args[0]._version
    return output


def _connect(node: Node, args: tuple, arrays: list, outputs: tuple[Tensor, ...]) -> None:
    """Record an edge to each input that needs a gradient: (producer node or leaf, output
    index, shape, dtype). Saved arrays that are an input's or an output's data become
    references to that tensor (the first unclaimed input, so that in x * y with y sharing x's
    data each keeps its own), with the tensor's version noted."""
    edges = []
    for a, need in zip(args, node.needs_input_grad):
        edges.append((a.grad_fn or a, a._output_nr, a.data.shape, a.data.dtype) if need else None)
    node.edges = edges
    if len(outputs) > 1:
        node.outputs_meta = tuple([(o.data.shape, o.data.dtype) for o in outputs])
    if not node._saved:
        return
    references, versions, claimed = [], [], set()
    for value in node._saved:
        version = None
        if type(value) is np.ndarray:
            for i, array in enumerate(arrays):
                if array is value and i not in claimed and isinstance(args[i], Tensor):
                    claimed.add(i)
                    value = args[i]
                    version = value._version[0]
                    break
            else:
                for i, out in enumerate(outputs):
                    if out.data is value:
                        value = _SavedOutput(out, i)
                        version = out._version[0]  # a view's counter is its base's
                        break
        references.append(value)
        versions.append(version)
    node._saved, node._versions = references, versions
