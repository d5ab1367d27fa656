"""Grad modes: whether operations are recorded into the graph. Per thread, restored on exit."""

from __future__ import annotations

import functools
import inspect
import threading

import numpy as np


class _GradMode(threading.local):
    enabled = True


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are being recorded."""
    return _mode.enabled


class _GradModeContext:
    """Base of the grad-mode switches: a context manager that is also a decorator."""

    mode: bool

    def __enter__(self) -> None:
        self._previous = _mode.enabled
        _mode.enabled = self.mode

    def __exit__(self, *exc_info) -> None:
        _mode.enabled = self._previous

    def __call__(self, fn):
        mode = self.mode
        if inspect.isgeneratorfunction(fn):
            return _generator_in_mode(fn, mode)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return _in_mode(mode, fn, *args, **kwargs)
        return wrapper


def _in_mode(mode: bool, call, *args, **kwargs):
    """`call(*args, **kwargs)` with the grad mode `mode`, the previous mode restored after."""
    previous = _mode.enabled
    _mode.enabled = mode
    try:
        return call(*args, **kwargs)
    finally:
        _mode.enabled = previous


def _generator_in_mode(fn, mode: bool):
    """`fn`, a generator function, whose body runs in `mode` each time it is resumed (next,
    send, throw, close), as PyTorch's decorators do; the caller's mode holds between."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        gen = fn(*args, **kwargs)
        resume, value = gen.send, None
        while True:
            try:
                item = _in_mode(mode, resume, value)
            except StopIteration as stop:
                return stop.value
            try:
                value = yield item
                resume = gen.send
            except GeneratorExit:
                _in_mode(mode, gen.close)
                raise
            except BaseException as error:
                resume, value = gen.throw, error
    return wrapper


class _Switch(_GradModeContext):
    """A switch that also works as a bare decorator (`@no_grad`), as PyTorch's do."""

    def __new__(cls, fn=None):
        switch = super().__new__(cls)
        return switch if fn is None else switch(fn)


class no_grad(_Switch):
    """Record nothing inside: for evaluation and for updating parameters in place."""

    mode = False


class enable_grad(_Switch):
    """Record again inside a `no_grad` block."""

    mode = True


class set_grad_enabled(_GradModeContext):
    """`set_grad_enabled(mode)` switches recording on or off now; as a context manager the
    previous mode comes back when the block exits."""

    def __init__(self, mode: bool):
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {type(mode).__name__}")
        self._previous = _mode.enabled
        self.mode = bool(mode)
        _mode.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __call__(self, fn):
        _mode.enabled = self._previous  # used as a decorator: switch only inside the calls
        return super().__call__(fn)
