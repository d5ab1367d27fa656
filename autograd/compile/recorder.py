"""`ag.compile(fn)`: run a step once eagerly while recording the NumPy calls it makes, then
replay them on later calls with the same input shapes and dtypes.

Recording is at the NumPy level. While a step is captured, the arrays it computes are
`_Traced` ndarrays: a NumPy call on one (a ufunc, a NumPy function, or one of the few methods
that bypass NumPy's protocols: copy, astype, fill, indexing) runs as usual and is appended to
the tape, its result kept as the buffer that the replay writes into. So what the tape holds
are the calls of the ops' own forward and backward rules (autograd/ops), of the engine's own
backward walk, of the Numba kernels and BLAS. This module adds only what is not a NumPy call:
the `.grad` assignments and version bumps a replay repeats, and calls marked `@replayed`
(optimizer and schedule steps, random draws), which it calls again. A replay runs the recorded
calls into the same buffers in the eager order, so it builds no tensors or nodes and gets the
eager values bit for bit. Arrays that are not traced (parameters before their first use,
constants) are read by reference, so a replay sees their current values.
"""

from __future__ import annotations

import copy
import functools
import inspect
import operator
import os
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from types import FunctionType, MethodType, ModuleType, NoneType
from typing import Any, NamedTuple

import numpy as np

from .. import blas, kernels
from ..grad_mode import _mode

__all__ = ["compile", "replayed", "CompileError", "Compiled", "Tape"]


class CompileError(RuntimeError):
    """A step does something a tape cannot replay (raised at capture), or, under
    `check=True`, a replay that differs from the eager run."""


class _Capture(threading.local):
    recorder: _Recorder | None = None  # the hooks in function, engine, tensor and random.py
    tape: _Recorder | None = None  # what traced arrays record into (None: they act as plain)


_capture = _Capture()
kernels._capture = _capture  # a kernel call during a capture is recorded as one call
# the autograd directory (this package's parent), from which the paths below are named
_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PACKAGES = tuple(os.path.join(os.path.dirname(_HERE), name) + os.sep
                  for name in ("autograd", "nn", "optim"))
_SKIPPED = _PACKAGES + (os.path.dirname(np.__file__) + os.sep,)


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


def asarray(value: Any) -> np.ndarray:
    """np.asarray, except that an array computed in a step being captured stays traced (as a
    plain array the NumPy calls on it would not be recorded, and replays would reuse them)."""
    return value if type(value) is _Traced else np.asarray(value)


def data_of(tensor: Any) -> np.ndarray:
    """`tensor.data`, for a NumPy call outside the op table (a comparison, argmax, the max
    that softmax subtracts): in a step being captured the data is first traced, so that the
    call is recorded and follows the tensor's new values on replay. A tensor no op of the step
    has read yet, such as a parameter, has plain data, and a call on that would replay frozen."""
    recorder = _capture.recorder
    if recorder is not None:
        recorder._traced_tensor(tensor)
    return tensor.data


# ---- small helpers --------------------------------------------------------------------------
@functools.cache
def _engine() -> Any:
    from .. import engine  # imported late: engine.py imports this package
    return engine


@functools.cache
def _post_accumulate_hooks() -> dict:
    return _engine()._post_accumulate_hooks


@functools.cache
def _tensor() -> type:
    from ..tensor import Tensor  # imported late: tensor.py imports this package
    return Tensor


@functools.cache
def _shown_name(path: str) -> str | None:
    """A source file's name as a tape shows it; None for the files of autograd, nn, optim and
    NumPy, which are not the step's."""
    return None if path.startswith(_SKIPPED) else path.rpartition(os.sep)[2]


def _user_line(depth: int = 2) -> str:
    """file:line of the innermost frame outside autograd, nn, optim and NumPy, from the frame
    `depth` levels up (the callers skip the frames they know are the library's). Cached by
    code object (by id, see _global_names) and instruction: f_lineno scans the code's line
    table from its start, and a step's ops call this from the same few lines over and over."""
    frame = sys._getframe(depth)
    while frame is not None:
        code = frame.f_code
        name = _shown_name(code.co_filename)
        if name is not None:
            key = (id(code), frame.f_lasti)
            known = _LINES.get(key)
            if known is None or known[0] is not code:
                known = _LINES[key] = (code, f"{name}:{frame.f_lineno}")
            return known[1]
        frame = frame.f_back
    return "?"


