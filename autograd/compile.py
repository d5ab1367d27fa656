"""`ag.compile(fn)`: run a step once eagerly while recording every array operation it makes
into a tape, then replay the tape on later calls with the same input shapes and dtypes.

A tape entry is one of: a primitive's forward (`Function.apply`), a backward rule, the
engine's gradient sums (broadcast axes, several consumers) and its `.grad` writes, an in-place
tensor update (BatchNorm's running statistics), or a call marked `@replayed` (the optimizer's
`step` and `zero_grad`, a schedule's `step`, random draws), which the replay simply calls again.
The arrays made during the capture stay the tape's buffers: a replay recomputes each one in
place (ufuncs with `out=`, BLAS, the Numba kernels), in the eager order, so it builds no
tensors or nodes and gets the eager values bit for bit. Each fast rule is run once at capture
and compared bit for bit with the eager result; an op without one, or whose rule disagrees,
is replayed by calling its `Function` again on the buffers ("generic" in the listing).
"""

from __future__ import annotations

import copy
import functools
import heapq
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from .grad_mode import _mode, set_grad_enabled

__all__ = ["compile", "replayed", "CompileError", "Compiled", "Tape"]


class CompileError(RuntimeError):
    """A step does something a tape cannot replay (raised at capture), or, under
    `check=True`, a replay that differs from the eager run."""


class _Capture(threading.local):
    recorder: _Recorder | None = None  # set while a step is being captured in this thread


_capture = _Capture()
_PACKAGES = tuple(os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep + name
                  + os.sep for name in ("autograd", "nn", "optim"))


def replayed(fn: Callable) -> Callable:
    """Mark a function whose whole call a tape records and replays by calling it again: code
    that works on persistent NumPy state (optimizer updates) or draws random numbers."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        recorder = _capture.recorder
        if recorder is None:
            return fn(*args, **kwargs)
        return recorder.call(fn, args, kwargs)
    return wrapper


# ---- small helpers --------------------------------------------------------------------------
@functools.cache
def _tensor() -> type:
    from .tensor import Tensor  # imported late: tensor.py imports this module
    return Tensor


@functools.cache
def _node() -> type:
    from .function import Node
    return Node


def _unwrapped(value: Any) -> Any:
    return value.data if isinstance(value, _tensor()) else value


def _user_line() -> str:
    """file:line of the innermost frame outside autograd, nn and optim."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGES):
        frame = frame.f_back
    return "?" if frame is None else f"{os.path.basename(frame.f_code.co_filename)}:" \
                                      f"{frame.f_lineno}"


def _same(a: Any, b: Any) -> bool:
    """Equal bit for bit (NaNs and signed zeros included)."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray:
        return a is b or (a is not None and b is not None and np.array_equal(a, b))
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _is_view(result: Any, array: Any) -> bool:
    """True if `result` is `array` or a view of the same memory."""
    if not isinstance(result, np.ndarray) or not isinstance(array, np.ndarray):
        return False
    owner = array if array.base is None else array.base
    return result is array or result.base is owner or result.base is array


def _address(a: np.ndarray) -> tuple:
    return a.__array_interface__["data"][0], a.shape, a.strides


def _storer(buffer: np.ndarray) -> Callable[[Any], None]:
    """Write a generic replay's result into its buffer (nothing to do for a view of it)."""
    where = _address(buffer)

    def store(value: Any) -> None:
        value = _unwrapped(value)
        if value is not buffer and not (isinstance(value, np.ndarray)
                                        and _address(value) == where):
            np.copyto(buffer, value)
    return store


def _sequence(steps: list) -> Callable | None:
    steps = [s for s in steps if s is not None]
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]

    def run() -> None:
        for step in steps:
            step()
    return run


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.shape} {value.dtype}"
    return repr(value)[:30]


# ---- tape ---------------------------------------------------------------------------------
class _Entry:
    __slots__ = ("kind", "name", "inputs", "outputs", "run", "fast", "where")

    def __init__(self, kind: str, name: str, inputs: list, outputs: list, where: str):
        self.kind, self.name, self.inputs, self.outputs = kind, name, inputs, outputs
        self.run: Callable | None = None
        self.fast = True
        self.where = where

    def signature(self) -> tuple:
        return (self.kind, self.name, tuple(_describe(a) for a in self.inputs),
                tuple(_describe(a) for a in self.outputs))


