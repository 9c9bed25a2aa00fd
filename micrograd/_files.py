"""Writing a file all at once or not at all: `atomic_write` and `check_writable_file`.

Every file the package writes goes through here: model files (`micrograd.serialize`), CSV data
sets (`micrograd.data`), drawings (`micrograd.viz`), exported models (`micrograd.export`) and the
command's outputs (`micrograd.cli`). It sits in the lowest room, with the other small helpers, so
that each of those can use it without importing another (standard library only).
`micrograd.serialize` re-exports both names, where they were first offered.
"""

from __future__ import annotations

import os
import stat
import tempfile

__all__ = ["atomic_write", "check_writable_file"]


def _target(path: str) -> str:
    """The file a write to `path` should replace: a symbolic link is followed (the link stays a
    link and its target gets the new content, as `open(path, "w")` would do)."""
    return os.path.realpath(path) if os.path.islink(path) else path


def _is_special(path: str) -> bool:
    """True for an existing file that is not a regular file or a folder: a device (`/dev/null`,
    `/dev/stdout`), a pipe or a socket. It cannot be replaced by a rename (that would replace the
    device node itself), so it is written in place."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def atomic_write(path: str | os.PathLike, content: bytes) -> None:
    """Write `content` to `path` so that readers see either the old file or the whole new one.

    The bytes go to a temporary file in the same folder (same file system, so that `os.replace`
    is an atomic rename), are flushed to disk, then the temporary file replaces `path`. On any
    failure the temporary file is removed and `path` is untouched. A symbolic link is followed
    (its target is replaced, the link stays); a device or a pipe (`/dev/stdout`, `/dev/null`) is
    written in place, since renaming over it would replace the device itself.
    """
    shown = path = os.fspath(path)
    try:
        _write(path, content)
    except OSError as e:
        # The user's path in the message, never the temporary file's; OSError(errno, ...) comes
        # back as the matching subclass (FileNotFoundError, ...).
        raise OSError(e.errno, f"cannot write {shown}: {e.strerror or e}") from None


def _write(path: str, content: bytes) -> None:
    if _is_special(path):
        with open(path, "wb") as f:
            f.write(content)
        return
    path = _target(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                # mkstemp makes the file private (0600); give it the mode a plain open() would.
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(f.fileno(), 0o666 & ~umask)
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def check_writable_file(path: str | os.PathLike) -> None:
    """Raise OSError, before any work is done, if `atomic_write(path, ...)` would fail: `path` is
    empty or a folder, its folder does not exist (for a symbolic link: its target's folder), or
    files cannot be created there. Nothing is left behind (the check creates and removes a
    temporary file). A device or a pipe is left to the write itself."""
    path = os.fspath(path)
    if not path.strip():
        raise OSError("no file name given (an empty path)")
    if os.path.isdir(path):
        raise OSError(f"cannot write {path}: it is a folder")
    if _is_special(path):
        return
    target = _target(path)
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        what = "is not a folder" if os.path.exists(folder) else "does not exist"
        if target != path:
            raise OSError(
                f"cannot write {path}: it is a symbolic link to {os.readlink(path)}, whose "
                f"folder {folder} {what}"
            )
        raise OSError(f"cannot write {path}: the folder {os.path.dirname(path)} {what}")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", dir=folder)
    except OSError as e:
        raise OSError(f"cannot write {path}: {e.strerror or e}") from None
    os.close(fd)
    os.remove(probe)
