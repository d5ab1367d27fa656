"""The state of a capture and the hooks that the rest of autograd, nn and optim import:
`CompileError`, `_capture` (which recorder the hooks and traced arrays report to), `replayed`,
`data_of`, the late imports of the engine and Tensor (engine.py and tensor.py import this
package), and where in the source a call is (the paths of the library's files, the step's
file:line). It imports nothing else of the package, so that every part can import it."""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import kernels

if TYPE_CHECKING:
    from .recorder import _Recorder


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
_OWN = os.path.dirname(__file__) + os.sep  # the files of this package
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


def _library_line() -> str | None:
    """"package/file.py:line (function)" of the innermost frame outside this package, if it is in
    autograd, nn or optim: library code that read a value, not the user's step."""
    frame = sys._getframe(1)
    while frame.f_code.co_filename.startswith(_OWN):
        frame = frame.f_back
    path = frame.f_code.co_filename
    if not path.startswith(_PACKAGES):
        return None
    where = os.path.relpath(path, os.path.dirname(_HERE))
    return f"{where}:{frame.f_lineno} ({frame.f_code.co_name})"