_LINES: dict[tuple[int, int], tuple[Any, str]] = {}  # (id(code), f_lasti) -> (code, line)


def _global_names(code: Any) -> tuple[str, ...] | None:
    """The names a code object of the user's files and the code nested in it (lambdas,
    comprehensions) look up; None for code of autograd, nn, optim and NumPy. Cached by id, as
    hashing a code object hashes all of its contents."""
    known = _GLOBAL_NAMES.get(id(code))
    if known is None or known[0] is not code:
        names = None if _shown_name(code.co_filename) is None else code.co_names + sum(
            (_global_names(c) or () for c in code.co_consts if inspect.iscode(c)), ())
        known = _GLOBAL_NAMES[id(code)] = (code, names)
    return known[1]


_GLOBAL_NAMES: dict[int, tuple[Any, tuple[str, ...] | None]] = {}


_REACHED_ITEMS = 256  # a list, tuple or dict longer than this is data, not the step's tensors


def _reached(fn: Callable, args: tuple, kwargs: dict) -> tuple[list, list, list]:
    """The tensors a step reaches without calling anything, and the bindings it reaches them
    by. Tensors: through its arguments, the closures and global names of fn and of the
    functions of the user's files these hold, the object of a bound method, a module's
    parameters and buffers, an optimizer's parameters, the items of short lists, tuples and
    dicts; their data is traced from the step's start, so that NumPy on it is recorded before
    any op has read it. Then the variables of those functions other than modules and classes,
    as (closure cell, value) and (globals, name, value): a tape holds while each still binds
    its value (a new learning rate or tensor assigned to a global captures again)."""
    Tensor, found, cells, names, seen = _tensor(), {}, [], [], set()
    fixed = (ModuleType, type)  # modules and classes: not rebound in practice, not checked
    todo = [fn, *args, *kwargs.values()]
    while todo:
        value = todo.pop()
        if isinstance(value, Tensor):
            found[id(value)] = value
            continue
        if id(value) in seen:
            continue
        seen.add(id(value))
        kind = type(value)
        if kind is FunctionType:
            looked_up = _global_names(value.__code__)
            if looked_up is None:
                continue  # the library's, or NumPy's
            for cell in value.__closure__ or ():
                try:
                    bound = cell.cell_contents
                except ValueError:  # a variable of the enclosing function not yet assigned
                    continue
                if not isinstance(bound, fixed):
                    cells.append((cell, bound))
                    todo.append(bound)
            space = value.__globals__
            for name in looked_up:
                if name in space and not isinstance(space[name], fixed):
                    names.append((space, name, space[name]))
                    todo.append(space[name])
        elif kind is list or kind is tuple or kind is dict:
            if len(value) <= _REACHED_ITEMS:
                todo.extend(value.values() if kind is dict else value)
        elif kind is MethodType:
            todo += (value.__func__, value.__self__)
        elif hasattr(kind, "add_param_group"):  # an optimizer
            for group in value.param_groups:
                todo += group["params"]
        elif hasattr(kind, "parameters") and hasattr(kind, "buffers"):  # a module
            todo += (*value.parameters(), *value.buffers())
    return list(found.values()), cells, names


def _library_line() -> str | None:
    """"package/file.py:line (function)" of the innermost frame outside this file, if it is in
    autograd, nn or optim: library code that read a value, not the user's step."""
    frame = sys._getframe(1)
    while frame.f_code.co_filename == __file__:
        frame = frame.f_back
    path = frame.f_code.co_filename
    if not path.startswith(_PACKAGES):
        return None
    where = os.path.relpath(path, os.path.dirname(_HERE))
    return f"{where}:{frame.f_lineno} ({frame.f_code.co_name})"


