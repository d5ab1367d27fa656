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

from .compiled import Compiled, compile
from .state import CompileError, _capture, _engine, data_of, replayed
from .tape import Tape, _backward_label
from .traced import _Traced, asarray

__all__ = ["compile", "replayed", "CompileError", "Compiled", "Tape"]
