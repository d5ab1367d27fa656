"""The tape: `Tape`, the recorded entries of one step and their replay; what names the entries
(the labels, which engine.py also uses), the order a replay runs them in (`_schedule`, the
entries computed once, the carries), the replays of ufuncs on 0-d operands as scalar
arithmetic, and the module settings a tape holds for (`Tape.valid`)."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from types import NoneType
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .state import _post_accumulate_hooks, _tensor
from .traced import _root

if TYPE_CHECKING:
    from .recorder import _Recorder


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.shape} {value.dtype}"
    return repr(value)[:30]


_EXACT = {np.add: operator.add, np.subtract: operator.sub, np.multiply: operator.mul,
          np.true_divide: operator.truediv, np.negative: operator.neg, np.positive: operator.pos}


def _on_scalars(op: Callable, inputs: list, out: np.ndarray) -> Callable:
    """A replay of a ufunc in _EXACT with a 0-d real result (so 0-d array operands) as NumPy's
    scalar arithmetic `op`, several times faster on such tiny operands. Only +, -, *, / and
    the signs: each is one correctly rounded operation, and NumPy's scalars promote as its
    ufuncs do, so the result is the ufunc's bit for bit. (Not so for powers: a scalar `**`
    differs from np.power in the last bit on about 1 float32 value in 4.)"""
    if len(inputs) == 1:
        return functools.partial(_scalar_unary, op, inputs[0], out)
    a, b = inputs
    if not isinstance(a, np.ndarray):
        return functools.partial(_scalar_right, op, a, b, out)
    kind = _scalar_binary if isinstance(b, np.ndarray) else _scalar_left
    return functools.partial(kind, op, a, b, out)


def _scalar_unary(op: Callable, a: np.ndarray, out: np.ndarray) -> None:
    out[()] = op(a[()])


def _scalar_binary(op: Callable, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    out[()] = op(a[()], b[()])


def _scalar_left(op: Callable, a: np.ndarray, b: Any, out: np.ndarray) -> None:
    out[()] = op(a[()], b)


def _scalar_right(op: Callable, a: Any, b: np.ndarray, out: np.ndarray) -> None:
    out[()] = op(a, b[()])


class _Entry(NamedTuple):
    op: str  # what the call belongs to: an op ("Mul"), a rule ("Mul.backward"), "step", ...
    name: str  # the NumPy call or Python effect
    inputs: list
    outputs: list
    run: Callable
    where: str  # the step's line

    def signature(self) -> tuple:
        return (self.op, self.name, tuple(_describe(a) for a in self.inputs),
                tuple(_describe(a) for a in self.outputs))


_entry = functools.partial(tuple.__new__, _Entry)  # _Entry(*fields) without its Python __new__


@functools.cache
def _op_label(op: type) -> str:
    return op.__name__.lstrip("_")


@functools.cache
def _call_name(ufunc: np.ufunc) -> str:
    """A ufunc's name if the recorder's common path takes its calls ("" if not)."""
    return ufunc.__name__ if ufunc.nout == 1 and ufunc is not np.matmul else ""


@functools.cache
def _reduce_label(ufunc: np.ufunc) -> str:
    return f"{ufunc.__name__}.reduce"


@functools.cache
def _backward_label(rule: type) -> str:
    return f"{_op_label(rule)}.backward"


class Tape:
    """The recorded operations of one step, for one signature of input shapes and dtypes.
    `print(tape)` lists them: the op they belong to, the NumPy call or Python effect, its
    operands and results (buffer names and shapes), and the line of the step."""

    def __init__(self, recorder: _Recorder, inputs: list, output: Callable):
        self.entries: list[_Entry] = recorder.entries
        self.once = _computed_once(recorder.candidates, recorder.constants, recorder.exposed)
        self._inputs = inputs  # (position or keyword, buffer)
        self._persistent = list(recorder.persistent.values())
        self._output = output
        self._objects = recorder.objects
        self.leaves = list(recorder.leaves)
        self._modules = [(m, _module_settings(m)) for m in recorder.modules.values()]
        self._cells, self._names = recorder.cells, recorder.names
        hooks = _post_accumulate_hooks()
        self._reads = [(t, array, t._requires_grad, bool(t._hooks) or id(t) in hooks)
                       for t, array in self._persistent]  # (whether it has hooks)
        self._runs = _schedule(self.entries, self.once, recorder.carries)

    def valid(self) -> bool:
        """False once a tensor the tape reads has been given a new array (`t.data = ...`), or
        a setting that decides the step's calls changed since the capture: a module the step
        called switched between train() and eval(), given other submodules, parameters or
        forward hooks; a tensor it reads given requires_grad or a hook; a variable it reads
        (a global or closure variable of its functions) given another value."""
        hooks = _post_accumulate_hooks()
        for tensor, array, requires_grad, hooked in self._reads:
            if tensor.data is not array or tensor._requires_grad is not requires_grad:
                return False
            if hooked:
                if not (tensor._hooks or id(tensor) in hooks):
                    return False
            elif tensor._hooks or hooks and id(tensor) in hooks:  # usually no hook anywhere
                return False
        try:
            for module, settings in self._modules:
                if _module_settings(module) != settings:
                    return False
            for cell, value in self._cells:
                if cell.cell_contents is not value:
                    return False
        except ValueError:  # a closure variable deleted since, a setting holding new arrays
            return False
        for space, name, value in self._names:
            if space.get(name) is not value:
                return False
        return True

    def replay(self, args: tuple, kwargs: dict) -> Any:
        Tensor = _tensor()
        for where, buffer in self._inputs:
            value = args[where] if type(where) is int else kwargs[where]
            np.copyto(buffer, value.data if isinstance(value, Tensor) else value)
        for run in self._runs:
            run()
        return self._output()

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        names: dict[int, str] = {}
        for where, buffer in self._inputs:
            names[id(_root(buffer))] = f"in[{where}]"
        for i, (_, array) in enumerate(self._persistent):
            names.setdefault(id(_root(array)), f"p{i}")

        def name(value: Any) -> str:
            if not isinstance(value, np.ndarray):
                return repr(value)[:24]
            label = names.setdefault(id(_root(value)), f"b{len(names)}")
            return f"{label}{list(value.shape)}"

        calls = sum(not e.op.startswith(("call", "grad", "version")) and e.name != "guard"
                    for e in self.entries)
        once = f", {len(self.once)} of them run once at capture" if self.once else ""
        lines = [f"Tape: {len(self.entries)} operations ({calls} NumPy calls into buffers{once}, "
                 f"{len(self.entries) - calls} Python-level), {len(self._inputs)} inputs"]
        for i, e in enumerate(self.entries):
            operands = ", ".join(name(a) for a in e.inputs)
            results = ", ".join(name(a) for a in e.outputs if a is not None) or "-"
            mark = "   (once: reads constants only)" if i in self.once else ""
            lines.append(f"{i:4d}  {e.op:<20} {e.name:<16}{operands} -> {results}   "
                         f"{e.where}{mark}")
        return "\n".join(lines)


def _computed_once(candidates: list, constants: set[int], exposed: set[int]) -> set[int]:
    """The entries a replay skips: ufunc calls on constants alone (the implicit backward seed,
    and what is computed from it alone, such as seed / n in the gradient of a mean) whose
    result no later call writes and the step does not hand out (as a `.grad`, or to a
    replayed call). Their buffers keep the capture's values, which every replay would
    compute again."""
    once = set()
    for index, result, operands in candidates:  # in order: a dropped one drops what uses it
        if result in exposed or not constants.issuperset(operands) \
                or not exposed.isdisjoint(operands):
            constants.discard(result)
        else:
            once.add(index)
    return once


def _schedule(entries: list[_Entry], once: set[int], carries: dict[int, list]) -> list[Callable]:
    """What a replay calls, in order: the entries not computed once, and the carries, each
    before the entry that made the buffer it saves."""
    runs = list(map(operator.attrgetter("run"), entries))
    for i in sorted({*once, *carries}, reverse=True):  # from the end: indices hold
        runs[i:i + (i in once)] = carries.get(i, ())
    return runs


def _carry(leaf: Any, direct: Any, summed: Any) -> None:
    """A gradient the last replay gave a leaf in the walk's buffer, which the step adds to
    but the walk is about to overwrite: moved to the leaf's sum buffer first."""
    if leaf._grad is direct:
        np.copyto(summed.data, direct.data)
        leaf._grad = summed


def _module_settings(module: Any) -> tuple:
    """What decides a module's calls besides its inputs: its submodules, parameters and hooks
    (by identity), and its attributes that are plain numbers, strings or flags (by value: a
    Dropout's p, a LeakyReLU's slope, training)."""
    return (*[v for v in vars(module).values() if type(v) in _PLAIN],
            *map(id, module._modules.values()),
            *map(id, module._parameters.values()), *map(id, module._forward_pre_hooks or ()),
            None, *map(id, module._forward_hooks or ()))


_PLAIN = {int, float, bool, str, NoneType, tuple}