class Tape:
    """The recorded operations of one step, for one signature of input shapes and dtypes.
    `print(tape)` lists them: kind, op, operands and results (buffer names and shapes)."""

    def __init__(self, recorder: _Recorder, inputs: list, output: Callable):
        self.entries: list[_Entry] = recorder.entries
        self._runs = [e.run for e in self.entries if e.run is not None]
        self._inputs = inputs  # (position or keyword, buffer)
        self._persistent = list(recorder.persistent.values())
        self._output = output
        self._objects = recorder.objects
        self.leaves = list(recorder.leaf_tensors)

    def valid(self) -> bool:
        """False once a tensor the tape reads has been given a new array (`t.data = ...`)."""
        for tensor, array in self._persistent:
            if tensor.data is not array:
                return False
        return True

    def replay(self, args: tuple, kwargs: dict) -> Any:
        for where, buffer in self._inputs:
            value = args[where] if type(where) is int else kwargs[where]
            np.copyto(buffer, _unwrapped(value))
        for run in self._runs:
            run()
        return self._output()

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        names: dict[int, str] = {}
        for where, buffer in self._inputs:
            names[id(buffer)] = f"in[{where}]"
        for i, (_, array) in enumerate(self._persistent):
            names.setdefault(id(array), f"p{i}")

        def name(value: Any) -> str:
            if not isinstance(value, np.ndarray):
                return repr(value)[:24]
            key = id(value) if id(value) in names or value.base is None else id(value.base)
            label = names.setdefault(key, f"b{len(names)}")
            return f"{label}{list(value.shape)}"

        fast = sum(e.fast for e in self.entries)
        lines = [f"Tape: {len(self.entries)} operations ({fast} fast, "
                 f"{len(self.entries) - fast} generic), {len(self._inputs)} inputs"]
        for i, e in enumerate(self.entries):
            operands = ", ".join(name(a) for a in e.inputs)
            results = ", ".join(name(a) for a in e.outputs if a is not None) or "-"
            mark = "" if e.fast else "  (generic)"
            lines.append(f"{i:4d}  {e.kind:<9}{e.name:<16}{operands} -> {results}"
                         f"   {e.where}{mark}")
        return "\n".join(lines)


