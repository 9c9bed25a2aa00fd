"""`torch.save` and `torch.load`: PyTorch's own file format, read without running code.

A file written here is a checkpoint real PyTorch loads with `torch.load(f, weights_only=True)`,
and a `torch.save` file of tensors (a state dict, nanoGPT's checkpoint dict with model args,
optimizer state and numbers) loads here. The format (torch's "zipfile" serialization, version 3):

    <name>/data.pkl        the object, pickled (protocol 2); each tensor is a call of
                           torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)
                           and each storage a persistent id ('storage', torch.FloatStorage,
                           key, 'cpu', numel) naming a record below
    <name>/data/<key>      the storage's bytes, little-endian
    <name>/byteorder, <name>/version, <name>/.format_version, <name>/.storage_alignment

Loading never runs code from the file: the unpickler accepts only the names a tensor checkpoint
uses (the rebuild functions, the storage types, `collections.OrderedDict`, torch's dtypes) and
refuses anything else in one line, as `torch.load(weights_only=True)` does. Sizes, offsets and
strides are checked against the stored bytes before any array is made, so a crafted file fails
with a clear error, never reads outside its data. Saving to a path writes a temporary file and
renames it, so an interrupted save never leaves a partial file.
"""

from __future__ import annotations

import io
import os
import pickle
import tempfile
import zipfile
from collections import OrderedDict
from typing import Any

import numpy as np

from micrograd.tensor import dtypes
from micrograd.tensor.core import Tensor

__all__ = ["load", "save"]

# Storage classes by numpy dtype, as torch names them in the pickle.
_STORAGE_OF = {
    np.dtype(np.float32): "FloatStorage",
    np.dtype(np.float64): "DoubleStorage",
    np.dtype(np.int64): "LongStorage",
    np.dtype(np.int32): "IntStorage",
    np.dtype(np.int16): "ShortStorage",
    np.dtype(np.int8): "CharStorage",
    np.dtype(np.uint8): "ByteStorage",
    np.dtype(np.bool_): "BoolStorage",
}
_DTYPE_OF = {name: dtype for dtype, name in _STORAGE_OF.items()}
# Storages torch writes whose tensors this engine cannot hold (see micrograd/tensor/dtypes.py).
_REFUSED_STORAGES = {
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
}

_DEFAULT_PROTOCOL = 2  # torch's


class UnpicklingError(pickle.UnpicklingError, RuntimeError):
    """A file this loader refuses: not a checkpoint, or one that would need code to load. Also a
    RuntimeError: PyTorch's zip reader raises that for a truncated or damaged file."""


# -- saving ------------------------------------------------------------------------------------


class _Global:
    """A reference to a name in torch, written into the pickle without importing torch."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> Any:  # pickle requires a callable reduce function
        raise TypeError(f"{self.module}.{self.name} is a name for the file, not a function here")


class _Storage:
    """One tensor's bytes, to be written as a record and referred to by a persistent id."""

    def __init__(self, key: str, array: np.ndarray) -> None:
        self.key, self.array = key, array