def _hook_names(tensor: Any, post_accumulate_hooks: dict) -> str:
    hooks = [*(tensor._hooks or ()), *post_accumulate_hooks.get(id(tensor), ())]
    return ", ".join(f"{getattr(h, '__module__', '?')}.{getattr(h, '__qualname__', h)}"
                     for h in hooks)


def _same(a: Any, b: Any) -> bool:
    """Equal bit for bit (NaNs and signed zeros included)."""
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        return a is b or (a is not None and b is not None and np.array_equal(a, b))
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _plain(value: Any) -> Any:
    """A traced array as a plain view of its memory; lists and tuples of them likewise."""
    kind = type(value)
    if kind is _Traced:
        return value.view(np.ndarray)
    if (kind is tuple or kind is list) and not _NESTING.isdisjoint(map(type, value)):
        return kind([v.view(np.ndarray) if type(v) is _Traced
                     else _plain(v) if type(v) in _NESTING else v for v in value])
    return value

def _root(array: np.ndarray) -> np.ndarray:
    """The array that owns `array`'s memory."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.shape} {value.dtype}"
    return repr(value)[:30]


def _copy_into(out: np.ndarray, compute: Callable) -> None:
    value = compute()
    if np.shape(value) != out.shape:  # a boolean mask that selects another count
        raise CompileError(f"ag.compile: a NumPy call gave shape {np.shape(value)} where the "
                           f"capture got {out.shape}; run this step eagerly")
    np.copyto(out, value)


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


# ---- traced arrays --------------------------------------------------------------------------
class _Traced(np.ndarray):
    """An array computed while a step is captured: each NumPy call on it runs eagerly and is
    recorded. Outside a capture it acts as a plain array (its results are plain)."""

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        tape = _capture.tape
        if tape is not None:
            return tape.ufunc(ufunc, method, inputs, kwargs)
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = _plain(out)
        result = getattr(ufunc, method)(*_plain(inputs), **kwargs)
        return result if out is None else out[0] if len(out) == 1 else out

    def __array_function__(self, func: Callable, types: tuple, args: tuple,
                           kwargs: dict) -> Any:
        tape = _capture.tape
        if tape is not None:
            Tensor = _tensor()
            for t in types:
                if issubclass(t, Tensor):
                    return NotImplemented
            return tape.function(func, args, kwargs)
        return func._implementation(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})

    def __getitem__(self, index: Any) -> Any:
        return _method(self, np.ndarray.__getitem__, "getitem", (index,), {})

    def __setitem__(self, index: Any, value: Any) -> None:
        tape = _capture.tape
        if tape is None:
            self.view(np.ndarray)[_plain(index)] = _plain(value)
        else:
            tape.setitem(self, index, value)

    def fill(self, value: Any) -> None:
        self[...] = value

    def copy(self, order: str = "C") -> np.ndarray:
        return _method(self, np.ndarray.copy, "copy", (order,), {})

    def astype(self, *args: Any, **kwargs: Any) -> np.ndarray:
        return _method(self, np.ndarray.astype, "astype", args, kwargs)

    def __repr__(self) -> str:  # printing inside a step shows the capture's values
        return repr(self.view(np.ndarray))

    def __str__(self) -> str:
        return str(self.view(np.ndarray))

    def _escape(self, method: str, what: str, *args: Any) -> Any:
        tape = _capture.tape
        if tape is not None:
            tape.escape(what, self)
        return getattr(np.ndarray, method)(self.view(np.ndarray), *args)

    def __bool__(self) -> bool:
        tape = _capture.tape
        flag = np.ndarray.__bool__(self.view(np.ndarray))
        if tape is not None:  # a Python branch: the replay checks that it goes the same way
            tape.guard(self, flag)
        return flag

    def __float__(self) -> float:
        return self._escape("__float__", "float()")

    def __int__(self) -> int:
        return self._escape("__int__", "int()")

    def __index__(self) -> int:
        return self._escape("__index__", "use as an index")

    def item(self, *args: Any) -> Any:
        return self._escape("item", ".item()", *args)

    def tolist(self) -> Any:
        return self._escape("tolist", ".tolist()")


_NESTING = frozenset((_Traced, tuple, list))  # the types _plain and _read look into


def _method(array: _Traced, method: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    tape = _capture.tape
    if tape is None:
        return method(array.view(np.ndarray), *_plain(args), **kwargs)
    return tape.method(array, method, name, args, kwargs)


def _recorded_method(name: str) -> Callable:
    """An ndarray method that may copy without calling a ufunc, recorded as a call."""
    plain = getattr(np.ndarray, name)

    def method(self: _Traced, *args: Any, **kwargs: Any) -> Any:
        return _method(self, plain, name, args, kwargs)
    return method


for _name in ("reshape", "ravel", "flatten", "argmax", "argmin", "take", "repeat", "round",
              "cumsum", "dot", "nonzero", "argsort"):
    setattr(_Traced, _name, _recorded_method(_name))
del _name


# ---- tape ---------------------------------------------------------------------------------
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


# ---- the recorder -----------------------------------------------------------------------------
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
        if name:  # the common call (one output, no keywords), with _read and _trace inline
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
            result = ufunc(*inputs)
            if type(result) is not np.ndarray:
                result = np.asarray(result)
            traced = np.ndarray.copy(result.view(_Traced), "K")
            out = known[id(traced)] = traced.view(np.ndarray)
            self.born[id(traced)] = len(self.entries)
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
        _capture.recorder = _capture.tape = None  # (_unrecorded, inline)
        try:
            return fn(*args, **kwargs)
        finally:
            _capture.recorder = _capture.tape = self
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
        _capture.recorder = None  # (_hooks_off, inline)
        try:
            captured = engine._run(roots, seeds, keep_graph, False, capture)
        finally:
            _capture.recorder, self.op = self, op
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


def _module_settings(module: Any) -> tuple:
    """What decides a module's calls besides its inputs: its submodules, parameters and hooks
    (by identity), and its attributes that are plain numbers, strings or flags (by value: a
    Dropout's p, a LeakyReLU's slope, training)."""
    return (*[v for v in vars(module).values() if type(v) in _PLAIN],
            *map(id, module._modules.values()),
            *map(id, module._parameters.values()), *map(id, module._forward_pre_hooks or ()),
            None, *map(id, module._forward_hooks or ()))


_PLAIN = {int, float, bool, str, NoneType, tuple}


def _bump(version: list) -> None:
    version[0] += 1


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
    if isinstance(value, Tensor) and isinstance(value.data, np.ndarray) \
            and recorder._owner(value.data) is not None:
        data = value.data.view(np.ndarray)
        return lambda: Tensor._make(data.copy(), False, None, 0)
    if isinstance(value, np.ndarray) and recorder._owner(value) is not None:
        return value.view(np.ndarray).copy
    if isinstance(value, (tuple, list)):
        parts = [_mirror(v, recorder) for v in value]
        kind = type(value)
        return lambda: kind([p() for p in parts])
    if isinstance(value, dict):
        parts_by_key = {k: _mirror(v, recorder) for k, v in value.items()}
        return lambda: {k: p() for k, p in parts_by_key.items()}
    return lambda: value


RECAPTURES_WARNED = 8


class Compiled:
    """What `ag.compile(fn)` returns: call it like fn. `.tape` is the tape of the latest
    call (print it), `.tapes` all of them, most recently used last."""

    def __init__(self, fn: Callable, check: bool = False, cache_size: int = 8):
        functools.update_wrapper(self, fn)
        self.fn, self.check, self.cache_size = fn, check, cache_size
        self.tapes: OrderedDict[tuple, Tape] = OrderedDict()
        self.tape: Tape | None = None
        self._recaptures = 0  # captures of a signature whose tape no longer held

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = (tuple([_key(a) for a in args]) if args else (),
               tuple(sorted([(k, _key(v)) for k, v in kwargs.items()])) if kwargs else (),
               _mode.enabled)  # under no_grad() the step builds no graph: another tape
        tape = self.tapes.get(key)
        if tape is None or not tape.valid():
            if tape is not None:
                self._recaptures += 1
                if self._recaptures == RECAPTURES_WARNED:
                    name = getattr(self.fn, "__name__", "...")
                    warnings.warn(
                        f"ag.compile({name}): captured again {RECAPTURES_WARNED} times, "
                        "as a setting or variable it reads keeps changing (a capture costs "
                        "several eager steps). Pass a changing number as an argument (a tape "
                        "for each value), or run the step eagerly.", RuntimeWarning,
                        stacklevel=2)
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
        if _capture.recorder is not None or _capture.tape is not None:
            raise CompileError("ag.compile: a compiled function called while another is "
                               "being captured; compile the outer one only")
        Tensor = _tensor()
        recorder, inputs = _Recorder(), []

        def bind(where: Any, value: Any) -> Any:
            if isinstance(value, Tensor) and not value._requires_grad:
                value = Tensor._make(recorder._trace(value.data), False, None, 0)
                buffer = _plain(value.data)
                recorder._untraced(value)
            elif isinstance(value, np.ndarray):
                value = recorder._trace(value)
                buffer = _plain(value)
            else:
                return value
            inputs.append((where, buffer))
            return value

        if args:
            args = tuple([bind(i, a) for i, a in enumerate(args)])
        if kwargs:
            kwargs = {k: bind(k, v) for k, v in kwargs.items()}
        tensors, recorder.cells, recorder.names = _reached(self.fn, args, kwargs)
        for tensor in tensors:  # the inputs among them are traced already
            recorder._traced_tensor(tensor)
        _capture.recorder = _capture.tape = recorder
        try:
            result = self.fn(*args, **kwargs)
        finally:
            _capture.recorder = _capture.tape = None
            recorder.restore()
        output = _mirror(result, recorder)
        return output(), Tape(recorder, inputs, output)


def compile(fn: Callable, check: bool = False) -> Compiled:
    """Capture `fn` (a training or evaluation step on tensors) once per signature of input
    shapes and dtypes, and replay the recorded array operations on later calls; results equal
    the eager ones bit for bit. `check=True` also runs fn eagerly on every call and raises
    `CompileError` on the first operation where the replay differs (slow: for debugging)."""
    if not callable(fn):
        raise TypeError(f"ag.compile: expected a function to compile, got {type(fn).__name__}")
    return Compiled(fn, check)


# ---- check=True ------------------------------------------------------------------------------
def _state(tape: Tape) -> dict:
    """Copies of everything a step changes outside its buffers: the tensors it reads, the
    leaves' gradients, the optimizers' and schedules' state, the random generator."""
    from .. import random
    generator = random._generator
    return {
        "arrays": [(t, t.data.copy()) for t, _ in tape._persistent],
        "grads": [(leaf, leaf.grad, None if leaf.grad is None else leaf.grad.data.copy())
                  for leaf in tape.leaves],
        "objects": [(o, copy.deepcopy(o.state_dict())) for o in tape._objects.values()],
        "random": (generator, copy.deepcopy(generator.bit_generator.state)),
    }


