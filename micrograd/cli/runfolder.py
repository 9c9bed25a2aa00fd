"""A training run's output folder, written as a set: readers see the previous run or the new one,
complete, never a mix, whatever happens (a full disk, Ctrl-C, SIGKILL, two runs at once).

    check_output_folder("runs/latest")                 # before training: can the run be written?
    write_run("runs/latest", {"model.json": b"...", "metrics.json": b"..."})
    files = read_run("runs/latest", ["metrics.json"])   # a consistent snapshot (for --resume)

How (Linux, and any POSIX system as far as it goes):

1. The files are written into a *staging* folder beside the output folder, in the same parent (so
   on the same file system): `.<name>.micrograd-<random>.new`. Each file is flushed to disk
   (`fsync`), then the staging folder itself. While it is being filled, the staging folder is
   locked (`flock` on its descriptor): the lock disappears with the process, however it dies.
2. Under an exclusive `flock` on the parent folder (runs into the same parent take turns for the
   few milliseconds of the swap; training itself runs in parallel), the staging folder and the
   output folder trade places in one system call, `renameat2(RENAME_EXCHANGE)`: there is no
   moment at which the output path is missing or half written. A new output folder is a plain
   `rename`. Then the previous run, now at the staging path, is deleted.
3. Leftovers of runs that died (SIGKILL, power loss) are staging folders nobody holds a lock on:
   each run deletes those of its output folder when it starts and before it swaps.

Where `renameat2` is missing (not Linux, or a file system without it), the swap is two renames,
`out -> .<name>.micrograd-<random>.old` and `staging -> out`: a reader may then find no folder
for an instant, and a run killed between the two renames leaves the previous run in the `.old`
folder, which the next run puts back before doing anything else. Without `fcntl` (Windows)
there is no locking: two runs at once into one folder are not safe there.

Swapping the whole folder would delete whatever else is in it, so an output folder may only hold
files a run writes (`RUN_FILES`): anything else is refused before training, and again just before
the swap. So is an output folder that is the current folder or contains it.

Messages name the user's paths, never the staging folder. Standard library only; used by
`micrograd/cli/train.py`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import signal
import stat
import threading
from collections.abc import Iterator, Sequence

__all__ = ["RUN_FILES", "check_output_folder", "read_run", "write_run"]

# Every file a training run writes; an output folder holding anything else is not swapped.
RUN_FILES = (
    "model.json",
    "metrics.json",
    "curves.png",
    "decision_boundary.png",
    "resume.json",
)
# Leftovers of the previous version's file-by-file writes (`.model.json.a801zapq.tmp`): a run's own.
_OLD_TEMPORARY = re.compile(
    r"^\.(model\.json|metrics\.json|curves\.png|decision_boundary\.png)\..+\.tmp$"
)
_MARK = ".micrograd-"

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None  # type: ignore[assignment]


def _display(path: str) -> str:
    return path if path else "''"


def _resolve(out: str) -> str:
    """The absolute path whose folder is replaced: symlinks to a folder are followed (the link
    stays a link), a dangling one is refused."""
    if not isinstance(out, (str, os.PathLike)) or not os.fspath(out).strip():
        raise OSError(f"the output folder is {_display(os.fspath(out))}: give a folder path")
    out = os.fspath(out)
    if os.path.islink(out) and not os.path.exists(out):
        raise OSError(
            f"output folder {out!r} is a symbolic link to {os.readlink(out)!r}, which does not "
            f"exist; create that folder or choose another --out"
        )
    return os.path.realpath(out)


def _foreign_entries(path: str) -> list[str]:
    """Names in an existing output folder that a run did not write (and would be lost by the
    swap): unknown names, and known names that are folders."""
    foreign = []
    with os.scandir(path) as entries:
        for e in entries:
            if e.name.startswith(".") and _OLD_TEMPORARY.match(e.name):
                continue
            if e.is_dir(follow_symlinks=False):
                foreign.append(f"{e.name} (a folder)")
            elif e.name not in RUN_FILES:
                foreign.append(e.name)
    return sorted(foreign)


def _check_replaceable(out: str, path: str) -> None:
    if os.path.lexists(path) and not os.path.isdir(path):
        raise OSError(f"output folder {out!r} is a file, not a folder")
    if os.path.dirname(path) == path:
        raise OSError(f"output folder {out!r} is the root folder; choose a folder of its own")
    cwd = os.path.realpath(os.getcwd())
    if cwd == path or cwd.startswith(path + os.sep):
        raise OSError(
            f"output folder {out!r} is the current folder or contains it; a run replaces its "
            f"output folder as a whole, so choose a folder of its own (e.g. runs/latest)"
        )
    if os.path.isdir(path) and os.stat(path).st_dev != os.stat(os.path.dirname(path)).st_dev:
        raise OSError(
            f"output folder {out!r} is a mount point; a run replaces its output folder as a "
            f"whole, so choose a folder inside it (e.g. {os.path.join(out, 'latest')!r})"
        )
    if os.path.isdir(path):
        foreign = _foreign_entries(path)
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise OSError(
                f"output folder {out!r} holds files that are not from a micrograd run ({shown}); "
                f"a run replaces the whole folder, so move them or choose another --out"
            )


def check_output_folder(out: str) -> None:
    """Raise OSError, with a message naming `out`, unless a run can be written there: a path is
    given, it is not a dangling link, a file, the current folder or one holding other files,
    and files can be created where the folder is (or would be) created. Creates nothing."""
    path = _resolve(out)
    _check_replaceable(out, path)
    probe_in = os.path.dirname(path)
    while not os.path.exists(probe_in):
        parent = os.path.dirname(probe_in)
        if parent == probe_in:
            break
        probe_in = parent
    if not os.path.isdir(probe_in):
        raise OSError(f"cannot create output folder {out!r}: {probe_in!r} is not a folder")
    name = os.path.basename(path) if probe_in == os.path.dirname(path) else "probe"
    if probe_in == os.path.dirname(path):
        try:
            with _flock(probe_in):
                _clean_stale(probe_in, name, path)
        except OSError:
            pass  # cleaning up after dead runs is a courtesy; the probe below says what fails
    try:
        # Named like a staging folder: if this process is killed right here, the next run of
        # this output folder deletes it.
        probe = _make_staging(probe_in, name)
    except OSError as e:
        raise OSError(f"cannot write to output folder {out!r}: {e.strerror or e}") from None
    os.rmdir(probe)


def _make_staging(parent: str, name: str) -> str:
    for _ in range(100):
        path = os.path.join(parent, f".{name}{_MARK}{secrets.token_hex(6)}.new")
        try:
            os.mkdir(path, 0o777)
            return path
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "no free name for a staging folder", parent)


@contextlib.contextmanager
def _flock(path: str, blocking: bool = True) -> Iterator[bool]:
    """An exclusive flock on the folder `path` for the `with` block; yields whether it was
    taken (always True when blocking; no locking at all where fcntl is missing)."""
    if fcntl is None:
        yield True
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done (so that what the swap did and what this
    process believes it did cannot differ); SIGKILL cannot be blocked, and needs not be."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not (
        threading.main_thread()
    ):
        yield
        return
    blocked = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _clean_stale(parent: str, name: str, path: str) -> None:
    """Delete the staging folders of dead runs of the output folder `path` (held by no lock);
    put a `.old` previous run back if the output folder is missing. Call under the parent lock."""
    prefix = f".{name}{_MARK}"
    try:
        entries = sorted(os.listdir(parent))
    except OSError:
        return
    for entry in entries:
        if not entry.startswith(prefix) or not entry.endswith((".new", ".old")):
            continue
        stale = os.path.join(parent, entry)
        if not os.path.isdir(stale) or os.path.islink(stale):
            continue
        try:
            with _flock(stale, blocking=False) as free:
                if not free:
                    continue  # a live run is filling it
                if entry.endswith(".old") and not os.path.lexists(path):
                    os.rename(stale, path)  # killed between the two renames of the fallback
                    continue
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            continue


def _libc_renameat2():
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError, ImportError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_renameat2 = _libc_renameat2() if os.name == "posix" else None


def _exchange(a: str, b: str) -> bool:
    """Swap two paths in one step; False if this system or file system cannot."""
    if _renameat2 is None:
        return False
    import ctypes

    rc = _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), b)


def _fsync_folder(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the files themselves are synced
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def write_run(out: str, files: dict[str, bytes]) -> None:
    """Replace the folder `out` by one holding exactly `files` (name -> bytes), as one step.

    On any failure (OSError naming `out`, or KeyboardInterrupt) `out` is as it was, except for a
    Ctrl-C that came during the swap itself: it waits until the swap is done, and the
    KeyboardInterrupt then has the attribute `run_written = True`."""
    unknown = sorted(set(files) - set(RUN_FILES))
    if unknown:
        raise ValueError(f"write_run: {unknown} are not run files {RUN_FILES}")
    path = _resolve(out)
    parent, name = os.path.split(path)
    _check_replaceable(out, path)
    try:
        os.makedirs(parent, exist_ok=True)
        stage = _make_staging(parent, name)
    except OSError as e:
        raise OSError(f"cannot write the run into {out!r}: {e.strerror or e}") from None
    swapped = False
    try:
        with _flock(stage):  # held while filling it: the stale-folder cleanup leaves it alone
            mode = 0o666 & ~_umask()
            for file_name, content in files.items():
                fd = os.open(
                    os.path.join(stage, file_name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode
                )
                with os.fdopen(fd, "wb") as f:
                    f.write(content)
                    f.flush()
                    os.fsync(f.fileno())
            _fsync_folder(stage)
            with _flock(parent), _signals_deferred():
                _clean_stale(parent, name, path)
                _check_replaceable(out, path)  # nothing foreign arrived during training
                swapped = _swap(stage, path, parent, name)
    except OSError as e:
        if not swapped:
            _remove_tree(stage)
        where = "" if swapped else f"; {out!r} still holds what it held before"
        raise OSError(f"cannot write the run into {out!r}: {e.strerror or e}{where}") from None
    except BaseException as e:
        if not swapped:
            _remove_tree(stage)
        elif isinstance(e, KeyboardInterrupt):
            # Ctrl-C waited for the swap (see _signals_deferred): the new run is in place.
            e.run_written = True  # type: ignore[attr-defined]
        raise


def _swap(stage: str, path: str, parent: str, name: str) -> bool:
    """Put `stage` at `path`; the previous run (if any) is deleted. True once `path` is new."""
    if not os.path.lexists(path):
        try:
            os.rename(stage, path)
        except OSError as e:
            if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
        else:
            _fsync_folder(parent)
            return True
    if _exchange(stage, path):
        _fsync_folder(parent)
        _remove_tree(stage)  # the previous run, now at the staging path
        return True
    # Two renames; a run killed between them leaves `.old`, which `_clean_stale` puts back.
    old = os.path.join(parent, f".{name}{_MARK}{secrets.token_hex(6)}.old")
    os.rename(path, old)
    try:
        os.rename(stage, path)
    except BaseException:
        os.rename(old, path)
        raise
    _fsync_folder(parent)
    _remove_tree(old)
    return True


def read_run(out: str, names: Sequence[str]) -> dict[str, bytes]:
    """The named files of the run in `out`, read as one snapshot (no swap in between); a name
    that is missing is left out. Raises OSError naming `out` if it is not a folder."""
    path = _resolve(out)
    if not os.path.isdir(path):
        raise OSError(f"run folder {out!r} does not exist or is not a folder")
    parent, name = os.path.split(path)
    result = {}
    with _flock(parent):
        _clean_stale(parent, name, path)
        for file_name in names:
            file_path = os.path.join(path, file_name)
            try:
                st = os.stat(file_path)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(st.st_mode):
                raise OSError(f"{os.path.join(out, file_name)!r} is not a file")
            with open(file_path, "rb") as f:
                result[file_name] = f.read()
    return result