_REBUILD_TENSOR = _Global("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = _Global("torch._utils", "_rebuild_parameter")


class _Pickler(pickle._Pickler):  # the Python pickler: its dispatch table can be extended
    dispatch = pickle._Pickler.dispatch.copy()

    def __init__(self, file, protocol: int) -> None:
        super().__init__(file, protocol)
        self.storages: list[_Storage] = []
        self._keys: dict[int, _Storage] = {}

    def _save_global_ref(self, obj: _Global) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[_Global] = _save_global_ref

    def _save_dtype(self, obj: Any) -> None:
        # `torch.float32` in the file, as torch writes its dtypes
        self._save_global_ref(_Global("torch", obj.name))

    dispatch[dtypes.dtype] = _save_dtype

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _Storage):
            storage_type = _Global("torch", _STORAGE_OF[obj.array.dtype])
            return ("storage", storage_type, obj.key, "cpu", obj.array.size)
        return None

    def reducer_override(self, obj: Any) -> Any:
        if not isinstance(obj, Tensor):
            return NotImplemented
        array = np.require(obj.data, requirements="C")  # (ascontiguousarray makes 0-d 1-d)
        if array.dtype not in _STORAGE_OF:
            raise TypeError(f"torch.save: tensors of dtype {array.dtype} cannot be saved")
        storage = self._keys.get(id(obj))
        if storage is None:
            storage = _Storage(str(len(self.storages)), array)
            self.storages.append(storage)
            self._keys[id(obj)] = storage
        strides = tuple(s // array.itemsize for s in array.strides) if array.ndim else ()
        if _is_parameter(obj):
            inner = (
                _REBUILD_TENSOR,
                (storage, 0, tuple(array.shape), strides, False, OrderedDict()),
            )
            return (_REBUILD_PARAMETER, (_Rebuilt(inner), bool(obj.requires_grad), OrderedDict()))
        return (
            _REBUILD_TENSOR,
            (storage, 0, tuple(array.shape), strides, bool(obj.requires_grad), OrderedDict()),
        )


class _Rebuilt:
    """A nested rebuild call (a parameter's tensor) inside another one's arguments."""

    def __init__(self, reduce_value: tuple) -> None:
        self.reduce_value = reduce_value

    def __reduce__(self) -> tuple:
        return self.reduce_value


def _is_parameter(obj: Any) -> bool:
    from micrograd.tensor import nn

    parameter = getattr(nn, "Parameter", None)
    return isinstance(parameter, type) and isinstance(obj, parameter)


def save(
    obj: Any,
    f: Any,
    pickle_module: Any = None,
    pickle_protocol: int = _DEFAULT_PROTOCOL,
    _use_new_zipfile_serialization: bool = True,
    _disable_byteorder_record: bool = False,
) -> None:
    """Write `obj` (tensors inside dicts, lists, tuples, numbers, strings) to `f`, a path or a
    binary file, in torch's format."""
    if pickle_module is not None and pickle_module is not pickle:
        raise ValueError("torch.save: only the standard pickle module is supported")
    if not _use_new_zipfile_serialization:
        raise ValueError(
            "torch.save: only the zip file format is supported "
            "(_use_new_zipfile_serialization=False is torch's legacy format)"
        )
    buffer = io.BytesIO()
    pickler = _Pickler(buffer, pickle_protocol)
    pickler.dump(obj)
    name = _archive_name(f)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{name}/data.pkl", buffer.getvalue())
        archive.writestr(f"{name}/.format_version", "1")
        archive.writestr(f"{name}/.storage_alignment", "64")
        if not _disable_byteorder_record:
            archive.writestr(f"{name}/byteorder", "little")
        for storage in pickler.storages:
            data = storage.array.astype(storage.array.dtype.newbyteorder("<"), copy=False)
            archive.writestr(f"{name}/data/{storage.key}", data.tobytes())
        archive.writestr(f"{name}/version", "3\n")
    _write(f, out.getvalue())


def _archive_name(f: Any) -> str:
    if isinstance(f, (str, os.PathLike)):
        stem = os.path.splitext(os.path.basename(os.fspath(f)))[0]
        return stem or "archive"
    return "archive"


def _write(f: Any, data: bytes) -> None:
    """Write `data` to the file object `f`, or to the path `f` atomically: into a temporary file
    beside it, then renamed over it, so a full disk, a crash or a kill mid-write never leaves a
    partial checkpoint (the old one, if any, stays) and two runs saving at once leave one whole
    file."""
    if not isinstance(f, (str, os.PathLike)):
        f.write(data)
        return
    # through a symbolic link to its target, as writing the file in place would (renaming over
    # the link would replace the link itself)
    path = os.path.realpath(os.fspath(f))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    except OSError as error:
        raise _naming(error, f) from None
    try:
        # mkstemp makes the file private (0600); a checkpoint gets the permissions any new file
        # gets (0666 less the umask), as torch.save's, or keeps those of the file it replaces
        try:
            mode = os.stat(path).st_mode & 0o7777
        except OSError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        try:
            os.unlink(tmp)
        except OSError:
            pass  # already gone: nothing to clean up
        if isinstance(error, OSError):
            raise _naming(error, f) from None
        raise


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it; set back at once
    os.umask(mask)
    return mask


def _naming(error: OSError, f: Any) -> OSError:
    """The same kind of OSError (FileNotFoundError, ...), naming the checkpoint the user gave,
    not the temporary file it was being written through."""
    reason = error.strerror or str(error)
    return type(error)(error.errno, f"torch.save: cannot write {os.fspath(f)!r}: {reason}")


# -- loading -----------------------------------------------------------------------------------


def _rebuild_tensor_v2(
    storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None
):
    from micrograd.tensor.factories import from_numpy

    array = storage.view(size, stride, storage_offset)
    out = from_numpy(array)
    if requires_grad:
        out.requires_grad_(True)
    return out


def _rebuild_parameter(data, requires_grad, backward_hooks, *state):
    from micrograd.tensor import nn

    parameter = getattr(nn, "Parameter", None)
    if isinstance(parameter, type):
        return parameter(data, requires_grad)
    return data.requires_grad_(requires_grad) if data.data.dtype.kind == "f" else data


class _LoadedStorage:
    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def view(self, size, stride, offset) -> np.ndarray:
        """The tensor (size, stride, offset in elements) inside this storage, checked first."""
        ok_types = all(
            isinstance(v, int) and not isinstance(v, bool) for v in (*size, *stride, offset)
        )
        if not ok_types or len(size) != len(stride):
            raise UnpicklingError(
                "torch.load: a tensor's size, stride or offset is not a list of ints"
            )
        if any(s < 0 for s in size) or any(s < 0 for s in stride) or offset < 0:
            raise UnpicklingError("torch.load: a tensor has a negative size, stride or offset")
        if 0 in size:
            return np.zeros(size, self.array.dtype)
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= self.array.size:
            raise UnpicklingError(
                f"torch.load: a tensor reaches element {last} of a storage of {self.array.size}"
            )
        item = self.array.itemsize
        view = np.lib.stride_tricks.as_strided(
            self.array[offset:], shape=size, strides=[s * item for s in stride], writeable=False
        )
        return np.array(view)  # its own memory, writable


_ALLOWED = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, map_location: Any) -> None:
        super().__init__(file)
        self.archive, self.prefix, self.map_location = archive, prefix, map_location
        self.loaded: dict[str, _LoadedStorage] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and (name in _DTYPE_OF or name in _REFUSED_STORAGES):
            return name  # a storage type: read by persistent_load
        if module == "torch" and isinstance(getattr(dtypes, name, None), dtypes.dtype):
            return getattr(dtypes, name)
        raise UnpicklingError(
            f"torch.load: refusing to load {module}.{name} from the file: only tensors, numbers, "
            f"strings and containers are loaded, never code"
        )

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise UnpicklingError(f"torch.load: unknown persistent id {pid!r:.80}")
        _, storage_type, key, location, numel = pid
        if storage_type in _REFUSED_STORAGES:
            raise UnpicklingError(
                f"torch.load: the file holds {_REFUSED_STORAGES[storage_type]} tensors, which "
                f"micrograd.tensor does not support (convert them to float32 in PyTorch first)"
            )
        if storage_type not in _DTYPE_OF or not isinstance(key, str) or not isinstance(numel, int):
            raise UnpicklingError(f"torch.load: a storage record is malformed: {pid!r:.80}")
        _check_location(location, self.map_location)
        if key not in self.loaded:
            try:
                raw = self.archive.read(f"{self.prefix}data/{key}")
            except KeyError:
                raise UnpicklingError(f"torch.load: the file has no record data/{key}") from None
            dtype = _DTYPE_OF[storage_type].newbyteorder("<")
            if len(raw) != numel * dtype.itemsize:
                raise UnpicklingError(
                    f"torch.load: record data/{key} holds {len(raw)} bytes, not the "
                    f"{numel * dtype.itemsize} its {numel} elements need"
                )
            array = np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="))
            self.loaded[key] = _LoadedStorage(array)
        return self.loaded[key]


