"""The global random generator behind `rand`, `randn`, dropout and `nn.init`."""

import numpy as np

from .compile import _capture  # ag.compile's hooks

# Mixed into the seed so that `manual_seed(n)` does not give the same stream as
# `np.random.default_rng(n)`: data drawn with one and weights with the other stay independent.
_STREAM = 0x6175746F  # "auto"

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the global generator, so that every draw after it repeats run to run. Its stream
    differs from `np.random.default_rng(seed)`'s, so data drawn with NumPy under the same
    seed stay independent of the weights."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"manual_seed: seed must be >= 0, got {seed}")
    _generator = np.random.default_rng([seed, _STREAM])


def get_generator() -> np.random.Generator:
    """The generator every random draw in the library takes its numbers from."""
    if _capture.recorder is not None:  # ag.compile: a draw outside a @replayed function
        _capture.recorder.escape("get_generator()", None)
    return _generator
