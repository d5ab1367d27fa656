"""`save` and `load`: a state dict as a `.npz` file (NumPy's zip of `.npy` arrays), never pickle.

The file is exactly what `np.savez` writes, so `np.load(path, allow_pickle=False)` reads it
anywhere without this library. `save` writes a temporary file beside `path` and renames it
over `path` only once it is complete, so a crash or Ctrl-C mid-save keeps the old checkpoint.
"""

from __future__ import annotations

import os
import uuid
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from autograd import Tensor


def _check_no_collision(keys: list[str], where: str) -> None:
    """`np.load` strips '.npy' from member names, so keys 'a' and 'a.npy' would read alike."""
    for key in keys:
        if key.endswith(".npy") and key[:-4] in keys:
            raise ValueError(f"{where}: keys {key[:-4]!r} and {key!r} collide (NumPy reads "
                             "both as the same array); rename one")


def save(state_dict: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write `state_dict` (name -> array or tensor) to `path` as an `.npz` archive.

    The file is written at exactly `path` (no `.npz` appended), atomically: a temporary file
    in the same directory is filled, flushed to disk and renamed over `path` (`os.replace`).
    Object arrays are refused, because they could only be stored by pickling.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"nn.save: state_dict must be a mapping of names to arrays, got "
                        f"{type(state_dict).__name__}")
    arrays = OrderedDict()
    for name, value in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"nn.save: state dict keys must be strings, got {name!r}")
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        if array.dtype.hasobject:
            raise TypeError(f"nn.save: cannot save {name!r}: an object array would need pickle")
        arrays[name] = array
    _check_no_collision(list(arrays), f"nn.save({os.fspath(path)!r})")
    directory, base = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{base}.{uuid.uuid4().hex}.tmp")
    # os.open applies the umask, so the checkpoint gets a normal file's permissions
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as f:
        try:
            with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED,
                                 allowZip64=True) as zf:
                for name, array in arrays.items():
                    with zf.open(name + ".npy", mode="w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        except BaseException:
            f.close()
            os.remove(temporary)
            raise
    os.replace(temporary, path)


def load(path: str | os.PathLike) -> OrderedDict[str, np.ndarray]:
    """Read a file written by `save` (or `np.savez`) into a name -> `np.ndarray` dict.

    Anything else is refused with a ValueError naming the file (and the member): a file that
    is not a zip archive, a member that is not a `.npy` array (or is torn), an object array,
    keys that collide.
    """
    where = f"nn.load({os.fspath(path)!r})"
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ValueError(f"{where}: not an .npz checkpoint (not a zip archive)") from None
    arrays = OrderedDict()
    with archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                raise ValueError(f"{where}: member {member!r} is not an .npy array")
            key = member[:-4]
            if key in arrays:
                raise ValueError(f"{where}: entry {key!r} appears twice")
            try:
                with archive.open(member) as f:
                    arrays[key] = np.lib.format.read_array(f, allow_pickle=False)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
                raise ValueError(f"{where}: entry {key!r} is not a readable .npy array "
                                 f"({error})") from None
    _check_no_collision(list(arrays), where)
    return arrays
