"""`save` and `load`: a state dict as a `.npz` file (NumPy's zip of `.npy` arrays), never pickle.

The file is exactly what `np.savez` writes, so `np.load(path, allow_pickle=False)` reads it
anywhere without this library.
"""

from __future__ import annotations

import os
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from autograd import Tensor


def save(state_dict: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write `state_dict` (name -> array or tensor) to `path` as an `.npz` archive.

    The file is written at exactly `path` (no `.npz` appended). Object arrays are refused,
    because they could only be stored by pickling.
    """
    arrays = OrderedDict()
    for name, value in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"state dict keys must be strings, got {name!r}")
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        if array.dtype.hasobject:
            raise TypeError(f"cannot save {name!r}: an object array would need pickle")
        arrays[name] = array
    with zipfile.ZipFile(path, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in arrays.items():
            with zf.open(name + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def load(path: str | os.PathLike) -> OrderedDict[str, np.ndarray]:
    """Read a file written by `save` (or `np.savez`) into a name -> `np.ndarray` dict."""
    with np.load(path, allow_pickle=False) as archive:
        return OrderedDict((name, archive[name]) for name in archive.files)
