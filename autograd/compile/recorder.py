"""The recorder: `_Recorder`, which records a step while it is captured. Traced arrays report
their NumPy calls to it, and the hooks in function.py, engine.py, tensor.py, random.py and
nn report the ops, the backward walk, the `.grad` assignments, in-place changes and
`@replayed` calls; it makes each an entry of the tape, with the run a replay calls. Also the
helpers only it uses."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import blas, kernels
from ..grad_mode import _mode
from .state import (
    CompileError,
    _capture,
    _engine,
    _library_line,
    _post_accumulate_hooks,
    _tensor,
    _user_line,
)
from .tape import _EXACT, _call_name, _carry, _Entry, _entry, _on_scalars, _op_label, _reduce_label
from .traced import _NESTING, _plain, _root, _Traced


def _hook_names(tensor: Any, post_accumulate_hooks: dict) -> str:
    hooks = [*(tensor._hooks or ()), *post_accumulate_hooks.get(id(tensor), ())]
    return ", ".join(f"{getattr(h, '__module__', '?')}.{getattr(h, '__qualname__', h)}"
                     for h in hooks)


def _copy_into(out: np.ndarray, compute: Callable) -> None:
    value = compute()
    if np.shape(value) != out.shape:  # a boolean mask that selects another count
        raise CompileError(f"ag.compile: a NumPy call gave shape {np.shape(value)} where the "
                           f"capture got {out.shape}; run this step eagerly")
    np.copyto(out, value)


_OUT_BY_NAME = (np.maximum, np.minimum)  # NumPy 2.4 deprecates their out as a third argument
_REDUCE_ARGUMENTS = {"axis", "dtype", "out", "keepdims", "where"}


def _serial(inputs: list) -> bool:
    """A product that autograd.blas runs on one thread: its replay must too."""
    return len(inputs) == 2 and all(isinstance(a, np.ndarray) and a.ndim for a in inputs) \
        and blas.serial(inputs[0].shape, inputs[1].shape)


@functools.cache
def _takes_out(function: Callable) -> bool:
    try:
        return "out" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


class _Recorder:
    """Records a step: traced arrays call `ufunc`, `function`, `method`, `setitem` and
    `kernel`; the hooks in function.py, engine.py, tensor.py call `apply`, `backward`,
    `in_place`, `call` and `escape`."""

    def __init__(self):
        self.entries: list[_Entry] = []
        # Memory the tape computes, binds or reads live: id -> a plain array of it (the array
        # itself, or for a traced one the plain view that every entry reading it gets)
        self.known: dict[int, np.ndarray] = {}
        self.persistent: dict[int, tuple] = {}  # tensors read that the tape did not make
        self.swapped: list = []  # (tensor, traced view, plain array) to restore at the end
        self.nodes: dict = {}  # id -> node, for the nodes recorded in the step
        self.leaves: dict = {}  # the leaves whose .grad the entries assign (keys, in order)
        self.changed: set = set()  # ids of the tensors changed in place in the step
        # Calls on constants alone (see _computed_once): the buffers (ids) that never change
        # (the implicit seed, and the results of the candidates), the candidates (entry index,
        # result, operands), and the buffers that a later call writes or the step hands out.
        self.constants: set[int] = set()
        self.candidates: list[tuple[int, int, list[int]]] = []
        self.exposed: set[int] = set()
        self.born: dict[int, int] = {}  # buffer -> the index of the entry that makes it
        self.carries: dict[int, list] = {}  # entry index -> the carries to run before it
        self.objects: dict[int, Any] = {}  # objects whose methods are replayed (optimizers)
        self.modules: dict[int, Any] = {}  # id -> a module the step called
        self.cells: list[tuple] = []  # the variables the step reads (_reached)
        self.names: list[tuple] = []
        # What the entries being recorded belong to: "step" (the step's own NumPy), an op
        # ("Mul"), a rule ("Mul.backward", named by the engine's walk), "backward", "call", ...
        self.op = "step"
        self.where = "?"

    # ---- arrays ---------------------------------------------------------------------------
    def _owner(self, array: np.ndarray) -> np.ndarray | None:
        while array is not None and id(array) not in self.known:
            array = getattr(array, "base", None)  # a base may be a bytes object
        return array

    def _trace(self, array: Any) -> _Traced:
        """A new buffer of the tape holding `array`'s values, as the traced array the step goes
        on with. It owns its memory, as the eager result would (the engine and the ops tell
        fresh results from views by their base); the replay writes into `_plain(traced)`."""
        if type(array) is not np.ndarray:
            array = np.asarray(array)
        traced = np.ndarray.copy(array.view(_Traced), "K")  # in eager's layout
        self.known[id(traced)] = traced.view(np.ndarray)
        self.born[id(traced)] = len(self.entries)  # the entry about to be added
        return traced

    def _candidate(self, operands: list, result: _Traced) -> None:
        """Note the entry about to be added if it computes `result` from constants alone."""
        roots = []
        for a in operands:
            if isinstance(a, np.ndarray):
                base = a.base  # (a buffer's plain view: its base is the buffer, its root)
                root = id(a if base is None else base if base.base is None else _root(a))
                if root not in self.constants:
                    return
                roots.append(root)
        self.constants.add(id(result))
        self.candidates.append((len(self.entries), id(result), roots))

    def _read(self, value: Any) -> Any:
        """An operand: a traced array as its plain view (it must be the tape's), anything else
        as itself (a plain array is read by reference: live)."""
        if type(value) is _Traced:
            plain = self.known.get(id(value))
            if plain is not None:
                return plain
            if self._owner(value) is None:
                raise CompileError(
                    f"ag.compile: an array of shape {value.shape} was computed by a NumPy call "
                    f"that the tape cannot see (in {self.op}, at {self.where}); write it "
                    "with NumPy functions, ufuncs or the array's copy/astype/indexing")
            return value.view(np.ndarray)
        kind = type(value)
        if (kind is tuple or kind is list) and not _NESTING.isdisjoint(map(type, value)):
            return kind([self._read(v) for v in value])
        return value

    def _write(self, value: Any) -> Any:
        """An array a call writes into. A plain one that the step made without a traced
        input (np.zeros in a rule) is restored from a snapshot before the call on replay."""
        value = self._read(value)
        if isinstance(value, np.ndarray):
            if self._owner(value) is None:
                owner = _root(value)
                self.known[id(owner)] = owner
                self._add("snapshot", [], [owner],
                          functools.partial(np.copyto, owner, owner.copy()))
            elif self.constants:
                self.exposed.add(id(_root(value)))  # not to be computed once, then
        return value

    def _add(self, name: str, inputs: list, outputs: list, run: Callable) -> None:
        op = self.op
        where = _user_line() if op == "step" else self.where  # NumPy in the step's code
        self.entries.append(_entry((op, name, inputs, outputs, run, where)))

    def _result(self, value: Any, operands: list) -> tuple[Any, bool]:
        """(value as traced, fresh): a view of an operand's memory stays a view (the replay
        recomputes what it views); fresh memory becomes a buffer of the tape."""
        if isinstance(value, np.ndarray) and value.base is not None:
            owner = _root(value)
            if any(_root(a) is owner for a in operands):
                return value.view(_Traced), False
        return self._trace(value), True

    # ---- calls from traced arrays ------------------------------------------------------------
    def ufunc(self, ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
        name = _call_name(ufunc) if method == "__call__" and not kwargs else None
        if name:  # the common call (one output, no keywords), with _read inline
            known = self.known
            operands = []
            for a in inputs:  # the plain view of each buffer of the tape
                if type(a) is _Traced:
                    plain = known.get(id(a))  # (None: a view of a buffer)
                    operands.append(self._read(a) if plain is None else plain)
                elif isinstance(a, _tensor()):
                    return NotImplemented  # `traced * tensor`: the tensor's op, as eagerly
                else:
                    operands.append(a)
            inputs = operands
            traced = self._trace(ufunc(*inputs))
            out = known[id(traced)]
            if self.constants:
                self._candidate(inputs, traced)
            if out.ndim or ufunc not in _EXACT or out.dtype.kind not in "biuf":
                run = functools.partial(ufunc, *inputs, out) if ufunc not in _OUT_BY_NAME \
                    else functools.partial(ufunc, *inputs, out=out)
            else:
                run = _on_scalars(_EXACT[ufunc], inputs, out)
            self._add(name, inputs, [out], run)
            return traced
        for a in inputs:
            if type(a) is not _Traced and isinstance(a, _tensor()):
                return NotImplemented
        if method == "reduce" and "out" not in kwargs and kwargs.keys() <= _REDUCE_ARGUMENTS \
                and kwargs.get("where", True) is True:  # a sum or a max: the common reduction
            a = self._read(inputs[0])
            traced = self._trace(ufunc.reduce(a, **kwargs))
            if self.constants:
                self._candidate([a], traced)
            out = self.known[id(traced)]
            self._add(_reduce_label(ufunc), [a], [out], functools.partial(
                ufunc.reduce, a, kwargs.get("axis", 0), kwargs.get("dtype"), out,
                kwargs.get("keepdims", False)))
            return traced
        given = kwargs.get("out")
        inputs = list(inputs)
        if method == "at":
            inputs[0] = self._write(inputs[0])
        inputs = list(map(self._read, inputs))
        if given is not None:
            kwargs["out"] = tuple(self._write(o) for o in given)
        elif method != "at":
            results = getattr(ufunc, method)(*inputs, **kwargs)
            traced = tuple(map(self._trace, results)) if type(results) is tuple \
                else (self._trace(results),)
            kwargs["out"] = tuple(map(self.known.__getitem__, map(id, traced)))
        call = getattr(ufunc, method)
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        outs = kwargs.get("out", (inputs[0],))
        if given is not None or method == "at":
            call(*inputs, **kwargs)
        if ufunc is np.matmul and _serial(inputs):
            run = functools.partial(blas.matmul, *inputs, out=outs[0])
        elif method == "__call__" and len(kwargs) == 1 and ufunc not in _OUT_BY_NAME:
            run = functools.partial(call, *inputs, *outs)  # out positional: faster
        elif method == "reduce" and kwargs.keys() <= _REDUCE_ARGUMENTS \
                and kwargs.get("where", True) is True:  # into a given out: positional, likewise
            run = functools.partial(call, *inputs, kwargs.get("axis", 0), kwargs.get("dtype"),
                                    outs[0], kwargs.get("keepdims", False))
        else:
            run = functools.partial(call, *inputs, **kwargs)
        self._add(name, inputs, list(outs), run)
        if given is not None:  # traced, so that `plain &= traced` goes on being recorded
            given = tuple(o if type(o) is _Traced else o.view(_Traced) for o in given)
            return given[0] if len(given) == 1 else given
        if method == "at":
            return None
        return traced[0] if len(traced) == 1 else traced

    def function(self, func: Callable, args: tuple, kwargs: dict) -> Any:
        impl = func._implementation
        name = func.__name__
        if name == "copyto":
            args = (self._write(args[0]), *self._read(args[1:]))
        else:
            args = self._read(args)
        given = kwargs.get("out")
        if kwargs:
            kwargs = {k: self._write(v) if k == "out" else self._read(v)
                      for k, v in kwargs.items()}
        result = impl(*args, **kwargs)
        if name == "copyto" or given is not None:
            self._add(name, list(args), [kwargs.get("out", args[0])],
                      functools.partial(impl, *args, **kwargs))
            return given if given is not None else result
        if isinstance(result, (tuple, list)):
            return type(result)(self._function_result(impl, name, r, args, kwargs, i)
                                for i, r in enumerate(result))
        return self._function_result(impl, name, result, args, kwargs, None)

    def _function_result(self, impl: Callable, name: str, result: Any, args: tuple,
                         kwargs: dict, part: int | None) -> Any:
        if not isinstance(result, (np.ndarray, np.generic)):
            return result  # a shape, a dtype, a flag about the layout
        operands = [a for a in args if isinstance(a, np.ndarray)]
        traced, fresh = self._result(result, operands)
        if not fresh:
            return traced
        out = _plain(traced)
        if name in ("zeros_like", "ones_like", "full_like", "empty_like"):
            run = None if name == "empty_like" else functools.partial(
                out.fill, out.flat[0] if out.size else 0)
        elif impl is np.sum._implementation and len(args) == 1 and kwargs.keys() <= {
                "axis", "keepdims"}:  # what np.sum calls, without its Python wrapper
            run = functools.partial(np.add.reduce, args[0], kwargs.get("axis"), None, out,
                                    kwargs.get("keepdims", False))
        elif part is None and _takes_out(impl):
            run = functools.partial(impl, *args, **kwargs, out=out)
        elif part is None:
            run = functools.partial(_copy_into, out, functools.partial(impl, *args, **kwargs))
        else:
            run = functools.partial(_copy_into, out, lambda: impl(*args, **kwargs)[part])
        if run is not None:
            self._add(name, operands, [out], run)
        return traced

    def method(self, array: _Traced, method: Callable, name: str, args: tuple,
               kwargs: dict) -> Any:
        plain = self._read(array)
        args = self._read(args)
        kwargs = {k: self._write(v) if k == "out" else self._read(v) for k, v in kwargs.items()}
        if name == "getitem" and type(args[0]) is not tuple and not isinstance(
                args[0], (np.ndarray, list)):
            args = ((args[0],),)
        if name == "getitem" and type(args[0]) is tuple and all(
                isinstance(i, (int, np.integer)) for i in args[0]):
            args = ((*args[0], Ellipsis),)  # a 0-d view, not a NumPy scalar
        result = method(plain, *args, **kwargs)
        if not isinstance(result, (np.ndarray, np.generic)):
            return result
        if isinstance(result, np.ndarray) and (result is plain or (
                result.base is not None and self._owner(result) is self._owner(plain))):
            return result.view(_Traced)  # a view: the replay recomputes what it views
        traced = self._trace(result)
        out = _plain(traced)
        if name == "copy" or name == "astype":
            run = functools.partial(np.copyto, out, plain, casting="unsafe")
        else:
            run = functools.partial(_copy_into, out, functools.partial(method, plain, *args,
                                                                       **kwargs))
        self._add(name, [plain], [out], run)
        return traced

    def setitem(self, array: _Traced, index: Any, value: Any) -> None:
        target, index, value = self._write(array), self._read(index), self._read(value)
        target[index] = value
        self._add("setitem", [value] if isinstance(value, np.ndarray) else [], [target],
                  functools.partial(target.__setitem__, index, value))

    def kernel(self, name: str, a: np.ndarray, b: np.ndarray | None, param: float) -> Any:
        a, b = self._read(a), self._read(b)
        b, order = kernels._checked(name, a, b)
        traced = np.ndarray.__new__(_Traced, a.shape, a.dtype, order=order)
        out = traced.view(np.ndarray)
        run = kernels.prepared(name, a, b, param, out, order)
        run()
        self.known[id(traced)] = out
        self._add(f"kernel {name}", [a] if b is a else [a, b], [out], run)
        return traced

    # ---- tensors ----------------------------------------------------------------------------
    def _traced_tensor(self, tensor: Any) -> None:
        """Give a tensor the step reads traced data (restored at the end of the capture); a
        tensor the tape did not make is read live, so a replay sees its current values."""
        data = tensor.data
        if type(data) is not np.ndarray:
            return
        if id(data) not in self.known and (data.base is None or self._owner(data) is None):
            self.known[id(data)] = data
            self.persistent[id(tensor)] = (tensor, data)
        traced = data.view(_Traced)
        self.known[id(traced)] = traced.view(np.ndarray)
        tensor.data = traced
        self.swapped.append((tensor, traced, data))

    def _traced_operand(self, value: Any) -> Any:
        """An op's operand as traced data: tensors in place, plain arrays as views (a plain
        array the tape did not make is read live)."""
        if isinstance(value, _tensor()):
            self._traced_tensor(value)
        elif type(value) is np.ndarray:
            if self._owner(value) is None:
                self.known[id(value)] = value
            return value.view(_Traced)
        return value

    def _untraced(self, tensor: Any) -> Any:
        """Note a tensor the step made whose data must be plain after the capture."""
        self.swapped.append((tensor, tensor.data, tensor.data.view(np.ndarray)))
        return tensor

    def _hooks_off(self, fn: Callable, *args: Any) -> Any:
        _capture.recorder = None
        try:
            return fn(*args)
        finally:
            _capture.recorder = self

    def _unrecorded(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        _capture.recorder = _capture.tape = None
        try:
            return fn(*args, **kwargs)
        finally:
            _capture.recorder = _capture.tape = self

    def _on_plain(self, fn: Callable, args: tuple, kwargs: dict) -> Any:
        """fn(*args, **kwargs) unrecorded, with the tensors the capture gave traced data back
        on their plain arrays meanwhile (an optimizer's NumPy on a traced array would go
        through its Python protocol on every call: several times slower)."""
        plain = []
        for swap in self.swapped:
            tensor, traced, array = swap
            if tensor.data is traced:
                tensor.data = array
                plain.append(swap)
        try:
            return self._unrecorded(fn, *args, **kwargs)
        finally:
            for tensor, traced, array in plain:
                if tensor.data is array:
                    tensor.data = traced

    # ---- hooks ------------------------------------------------------------------------------
    def constant(self, array: np.ndarray) -> None:
        """An array the step makes that is the same on every call (the implicit backward seed,
        ones): the tape's own, and what is computed from it alone is computed once."""
        self.known[id(array)] = array
        self.constants.add(id(array))

    def module(self, module: Any) -> None:
        """A module called in the step: the tape holds while its settings are the same."""
        self.modules[id(module)] = module

    def apply(self, cls: type, args: tuple) -> Any:
        Tensor = _tensor()
        operands = args
        for a in args:
            if isinstance(a, Tensor):
                if type(a.data) is not _Traced:
                    self._traced_tensor(a)
            elif type(a) is np.ndarray:  # (a plain array operand: as a traced view)
                operands = [self._traced_operand(a) for a in args]
                break
        op, where = self.op, self.where
        self.op, self.where = _op_label(cls), _user_line(3)  # Function.apply's caller
        _capture.recorder = None
        try:
            outputs = cls.apply(*operands)
        finally:
            _capture.recorder = self
            self.op, self.where = op, where
        for o in outputs if type(outputs) is tuple else (outputs,):
            if isinstance(o, Tensor) and o.grad_fn is not None:
                self.nodes[id(o.grad_fn)] = o.grad_fn
        return outputs

    def backward(self, roots: Any, seeds: list, keep_graph: bool, create_graph: bool,
                 capture: Any) -> list:
        """The engine's own walk, traced; then each leaf's `.grad` assignment, as an entry
        that the replay runs (it adds to a gradient already there, as the engine does)."""
        engine = _engine()
        if create_graph:
            raise CompileError("ag.compile: backward with create_graph=True cannot be captured: "
                               "higher-order rules mix recorded ops with NumPy on saved values. "
                               "Run double backward eagerly.")
        leaves = self._graph_leaves(roots)
        for seed in seeds:  # traced, so that the rules' NumPy calls on it are recorded
            self._traced_tensor(seed)
        hidden = {}
        if capture is None:
            for leaf in leaves:
                if leaf._grad is not None:  # the walk stores its own gradient; added below
                    hidden[leaf], leaf._grad = leaf._grad, None
        op, self.op, self.where = self.op, "backward", _user_line(3)  # engine.backward's caller
        try:
            captured = self._hooks_off(engine._run, roots, seeds, keep_graph, False, capture)
        finally:
            self.op = op
        if capture is not None:
            for g in captured:
                if g is not None:
                    self._untraced(g)
                    self.exposed.add(id(_root(g.data)))
            return captured
        for leaf in leaves:
            self._leaf_grad(leaf, hidden.get(leaf))
        return captured

    def _graph_leaves(self, roots: Any) -> list:
        """The leaves that a backward from `roots` reaches, in the order a depth-first walk
        meets them; a CompileError for a node not recorded in the step, or a hook that a replay
        would not call."""
        Node, hooks, nodes = _engine().Node, _post_accumulate_hooks(), self.nodes
        stack = [r.grad_fn for r in roots if r.grad_fn is not None]
        seen, leaves = set(stack), {}
        while stack:
            node = stack.pop()
            if id(node) not in nodes:
                raise CompileError(f"ag.compile: backward reached {node.name}, recorded outside "
                                   "the compiled function; compute the loss inside it")
            if node.hooks or node.retained:
                raise CompileError(f"ag.compile: a hook or retain_grad() on the output of "
                                   f"{node.name} cannot be captured; remove it from the step")
            for edge in node.edges:
                if edge is None:
                    continue
                target = edge[0]
                if type(target) is Node:
                    if target not in seen:
                        seen.add(target)
                        stack.append(target)
                elif target._hooks or hooks and id(target) in hooks:
                    raise CompileError(
                        f"ag.compile: a hook on a tensor of shape {target.shape} cannot be "
                        f"captured (a replay would not call it): {_hook_names(target, hooks)}. "
                        "Remove it, or run this step eagerly.")
                else:
                    leaves[target] = None
        return list(leaves)

    def _leaf_grad(self, leaf: Any, previous: Any) -> None:
        """The entry that gives `leaf` the gradient the walk computed: as it is, or added to
        the one the leaf holds at that point of the replay. Either way it lands in the buffer
        that was `.grad` at capture (the walk's, or the sum's), which the rest of the step's
        calls read."""
        Tensor = _tensor()
        direct = leaf._grad
        if direct is None:
            leaf._grad = previous
            return
        if previous is not None and id(previous) in self.changed:
            raise CompileError(
                f"ag.compile: the .grad of a tensor of shape {leaf.shape} was changed in place "
                f"before backward (at {self.where}); a replay adds to the gradient the previous "
                "replay left, not to this tensor. Set .grad to None, or call zero_grad()")
        plain = direct.data.view(np.ndarray)
        root = id(_root(direct.data))
        self.exposed.add(root)
        summed = Tensor._make(np.empty_like(plain), False, None, 0)
        total = summed.data
        self.known[id(total)] = total
        self._untraced(direct)
        result, out = (direct, plain) if previous is None else (summed, total)

        def run() -> None:
            before = leaf._grad
            if before is not None:
                np.add(before.data, plain, out=out)
            elif result is summed:
                np.copyto(total, plain)
            leaf._grad = result
        if previous is None:  # the walk's gradient stays the leaf's, as run() would leave it;
            # the last replay's gradient may still be in the walk's buffer: carried out first
            self.carries.setdefault(self.born.get(root, 0), []).append(
                functools.partial(_carry, leaf, direct, summed))
        else:  # added to the one it holds, into the sum's buffer
            leaf._grad = previous
            self._unrecorded(run)
            summed.data = total.view(_Traced)
            self._untraced(summed)
        self.entries.append(_entry(("grad", f"grad{list(plain.shape)}", [plain], [], run,
                                    self.where)))  # what _add would append
        self.leaves[leaf] = None

    def grad_assigned(self, tensor: Any, value: Any) -> None:
        """`t.grad = None` in the step: an entry that forgets the gradient on replay too.
        (`t.grad *= 2` assigns the tensor it has: nothing to record beyond the product.)"""
        if value is not None:
            if value is tensor._grad:
                return
            raise CompileError(
                f"ag.compile: a tensor assigned to the .grad of a tensor of shape {tensor.shape} "
                f"inside the compiled function (at {_user_line()}) cannot be captured; set .grad "
                "to None, or call zero_grad()")

        def forget() -> None:
            tensor._grad = None
        op, where = self.op, self.where
        self.op, self.where = "grad", _user_line()
        self._add(f"reset{list(tensor.shape)}", [], [], forget)
        self.op, self.where = op, where

    def in_place(self, in_place: Callable, tensor: Any, name: str, value: Any,
                 update: Callable, recorded: Callable) -> Any:
        Tensor = _tensor()
        if _mode.enabled and (tensor._requires_grad
                              or isinstance(value, Tensor) and value._requires_grad):
            raise CompileError(
                f"ag.compile: in-place {name} on a tensor of shape {tensor.shape} in the graph "
                f"(at {_user_line()}) cannot be captured; write it out of place, or under "
                "no_grad() when it is not to be differentiated")
        self._traced_tensor(tensor)
        self.changed.add(id(tensor))
        if isinstance(value, Tensor):
            self._traced_tensor(value)
        op, where = self.op, self.where
        self.op, self.where = f"in-place {name}", _user_line(3)  # Tensor._in_place's caller
        try:
            result = self._hooks_off(in_place, tensor, name, value, update, recorded)
            version = tensor._version
            self.op = "version"
            self._add("+1", [], [], functools.partial(_bump, version))
        finally:
            self.op, self.where = op, where
        return result

    def call(self, fn: Callable, args: tuple, kwargs: dict) -> Any:
        Tensor = _tensor()
        args = _plain(args)
        if kwargs:
            kwargs = {k: _plain(v) for k, v in kwargs.items()}
        for value in (*args, *kwargs.values()):  # what the call may change
            value = value.data if isinstance(value, Tensor) else value
            if isinstance(value, np.ndarray):
                self.exposed.add(id(_root(value)))
        result = self._on_plain(fn, args, kwargs)
        if args and hasattr(args[0], "state_dict") and hasattr(args[0], "load_state_dict"):
            self.objects[id(args[0])] = args[0]
        target = None
        if isinstance(result, Tensor):
            result.data = self._trace(result.data)
            target = _plain(result.data)
            self._untraced(result)
        elif isinstance(result, np.ndarray):
            result = self._trace(result)
            target = _plain(result)

        def run() -> None:
            value = fn(*args, **kwargs)
            if target is not None:
                np.copyto(target, value.data if isinstance(value, Tensor) else value)
        name = f"{type(args[0]).__name__}.{fn.__name__}" if args and fn.__name__ in (
            "step", "zero_grad") else fn.__name__
        self.entries.append(_entry(("call", name, [], [target], run,
                                    _user_line(3))))  # what _add would append, at the caller's line
        return result

    def guard(self, array: _Traced, flag: bool) -> None:
        where = _user_line() if self.op == "step" else self.where
        library = _library_line()
        if library is not None:
            where += f", in {library}"
        message = (f"ag.compile: a Python branch in {self.op} (at {where}) on a "
                   f"value of shape {array.shape} went the other way than at capture; the tape "
                   f"follows the capture's path. Run this step eagerly.")
        self._add("guard", [_plain(array)], [], functools.partial(
            _guard, self._read(array), flag, message))

    def escape(self, what: str, tensor: Any) -> None:
        if tensor is None:
            raise CompileError(
                f"ag.compile: {what} inside the compiled function (at {_user_line()}): its "
                "draws would be replayed frozen. Draw with ag.rand/ag.randn or dropout, which "
                "the tape replays with fresh numbers, or mark the function @replayed.")
        inside = f" in {self.op}" if self.op != "step" else ""
        library = _library_line()
        if library is not None:  # not the user's to change
            raise CompileError(
                f"ag.compile: {library} reads a value of shape {tensor.shape} into Python "
                f"({what}), in the compiled function{inside} (at {_user_line()}); a replay "
                "would use it frozen. If that function takes the value as an argument (a size, "
                "a count), pass it; otherwise run this step eagerly.")
        raise CompileError(
            f"ag.compile: {what} on a value of shape {tensor.shape} inside the compiled "
            f"function{inside} (at {_user_line()}) takes its value out of the tape, which would "
            "replay it frozen. Return the tensor and read it outside, or use tensor operations "
            "(ag.where, maximum, ...) instead of Python branches.")

    def restore(self) -> None:
        """Give the tensors back plain arrays."""
        for tensor, traced, plain in reversed(self.swapped):
            if tensor.data is traced:
                tensor.data = plain


def _guard(array: np.ndarray, flag: bool, message: str) -> None:
    if bool(array) is not flag:
        raise CompileError(message)


def _bump(version: list) -> None:
    version[0] += 1