def _restore(state: dict) -> None:
    from .. import random
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
                f"ran {theirs.name} in {theirs.op} {[_describe(a) for a in theirs.inputs]} at "
                f"{theirs.where}, the tape has {ours.name} in {ours.op} at {ours.where}. A "
                "Python branch on a value the tape cannot see decides which operations run.")
        for a, b in zip(ours.outputs, theirs.outputs):
            if a is not None and not _same(a, b):
                raise CompileError(
                    f"ag.compile(check=True): operation {i}, {ours.name} in {ours.op} at "
                    f"{ours.where}, gives other values in the replay than in eager: it reads a "
                    "value the tape froze at capture (an array copied with np.array, a plain "
                    "array indexed by the step's values as in np.eye(3)[y], a Python number "
                    "taken from a tensor, a global changed between calls).")
    if len(tape.entries) != len(eager.entries):
        raise CompileError(f"ag.compile(check=True): the eager step ran {len(eager.entries)} "
                           f"operations, the tape has {len(tape.entries)}")
    for (t, ours), (_, theirs) in zip(_state(tape)["arrays"], after["arrays"]):
        if not _same(ours, theirs):
            raise CompileError(f"ag.compile(check=True): a tensor of shape {t.shape} ends "
                               "the step with other values in the replay than in eager")
    return output
