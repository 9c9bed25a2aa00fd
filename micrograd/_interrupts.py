"""Ctrl-C in the `micrograd` command: one line on stderr and exit code 130, never a traceback.

The command spends its first fraction of a second importing (argparse, then numpy or matplotlib
for some jobs); Python's own handler would turn a Ctrl-C there into a long KeyboardInterrupt
traceback through importlib. So when this process *is* the command (the `micrograd` console
script or `python -m micrograd`, see `started_as_command`), `micrograd/__init__.py` installs
`exit_quietly_on_ctrl_c` before anything else is imported. While `cli.main` runs a job, Ctrl-C
is a KeyboardInterrupt again (`raise_on_ctrl_c`), so a job can stop cleanly; `main` turns it
into the one line and 130, and puts the quiet handler back for the way out (`quiet_again`).

A program that imports micrograd is never touched: its Ctrl-C stays its own.
"""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["exit_quietly_on_ctrl_c", "quiet_again", "raise_on_ctrl_c", "started_as_command"]

# The names pip gives the console script (`micrograd`; on Windows `micrograd.exe` runs
# `micrograd-script.py`).
_SCRIPT_NAMES = {"micrograd", "micrograd.exe", "micrograd-script.py"}

# Python's short options that take no argument and may come before `m` in one cluster (`-Im`).
_PLAIN_FLAGS = set("bBdEhiIOPqRsSuvVx")

_active = False  # set once the quiet handler has been installed by this module


def started_as_command() -> bool:
    """True when this process was started as the `micrograd` command: the console script, or
    `python -m micrograd` (recognised while the package is imported, when `sys.argv[0]` is
    '-m'; on Python 3.10+ `sys.orig_argv` confirms the module is `micrograd`)."""
    if not sys.argv:
        return False
    first = sys.argv[0]
    if first.replace("\\", "/").rpartition("/")[2].lower() in _SCRIPT_NAMES:  # any OS's path
        return True
    if first != "-m":
        return False
    orig = getattr(sys, "orig_argv", None)
    return orig is None or _module_option(orig) == "micrograd"


def _module_option(orig_argv: list) -> str | None:
    """The module named by `-m` in Python's own command line (`-m mod`, `-mmod`, `-Im mod`)."""
    args = iter(orig_argv[1:])
    for arg in args:
        if not arg.startswith("-") or arg.startswith("--") or arg == "-":
            return None  # a script, `--`, or a long option: nothing more to parse for us
        letters = arg[1:]
        m = letters.find("m")
        if m >= 0 and set(letters[:m]) <= _PLAIN_FLAGS:
            return letters[m + 1 :] or next(args, None)
        if letters in ("W", "X"):  # options whose value is the next argument
            next(args, None)
    return None


def _exit_130(signum: int, frame: object) -> None:
    # stderr closed (ValueError), gone (OSError) or in the middle of a write (RuntimeError):
    # exit all the same.
    with contextlib.suppress(OSError, ValueError, RuntimeError):
        sys.stderr.write("micrograd: interrupted\n")
        sys.stderr.flush()
    os._exit(130)  # nothing of ours to clean up outside a job: imports, or the way out


def exit_quietly_on_ctrl_c() -> None:
    """From now on Ctrl-C prints one line and exits with 130 at once. Left alone when Ctrl-C is
    ignored (a background job) or handled by someone else, and outside the main thread."""
    global _active
    import signal  # here, not at the top: `import micrograd` in a program never needs it

    try:
        current = signal.getsignal(signal.SIGINT)
        if current is signal.default_int_handler or current is _exit_130:
            signal.signal(signal.SIGINT, _exit_130)
            _active = True
    except (ValueError, OSError):  # not the main thread, or no signals here
        pass


def raise_on_ctrl_c() -> None:
    """While a job runs, Ctrl-C raises KeyboardInterrupt (Python's default), so the job can stop
    cleanly; a no-op unless `exit_quietly_on_ctrl_c` installed the quiet handler."""
    if not _active:
        return
    import signal

    try:
        if signal.getsignal(signal.SIGINT) is _exit_130:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    except (ValueError, OSError):
        pass


def quiet_again() -> None:
    """After a job: the quiet handler again for the way out (a no-op in a program that calls
    `cli.main` itself rather than running the command)."""
    if _active:
        exit_quietly_on_ctrl_c()
