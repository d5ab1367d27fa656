"""`ag.compile`: capture a step's NumPy calls once, replay them (see recorder.py)."""

from .recorder import (
    Compiled,
    CompileError,
    Tape,
    _backward_label,
    _capture,
    _engine,
    _Traced,
    asarray,
    compile,
    data_of,
    replayed,
)

__all__ = ["compile", "replayed", "CompileError", "Compiled", "Tape"]