# ---- the recorder -----------------------------------------------------------------------------
class _Recorder:
    """Called by the hooks in function.py, engine.py, tensor.py while a step is captured.
    Each hook's real work runs with the recorder switched off, then is recorded."""

    def __init__(self):
        self.entries: list[_Entry] = []
        self.arrays: dict[int, np.ndarray] = {}  # what the tape computes or binds, by id
        self.persistent: dict[int, tuple] = {}  # tensors read that the tape did not make
        self.forwards: dict[Any, tuple] = {}  # node -> (forward entry, args, state, generic)
        self.leaf_tensors: dict = {}  # leaf -> the .grad tensor its replay writes
        self.objects: dict[int, Any] = {}  # objects whose methods are replayed (optimizers)
        self.where: str | None = None  # the line of the backward() call, during it

    def _unrecorded(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        _capture.recorder = None
        try:
            return fn(*args, **kwargs)
        finally:
            _capture.recorder = self

    def _known(self, array: Any) -> bool:
        return isinstance(array, np.ndarray) and (
            id(array) in self.arrays or (array.base is not None and id(array.base) in self.arrays))

    def _register(self, arrays: list) -> None:
        for a in arrays:
            if isinstance(a, np.ndarray):
                self.arrays[id(a)] = a

    def _add(self, kind: str, name: str, inputs: list, outputs: list, fast: Any,
             generic: Callable[[], Callable | None], where: str | None = None) -> _Entry:
        """Record an entry: `fast` is a closure recomputing `outputs` in place, None when
        they are views needing no work, NotImplemented when there is no fast rule. A fast
        closure is run once here and must give the eager values bit for bit."""
        entry = _Entry(kind, name, inputs, outputs, where or self.where or _user_line())
        if fast is not None and (fast is NotImplemented or not self._agrees(fast, outputs)):
            entry.fast, fast = False, generic()
        entry.run = fast
        self.entries.append(entry)
        self._register(outputs)
        return entry

    @staticmethod
    def _agrees(run: Callable, outputs: list) -> bool:
        eager = [o.copy() if isinstance(o, np.ndarray) else None for o in outputs]
        try:
            run()
        except Exception:  # a rule that does not apply here: replay generically
            agrees = False
        else:
            agrees = all(e is None or _same(o, e) for o, e in zip(outputs, eager))
        if not agrees:
            for o, e in zip(outputs, eager):
                if e is not None and o.flags.writeable:
                    np.copyto(o, e)
        return agrees

    def _note_tensors(self, args: Any) -> None:
        Tensor = _tensor()
        for a in args:
            if isinstance(a, Tensor) and not self._known(a.data) and id(a) not in self.persistent:
                self.persistent[id(a)] = (a, a.data)

    # ---- hooks -------------------------------------------------------------------------
    def apply(self, cls: type, args: tuple) -> Any:
        outputs = self._unrecorded(cls.apply, *args)
        Tensor = _tensor()
        if not any(isinstance(a, Tensor) for a in args):
            return outputs  # plain values: part of the code around it
        outs = outputs if type(outputs) is tuple else (outputs,)
        self._note_tensors(args)
        values = [a.data if isinstance(a, Tensor) else a for a in args]
        results = [o.data for o in outs]
        node = next((o.grad_fn for o in outs if o.grad_fn is not None), None)
        rule = _FORWARD.get(_op(cls))
        state: dict = {}
        fast = rule(values, results, state) if rule else NotImplemented
        cell: list = [None]  # the node of the latest generic replay, for its backward

        def generic() -> Callable:
            state.clear()
            wrapped = [Tensor._make(a.data, a._requires_grad, None, 0)
                       if isinstance(a, Tensor) else a for a in args]
            stores = [_storer(r) for r in results]
            grad = node is not None

            def run() -> None:
                previous, _mode.enabled = _mode.enabled, grad
                try:
                    out = cls.apply(*wrapped)
                finally:
                    _mode.enabled = previous
                out = out if type(out) is tuple else (out,)
                cell[0] = next((o.grad_fn for o in out if o.grad_fn is not None), None)
                for store, o in zip(stores, out):
                    store(o)
            return run

        entry = self._add("forward", _name(cls), values, results, fast, generic)
        if node is not None:
            self.forwards[node] = (entry, values, results, state, cell, generic)
        return outputs

    def rule(self, call_backward: Callable, node: Any, grads: list) -> tuple:
        if node.hooks or node.retained:
            raise CompileError(f"ag.compile: a hook or retain_grad() on the output of "
                               f"{node.name} cannot be captured; remove it from the step")
        forward = self.forwards.get(node)
        if forward is None:
            raise CompileError(f"ag.compile: backward reached {node.name}, recorded outside the "
                               "compiled function; compute the loss inside it")
        result = self._unrecorded(call_backward, node, grads, False)
        # A NumPy scalar (the result of arithmetic on 0-d arrays) cannot be a buffer; the
        # engine would wrap it in an array anyway.
        result = tuple([np.asarray(r) if isinstance(r, np.generic) else r for r in result])
        entry, values, outputs, state, cell, generic_forward = forward
        grads = list(grads)
        results = [_unwrapped(r) for r in result]
        rule = _BACKWARD.get(_op(node.fn))
        fast = NotImplemented
        if rule and entry.fast:
            fast = rule(values, outputs, state, node, grads, results)

        def generic() -> Callable:
            if entry.fast:  # the backward needs a node: the forward is replayed generically
                entry.fast, entry.run = False, generic_forward()
            stores = [None if r is None else _storer(r) for r in results]

            def run() -> None:
                for store, r in zip(stores, call_backward(cell[0], list(grads), False)):
                    if store is not None:
                        store(r)
            return run

        self._add("backward", node.name, grads, results, fast, generic)
        return result

    def fit(self, fit: Callable, g: Any, shape: tuple, dtype: Any, node: Any) -> Any:
        out = self._unrecorded(fit, g, shape, dtype, node, False)
        if out is g:
            return out
        fast = NotImplemented
        if isinstance(g, np.ndarray) and out.dtype == g.dtype and g.shape != shape:
            lead = g.ndim - len(shape)
            axes = tuple(range(lead)) + tuple(
                lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
            kept = out.base if out.base is not None else out
            fast = functools.partial(np.add.reduce, g, axes, None, kept, True)

        def generic() -> Callable:
            store = _storer(out)
            return lambda: store(fit(g, shape, dtype, node, False))

        self._add("sum-to", f"{tuple(g.shape)}->{shape}", [g], [out], fast, generic)
        return out

    def backward(self, roots: Any, seeds: list, keep_graph: bool, create_graph: bool,
                 capture: Any) -> list:
        """The engine's walk (engine._run: latest-made node first, gradients summed as they
        arrive, the leaves written at the end), recording each rule call, sum-to-shape, sum and
        .grad write.
        The engine inlines these for speed, so the recording walk is written out here."""
        from . import engine
        if create_graph:
            raise CompileError("ag.compile: backward with create_graph=True cannot be captured: "
                               "higher-order rules mix recorded ops with NumPy on saved values. "
                               "Run double backward eagerly.")
        Node = _node()
        self.where = _user_line()
        pending: dict = {}
        ready: list = []  # the engine's order: a heap of (-sequence_nr, node)
        leaf_grads: dict = {}
        wanted = {} if capture is None else {engine._key(t): i for i, t in enumerate(capture)}
        captured: list = [None] * len(wanted)

        def deliver(target: Any, output_nr: int, g: Any) -> None:
            if type(target) is Node:
                slots = pending.get(target)
                if slots is None:
                    slots = pending[target] = [None] * (len(target.outputs_meta) or 1)
                    heapq.heappush(ready, (-target.sequence_nr, target))
                slots[output_nr] = g if slots[output_nr] is None else self._sum(slots[output_nr], g)
            else:
                if target._hooks:
                    raise CompileError(f"ag.compile: a hook on a tensor of shape {target.shape} "
                                       "cannot be captured; remove it from the step")
                previous = leaf_grads.get(target)
                leaf_grads[target] = g if previous is None else self._sum(previous, g)

        for root, seed in zip(roots, seeds):
            deliver(root.grad_fn or root, root._output_nr, seed.data)
        with set_grad_enabled(False):
            while ready:
                node = heapq.heappop(ready)[1]
                grads = pending.pop(node)
                if wanted:
                    engine._observe_output_gradients(node, grads, wanted, captured)
                input_grads = self.rule(engine._call_backward, node, grads)
                if not keep_graph:  # release the saved values, as the engine does
                    node._saved = node._versions = ()
                    node._freed = True
                for edge, g in zip(node.edges, input_grads):
                    if g is not None and edge is not None:
                        target, output_nr, shape, dtype = edge
                        if type(g) is not np.ndarray or g.shape != shape or g.dtype != dtype:
                            g = self.fit(engine._fit, g, shape, dtype, node)
                        deliver(target, output_nr, g)
            stored = {id(seed.data) for seed in seeds}
            for leaf, g in leaf_grads.items():
                if capture is not None:
                    if (leaf, 0) in wanted:
                        captured[wanted[(leaf, 0)]] = engine._as_tensor(g)
                    continue
                leaf.grad = engine._accumulated(leaf.grad, g, stored)
                self._leaf(leaf, g)
        self.where = None
        return captured

    def _sum(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """a + b of two gradients reaching the same place, recorded."""
        total = a + b
        if isinstance(total, np.generic):  # a sum of 0-d arrays: a buffer must be an array
            total = np.asarray(total)

        def generic() -> Callable:
            store = _storer(total)
            return lambda: store(a + b)
        self._add("grad-sum", "add", [a, b], [total], functools.partial(np.add, a, b, total),
                  generic)
        return total

    def _leaf(self, leaf: Any, g: np.ndarray) -> None:
        """The .grad write of one leaf, replayed into a buffer of its own (gradients are
        passed by reference, so the array eager stored may be one the tape recomputes)."""
        Tensor = _tensor()
        grad = leaf.grad
        if self._known(grad.data) or grad.data is g:
            grad = Tensor._make(grad.data.copy(), False, None, 0)
            leaf.grad = grad
        total = grad.data

        def run() -> None:
            previous = leaf.grad
            if previous is None:
                np.copyto(total, g)
            else:
                np.add(previous.data, g, total)
            leaf.grad = grad

        self._add("grad", f"leaf{list(leaf.shape)}", [g], [total], None, lambda: None)
        self.entries[-1].run = run
        self.leaf_tensors[leaf] = grad

    def in_place(self, in_place: Callable, tensor: Any, name: str, value: Any,
                 update: Callable, recorded: Callable) -> Any:
        Tensor = _tensor()
        if _mode.enabled and (tensor._requires_grad
                              or isinstance(value, Tensor) and value._requires_grad):
            raise CompileError(
                f"ag.compile: in-place {name} on a tensor of shape {tensor.shape} in the graph "
                f"(at {_user_line()}) cannot be captured; write it out of place, or under "
                "no_grad() when it is not to be differentiated")
        result = self._unrecorded(in_place, tensor, name, value, update, recorded)
        self._note_tensors((tensor, value))
        array, version, other = tensor.data, tensor._version, _unwrapped(value)

        def run() -> None:
            update(array, other)
            version[0] += 1
        self._add("in-place", name, [array], [array], None, lambda: None).run = run
        return result

    def call(self, fn: Callable, args: tuple, kwargs: dict) -> Any:
        result = self._unrecorded(fn, *args, **kwargs)
        if args and hasattr(args[0], "state_dict") and hasattr(args[0], "load_state_dict"):
            self.objects[id(args[0])] = args[0]
        target = _unwrapped(result)
        target = target if isinstance(target, np.ndarray) else None

        def run() -> None:
            value = fn(*args, **kwargs)
            if target is not None:
                np.copyto(target, _unwrapped(value))
        owner = f"{type(args[0]).__name__}." if args and fn.__name__ in ("step", "zero_grad") \
            else ""
        rule = _CALLS.get(f"{_op(type(args[0]))}.{fn.__name__}") if args else None
        fast = rule(args[0], args[1:], kwargs, run) if rule else None
        self._add("call", owner + fn.__name__, [], [target], None,
                  lambda: None).run = fast or run
        return result

    def escape(self, what: str, tensor: Any) -> None:
        if tensor is None:
            raise CompileError(
                f"ag.compile: {what} inside the compiled function (at {_user_line()}): its "
                "draws would be replayed frozen. Draw with ag.rand/ag.randn or dropout, which "
                "the tape replays with fresh numbers, or mark the function @replayed.")
        raise CompileError(
            f"ag.compile: {what} on a tensor of shape {tensor.shape} inside the compiled "
            f"function (at {_user_line()}) takes its value out of the tape, which would replay "
            "it frozen. Return the tensor and read it outside, or use tensor operations "
            "(ag.where, maximum, ...) instead of Python branches.")

    def finish(self) -> None:
        """A leaf whose .grad the step itself set to None after backward gets it reset on
        replay too; any other direct .grad assignment cannot be replayed."""
        for leaf, grad in self.leaf_tensors.items():
            if leaf.grad is None:
                def reset(leaf: Any = leaf) -> None:
                    leaf.grad = None
                self._add("grad", f"reset{list(leaf.shape)}", [], [], None,
                          lambda: None).run = reset
            elif leaf.grad is not grad:
                raise CompileError(f"ag.compile: the .grad of a tensor of shape {leaf.shape} "
                                   "was assigned directly inside the step; use "
                                   "optimizer.zero_grad() or set it to None")


def _op(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _name(cls: type) -> str:
    return cls.__name__.lstrip("_")


# ---- fast rules: forward(values, results, state), backward(values, outputs, state, node,
# grads, results); each returns a closure, None (views: nothing to do) or NotImplemented -------
def _ufunc(ufunc: Any) -> Callable:
    def rule(values: list, results: list, state: dict) -> Any:
        return functools.partial(ufunc, *values, results[0])  # out positional: faster
    return rule


def _view(values: list, results: list, state: dict) -> Any:
    return None if _is_view(results[0], values[0]) else NotImplemented


def _power(a: Any, b: Any, out: np.ndarray) -> Callable:
    """a ** b into `out`, taking NumPy's shortcuts for the exponents it special-cases."""
    if isinstance(a, np.ndarray) and isinstance(b, (int, float)) and not isinstance(b, bool):
        shortcut = {2: np.square, 0.5: np.sqrt, -1: np.reciprocal, 1: np.positive}.get(b)
        if shortcut is not None:
            return functools.partial(shortcut, a, out)
    return functools.partial(np.power, a, b, out)


def _kernel(name: str, a: np.ndarray, b: np.ndarray | None, param: float,
            out: np.ndarray) -> Any:
    from . import kernels
    b = a if b is None else b
    if out.size == 0 or out.size >= kernels._PARALLEL_MIN_SIZE or not (
            out.flags.c_contiguous and a.dtype == b.dtype == out.dtype
            and a.shape == b.shape == out.shape):
        return NotImplemented
    loop = kernels._compiled(name, parallel=False)
    call = functools.partial(loop, *[x.reshape(-1) if x.flags.c_contiguous else
                                     np.empty(x.size, x.dtype) for x in (a, b)],
                             out.reshape(-1), a.dtype.type(param))
    copies = [functools.partial(np.copyto, flat.reshape(x.shape), x)
              for x, flat in zip((a, b), call.args) if not x.flags.c_contiguous]
    return _sequence([*copies, call])


def _activation(name: str, param: int | None = None) -> Callable:
    def rule(values: list, results: list, state: dict) -> Any:
        return _kernel(name, values[0], None, values[param] if param else 0.0, results[0])
    return rule


def _linear(values: list, results: list, state: dict) -> Any:
    x, weight, bias = values
    y = results[0]
    matmul = functools.partial(np.matmul, x, weight.T, y)
    return matmul if bias is None else _sequence([matmul, functools.partial(np.add, y, bias, y)])


def _cross_entropy(values: list, results: list, state: dict) -> Any:
    x, target, reduction = values
    if x.ndim != 2 or target.ndim != 1:
        return NotImplemented
    n = len(target)
    peak, total = np.empty((n, 1), x.dtype), np.empty((n, 1), x.dtype)
    shifted, exp, log_total = np.empty_like(x), np.empty_like(x), np.empty(n, x.dtype)
    out = results[0]
    losses = out if reduction == "none" else np.empty(n, x.dtype)
    rows = np.arange(n)

    def run() -> None:
        np.max(x, axis=1, keepdims=True, out=peak)
        np.subtract(x, peak, out=shifted)
        np.exp(shifted, out=exp)
        np.sum(exp, axis=1, keepdims=True, out=total)
        np.log(total[:, 0], out=log_total)
        np.subtract(log_total, shifted[rows, target], out=losses)
        np.divide(exp, total, out=exp)
        if reduction != "none":
            s = losses.sum()
            out[...] = s / n if reduction == "mean" else s
    state.update(probs=exp, rows=rows)
    return run


_FORWARD: dict[str, Callable] = {
    "autograd.ops.elementwise.Add": _ufunc(np.add),
    "autograd.ops.elementwise.Sub": _ufunc(np.subtract),
    "autograd.ops.elementwise.Mul": _ufunc(np.multiply),
    "autograd.ops.elementwise.Div": _ufunc(np.divide),
    "autograd.ops.elementwise.Neg": _ufunc(np.negative),
    "autograd.ops.elementwise.Exp": _ufunc(np.exp),
    "autograd.ops.elementwise.Log": _ufunc(np.log),
    "autograd.ops.elementwise.Sqrt": _ufunc(np.sqrt),
    "autograd.ops.elementwise.Abs": _ufunc(np.abs),
    "autograd.ops.elementwise.Pow": lambda v, r, s: _power(v[0], v[1], r[0]),
    "autograd.ops.elementwise.AsType": lambda v, r, s: functools.partial(
        np.copyto, r[0], v[0], casting="unsafe"),
    "autograd.ops.linalg.MatMul": _ufunc(np.matmul),
    "autograd.ops.reductions.Sum": lambda v, r, s: functools.partial(
        np.add.reduce, v[0], v[1], None, r[0], v[2]),
    "autograd.ops.shape.Reshape": _view,
    "autograd.ops.shape.Transpose": _view,
    "autograd.ops.shape.BroadcastTo": _view,
    "autograd.ops.shape.GetItem": lambda v, r, s: _view(v, r, s),
    "autograd.ops.activations.Sigmoid": _activation("sigmoid"),
    "autograd.ops.activations.Tanh": _activation("tanh"),
    "autograd.ops.activations.ReLU": _activation("relu"),
    "autograd.ops.activations.LeakyReLU": _activation("leaky_relu", 1),
    "autograd.ops.activations.ELU": _activation("elu", 1),
    "autograd.ops.fused.Linear": _linear,
    "autograd.ops.fused.CrossEntropy": _cross_entropy,
}


def _products(pairs: list) -> Any:
    """grad-times-something for each input that wants a gradient: (ufunc, a, b, out)."""
    return _sequence([functools.partial(f, a, b, o) for f, a, b, o in pairs if o is not None])


def _add_backward(v, o, s, node, grads, results) -> Any:
    return None if all(r is None or r is grads[0] for r in results) else NotImplemented


def _sub_backward(v, o, s, node, grads, results) -> Any:
    if results[0] is not None and results[0] is not grads[0]:
        return NotImplemented
    return None if results[1] is None else functools.partial(np.negative, grads[0],
                                                             results[1])


def _mul_backward(v, o, s, node, grads, results) -> Any:
    g = grads[0]
    return _products([(np.multiply, g, v[1], results[0]), (np.multiply, g, v[0], results[1])])


def _div_backward(v, o, s, node, grads, results) -> Any:
    (g,), (a, b), (ra, rb) = grads, v, results
    steps = [] if ra is None else [functools.partial(np.divide, g, b, ra)]
    if rb is not None:
        square = np.empty_like(b) if isinstance(b, np.ndarray) else b * b

        def run_b() -> None:
            np.negative(g, out=rb)
            np.multiply(rb, a, out=rb)
            if isinstance(b, np.ndarray):
                np.multiply(b, b, out=square)
            np.divide(rb, square, out=rb)
        steps.append(run_b)
    return _sequence(steps)


def _pow_backward(v, o, s, node, grads, results) -> Any:
    (a, b), (g,) = v, grads
    if results[1] is not None or not isinstance(b, (int, float)) or isinstance(b, bool):
        return NotImplemented
    scaled, power = np.empty(g.shape, g.dtype), np.empty_like(a)
    raise_ = _power(a, b - 1, power)

    def run() -> None:
        np.multiply(g, b, out=scaled)
        raise_()
        np.multiply(scaled, power, out=results[0])
    return run


def _sqrt_backward(v, o, s, node, grads, results) -> Any:
    twice = np.empty_like(o[0])

    def run() -> None:
        np.multiply(2, o[0], out=twice)
        np.divide(grads[0], twice, out=results[0])
    return run


def _matmul_backward(v, o, s, node, grads, results) -> Any:
    (a, b), (g,) = v, grads
    if a.ndim != 2 or b.ndim != 2:
        return NotImplemented
    return _products([(np.matmul, g, b.T, results[0]), (np.matmul, a.T, g, results[1])])


def _grad_view(v, o, s, node, grads, results) -> Any:
    return None if _is_view(results[0], grads[0]) else NotImplemented


def _index_backward(v, o, s, node, grads, results) -> Any:
    from .ops.arguments import as_index, has_integer_array
    index, out, g = as_index(v[1]), results[0], grads[0]
    scatter = functools.partial(np.add.at, out, index, g) if has_integer_array(index) \
        else functools.partial(out.__setitem__, index, g)
    return _sequence([functools.partial(out.fill, 0), scatter])


def _activation_backward(name: str, from_input: bool = False, param: int | None = None):
    def rule(v, o, s, node, grads, results) -> Any:
        y = v[0] if from_input else o[0]
        return _kernel(name, y, grads[0], v[param] if param else 0.0, results[0])
    return rule


def _linear_backward(v, o, s, node, grads, results) -> Any:
    (x, weight, _), (g,), (rx, rw, rb) = v, grads, results
    if g.ndim != 2:
        return NotImplemented
    steps = _products([(np.matmul, g, weight, rx), (np.matmul, g.T, x, rw)])
    return _sequence([steps, None if rb is None else
                      functools.partial(np.add.reduce, g, 0, None, rb)])


def _cross_entropy_backward(v, o, s, node, grads, results) -> Any:
    if "probs" not in s:
        return NotImplemented
    target, reduction, (g,), out = v[1], v[2], grads, results[0]
    probs, rows, n = s["probs"], s["rows"], len(v[1])
    diff = np.empty_like(probs)
    scale = g.reshape(-1, 1) if reduction == "none" else g

    def run() -> None:
        np.copyto(diff, probs)
        diff[rows, target] -= 1
        np.multiply(diff, g / n if reduction == "mean" else scale, out=out)
    return run


_BACKWARD: dict[str, Callable] = {
    "autograd.ops.elementwise.Add": _add_backward,
    "autograd.ops.elementwise.Sub": _sub_backward,
    "autograd.ops.elementwise.Mul": _mul_backward,
    "autograd.ops.elementwise.Div": _div_backward,
    "autograd.ops.elementwise.Neg": lambda v, o, s, n, g, r: functools.partial(
        np.negative, g[0], r[0]),
    "autograd.ops.elementwise.Exp": lambda v, o, s, n, g, r: functools.partial(
        np.multiply, g[0], o[0], r[0]),
    "autograd.ops.elementwise.Log": lambda v, o, s, n, g, r: functools.partial(
        np.divide, g[0], v[0], r[0]),
    "autograd.ops.elementwise.Sqrt": _sqrt_backward,
    "autograd.ops.elementwise.Pow": _pow_backward,
    "autograd.ops.elementwise.AsType": lambda v, o, s, n, g, r: functools.partial(
        np.copyto, r[0], g[0], casting="unsafe"),
    "autograd.ops.linalg.MatMul": _matmul_backward,
    "autograd.ops.reductions.Sum": _grad_view,
    "autograd.ops.shape.Reshape": _grad_view,
    "autograd.ops.shape.Transpose": _grad_view,
    "autograd.ops.shape.BroadcastTo": _grad_view,
    "autograd.ops.shape.GetItem": _index_backward,
    "autograd.ops.activations.Sigmoid": _activation_backward("sigmoid_backward"),
    "autograd.ops.activations.Tanh": _activation_backward("tanh_backward"),
    "autograd.ops.activations.ReLU": _activation_backward("relu_backward"),
    "autograd.ops.activations.LeakyReLU": _activation_backward("leaky_relu_backward", True, 1),
    "autograd.ops.activations.ELU": _activation_backward("elu_backward", False, 1),
    "autograd.ops.fused.Linear": _linear_backward,
    "autograd.ops.fused.CrossEntropy": _cross_entropy_backward,
}


def _sgd_step(opt: Any, args: tuple, kwargs: dict, call: Callable) -> Callable | None:
    """SGD.step without momentum and weight decay, as `p -= lr * grad` on the arrays: the same
    arithmetic as SGD._update, without the optimizer's per-parameter Python. Any other
    hyperparameters, checked on every call, take the real step."""
    if args or kwargs:
        return None
    groups = opt.param_groups

    def run() -> None:
        for group in groups:
            if group["momentum"] != 0 or group["weight_decay"] != 0:
                return call()
        for group in groups:
            lr = group["lr"]
            for p in group["params"]:
                grad = p.grad
                if grad is not None:
                    np.subtract(p.data, lr * grad.data, p.data)
                    p._version[0] += 1
    return run


_CALLS: dict[str, Callable] = {"optim.sgd.SGD.step": _sgd_step}


# ---- the compiled callable ------------------------------------------------------------------
def _key(value: Any) -> tuple:
    Tensor = _tensor()
    if isinstance(value, Tensor):  # a tensor that requires grad is bound as itself
        return ("T", value.shape, value.dtype.str, id(value) if value._requires_grad else None)
    if isinstance(value, np.ndarray):
        return ("A", value.shape, value.dtype.str)
    try:
        hash(value)
    except TypeError:
        raise TypeError(f"ag.compile: an argument of type {type(value).__name__} is neither a "
                        "tensor, an array nor hashable; pass it through a closure") from None
    return ("V", type(value), value)


def _mirror(value: Any, recorder: _Recorder) -> Callable[[], Any]:
    """What rebuilds fn's return value after a replay: tensors and arrays the tape computes
    come back as fresh copies (the buffers are overwritten by the next call)."""
    Tensor = _tensor()
    if isinstance(value, Tensor) and recorder._known(value.data):
        data = value.data
        return lambda: Tensor._make(data.copy(), False, None, 0)
    if isinstance(value, np.ndarray) and recorder._known(value):
        return value.copy
    if isinstance(value, (tuple, list)):
        parts = [_mirror(v, recorder) for v in value]
        kind = type(value)
        return lambda: kind([p() for p in parts])
    if isinstance(value, dict):
        parts_by_key = {k: _mirror(v, recorder) for k, v in value.items()}
        return lambda: {k: p() for k, p in parts_by_key.items()}
    return lambda: value


class Compiled:
    """What `ag.compile(fn)` returns: call it like fn. `.tape` is the tape of the latest
    call (print it), `.tapes` all of them, most recently used last."""

    def __init__(self, fn: Callable, check: bool = False, cache_size: int = 8):
        functools.update_wrapper(self, fn)
        self.fn, self.check, self.cache_size = fn, check, cache_size
        self.tapes: OrderedDict[tuple, Tape] = OrderedDict()
        self.tape: Tape | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = (tuple(_key(a) for a in args), tuple(sorted((k, _key(v)) for k, v in
                                                          kwargs.items())))
        tape = self.tapes.get(key)
        if tape is None or not tape.valid():
            output, self.tape = self._capture(args, kwargs)
            self.tapes[key] = self.tape
            if len(self.tapes) > self.cache_size:
                self.tapes.popitem(last=False)
            return output
        self.tapes.move_to_end(key)
        self.tape = tape
        if self.check:
            return _checked(self, tape, args, kwargs)
        return tape.replay(args, kwargs)

    def _capture(self, args: tuple, kwargs: dict) -> tuple[Any, Tape]:
        """Run fn eagerly on copies of the inputs (the tape's input buffers), recording."""
        if _capture.recorder is not None:
            raise CompileError("ag.compile: a compiled function called while another is "
                               "being captured; compile the outer one only")
        Tensor = _tensor()
        recorder, inputs = _Recorder(), []

        def bind(where: Any, value: Any) -> Any:
            if isinstance(value, Tensor) and not value._requires_grad:
                buffer = np.array(value.data, order="K", copy=True)
                value = Tensor._make(buffer, False, None, 0)
            elif isinstance(value, np.ndarray):
                value = buffer = np.array(value, order="K", copy=True)
            else:
                return value
            inputs.append((where, buffer))
            recorder.arrays[id(buffer)] = buffer
            return value

        args = tuple(bind(i, a) for i, a in enumerate(args))
        kwargs = {k: bind(k, v) for k, v in kwargs.items()}
        _capture.recorder = recorder
        try:
            result = self.fn(*args, **kwargs)
            recorder.finish()
        finally:
            _capture.recorder = None
        output = _mirror(result, recorder)
        return output(), Tape(recorder, inputs, output)


def compile(fn: Callable, check: bool = False) -> Compiled:
    """Capture `fn` (a training or evaluation step on tensors) once per signature of input
    shapes and dtypes, and replay the recorded array operations on later calls; results equal
    the eager ones bit for bit. `check=True` also runs fn eagerly on every call and raises
    `CompileError` on the first operation where the replay differs (slow: for debugging)."""
    return Compiled(fn, check)


# ---- check=True ------------------------------------------------------------------------------
def _state(tape: Tape) -> dict:
    """Copies of everything a step changes outside its buffers: the tensors it reads, the
    leaves' gradients, the optimizers' and schedules' state, the random generator."""
    from . import random
    generator = random._generator
    return {
        "arrays": [(t, t.data.copy()) for t, _ in tape._persistent],
        "grads": [(leaf, leaf.grad, None if leaf.grad is None else leaf.grad.data.copy())
                  for leaf in tape.leaves],
        "objects": [(o, copy.deepcopy(o.state_dict())) for o in tape._objects.values()],
        "random": (generator, copy.deepcopy(generator.bit_generator.state)),
    }


def _restore(state: dict) -> None:
    from . import random
    for t, saved in state["arrays"]:
        np.copyto(t.data, saved)
    for leaf, grad, saved in state["grads"]:
        leaf.grad = grad
        if grad is not None:
            np.copyto(grad.data, saved)
    for o, saved in state["objects"]:
        o.load_state_dict(copy.deepcopy(saved))
    generator, bits = state["random"]
    random._generator = generator
    generator.bit_generator.state = copy.deepcopy(bits)


def _checked(compiled: Compiled, tape: Tape, args: tuple, kwargs: dict) -> Any:
    """Run fn eagerly (recording a fresh tape), restore the state, replay, and compare."""
    before = _state(tape)
    _, eager = compiled._capture(args, kwargs)
    after = _state(tape)
    _restore(before)
    output = tape.replay(args, kwargs)
    for i, (ours, theirs) in enumerate(zip(tape.entries, eager.entries)):
        if ours.signature() != theirs.signature():
            raise CompileError(
                f"ag.compile(check=True): the step took another path at operation {i}: eager "
                f"ran {theirs.kind} {theirs.name} {[_describe(a) for a in theirs.inputs]} at "
                f"{theirs.where}, the tape has {ours.kind} {ours.name} at {ours.where}. A Python "
                "branch on a tensor's value decides which operations run; the tape cannot "
                "follow it.")
        for a, b in zip(ours.outputs, theirs.outputs):
            if a is not None and not _same(a, b):
                raise CompileError(
                    f"ag.compile(check=True): operation {i}, {ours.kind} {ours.name} at "
                    f"{ours.where}, gives other values in the replay than in eager: it reads a "
                    "value the tape froze at capture (NumPy on tensor .data, a Python number "
                    "taken from a tensor, a global changed between calls).")
    if len(tape.entries) != len(eager.entries):
        raise CompileError(f"ag.compile(check=True): the eager step ran {len(eager.entries)} "
                           f"operations, the tape has {len(tape.entries)}")
    for (t, ours), (_, theirs) in zip(_state(tape)["arrays"], after["arrays"]):
        if not _same(ours, theirs):
            raise CompileError(f"ag.compile(check=True): a tensor of shape {t.shape} ends "
                               "the step with other values in the replay than in eager")
    return output
