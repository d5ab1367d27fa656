"""The compiled callable: `compile` and `Compiled`, which capture a step once per signature of
its arguments (`_key`) and replay the tape on later calls; what a step reaches without calling
anything (`_reached`: the tensors traced from its start, the variables its tape holds for);
what rebuilds its return value after a replay (`_mirror`); and `check=True`, which runs the
step eagerly beside each replay and compares."""

from __future__ import annotations

import copy
import functools
import inspect
import warnings
from collections import OrderedDict
from collections.abc import Callable
from types import FunctionType, MethodType, ModuleType
from typing import Any

import numpy as np

from ..grad_mode import _mode
from .recorder import _Recorder
from .state import CompileError, _capture, _shown_name, _tensor
from .tape import Tape, _describe
from .traced import _plain


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
def _same(a: Any, b: Any) -> bool:
    """Equal bit for bit (NaNs and signed zeros included)."""
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        return a is b or (a is not None and b is not None and np.array_equal(a, b))
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


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