def _check_location(location: Any, map_location: Any) -> None:
    if not isinstance(location, str):
        raise UnpicklingError(f"torch.load: a storage's location is {location!r:.40}")
    if location == "cpu":
        return
    target = map_location.get(location) if isinstance(map_location, dict) else map_location
    if target is None or str(target) != "cpu":
        raise RuntimeError(
            "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is "
            "False. If you are running on a CPU-only machine, please use torch.load with "
            "map_location=torch.device('cpu') to map your storages to the CPU."
        )


def load(
    f: Any,
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    **pickle_load_args: Any,
) -> Any:
    """Read a file written by `save` or by PyTorch's `torch.save` (zip format).

    Only data is loaded, whatever `weights_only` says: a file whose pickle names anything but
    tensors, numbers, strings and containers is refused with `UnpicklingError`."""
    if (
        map_location is not None
        and not isinstance(map_location, dict)
        and str(map_location) != "cpu"
    ):
        raise RuntimeError(
            f"torch.load: map_location={map_location!r} is not supported: this engine runs "
            f"on the CPU (use map_location='cpu')"
        )
    if mmap:
        raise ValueError("torch.load: mmap=True is not supported")
    what = os.fspath(f) if isinstance(f, (str, os.PathLike)) else "the file"
    try:
        archive = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, EOFError, ValueError):
        raise UnpicklingError(
            f"torch.load: {what} is not a PyTorch zip checkpoint (a file from torch.save, or "
            f"torch's legacy format, which is not supported)"
        ) from None
    with archive:
        names = [n for n in archive.namelist() if n.endswith("data.pkl")]
        if len(names) != 1:
            raise UnpicklingError(f"torch.load: {what} has no single data.pkl record")
        prefix = names[0][: -len("data.pkl")]
        try:
            data = archive.read(names[0])
            unpickler = _Unpickler(io.BytesIO(data), archive, prefix, map_location)
            return unpickler.load()
        except (UnpicklingError, RuntimeError):
            raise
        except (
            pickle.UnpicklingError,
            EOFError,
            ValueError,
            TypeError,
            KeyError,
            IndexError,
            AttributeError,
            zipfile.BadZipFile,
            OSError,
        ) as e:
            message = " ".join(str(e).split()) or type(e).__name__
            raise UnpicklingError(f"torch.load: {what} is damaged: {message:.200}") from None
