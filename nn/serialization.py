"""`save` and `load`: a state dict as a `.npz` file (NumPy's zip of `.npy` arrays), never pickle.

The file is exactly what `np.savez` writes, so `np.load(path, allow_pickle=False)` reads it
anywhere without this library. `save` writes a temporary file beside `path` and renames it
over `path` only once it is complete, so a crash or Ctrl-C mid-save keeps the old checkpoint.

A nested checkpoint, as `torch.save` takes it ({'model': model.state_dict(), 'optimizer':
opt.state_dict(), 'epoch': 3}), keeps its arrays as members named by their dotted paths and its
layout (dicts, lists, tuples, numbers, strings, None) as JSON text in one more member.
"""

from __future__ import annotations

import json
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


_LAYOUT = "__layout__"  # the member holding a nested checkpoint's layout


def _as_array(value: Any) -> np.ndarray | None:
    """`value` as a plain array, or None when it would be an object array (or is ragged)."""
    try:
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
    except ValueError:
        return None
    return None if array.dtype.hasobject else array


def _flatten(value: Any, path: list[str], arrays: dict[str, np.ndarray]) -> Any:
    """The JSON layout of a nested checkpoint; its arrays go into `arrays` by dotted path."""
    if isinstance(value, (Tensor, np.ndarray, np.generic)):
        name = ".".join(path)
        if name in arrays or name == _LAYOUT:
            raise ValueError(f"nn.save: two entries of the checkpoint are named {name!r}")
        arrays[name] = _as_array(value)
        if arrays[name] is None:
            raise TypeError(f"nn.save: cannot save {name!r}: an object array would need pickle")
        return {"array": name}
    if isinstance(value, Mapping):
        for key in value:
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"nn.save: keys must be strings or ints, got {key!r} in "
                                f"{'.'.join(path) or 'the checkpoint'}")
        return {"dict": [[key, _flatten(item, [*path, str(key)], arrays)]
                         for key, item in value.items()]}
    if isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        return {kind: [_flatten(item, [*path, str(i)], arrays) for i, item in enumerate(value)]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    raise TypeError(f"nn.save: cannot save {'.'.join(path)!r}, a {type(value).__name__}: only "
                    "arrays, tensors, numbers, strings, None, dicts, lists and tuples (no pickle)")


def _unflatten(layout: dict, arrays: Mapping[str, np.ndarray]) -> Any:
    (kind, content), = layout.items()
    if kind == "array":
        return arrays[content]
    if kind == "dict":
        return {key: _unflatten(item, arrays) for key, item in content}
    if kind in ("list", "tuple"):
        items = [_unflatten(item, arrays) for item in content]
        return items if kind == "list" else tuple(items)
    return content


def save(state_dict: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write `state_dict` (name -> array or tensor) to `path` as an `.npz` archive; a nested
    checkpoint (an optimizer's state dict, {'model': ..., 'epoch': 3}) is kept as it is.

    The file is written at exactly `path` (no `.npz` appended), atomically: a temporary file
    in the same directory is filled, flushed to disk and renamed over `path` (`os.replace`).
    Objects that could only be stored by pickling are refused.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"nn.save: state_dict must be a mapping of names to arrays, got "
                        f"{type(state_dict).__name__}")
    arrays = OrderedDict((name, _as_array(value)) for name, value in state_dict.items())
    flat = all(isinstance(name, str) for name in arrays) and _LAYOUT not in arrays \
        and all(array is not None for array in arrays.values())  # written as np.savez writes it
    if not flat:
        arrays = OrderedDict()
        layout = json.dumps(_flatten(state_dict, [], arrays))
        arrays[_LAYOUT] = np.frombuffer(layout.encode(), dtype=np.uint8)
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


def load(path: str | os.PathLike) -> Any:
    """Read a file written by `save` (or `np.savez`) into a name -> `np.ndarray` dict, or into
    the nested checkpoint that was saved.

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
    if _LAYOUT in arrays:
        return _unflatten(json.loads(arrays.pop(_LAYOUT).tobytes().decode()), arrays)
    return arrays
