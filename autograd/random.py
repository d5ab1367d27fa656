"""The global random generator behind `rand`, `randn`, dropout and `nn.init`."""

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the global generator, so that every draw after it repeats run to run."""
    global _generator
    _generator = np.random.default_rng(seed)


def get_generator() -> np.random.Generator:
    """The generator every random draw in the library takes its numbers from."""
    return _generator
