"""The traced arrays: `_Traced`, the ndarray subclass that a captured step computes with,
whose NumPy calls are recorded into the tape being captured (and act as plain outside a
capture); `_plain` and `_root`, which see through them; `asarray`, which keeps them traced."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .state import _capture, _tensor


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


def asarray(value: Any) -> np.ndarray:
    """np.asarray, except that an array computed in a step being captured stays traced (as a
    plain array the NumPy calls on it would not be recorded, and replays would reuse them)."""
    return value if type(value) is _Traced else np.asarray(value)
