"""`python -m micrograd.tensor SCRIPT [ARGS]`: run a PyTorch script on micrograd.tensor, unedited.

`import torch` and its submodules in the script (and in anything it imports) resolve to this
package (see `_torch_alias.py`). Everything else is as `python SCRIPT ARGS` sets it up, because
the course's scripts lean on it: `sys.argv` is the script and its arguments (nanoGPT's
configurator reads them), `__file__` is the script's absolute path (prepare.py finds its data
beside itself), `__name__` is `"__main__"`, the script's folder replaces the current one at the
front of `sys.path` (`from model import GPT`), and an uncaught exception prints a traceback that
starts in the script, not in this runner, and exits with status 1.
"""

from __future__ import annotations

import atexit
import builtins
import io
import os
import signal
import sys
import types

from micrograd.tensor import _torch_alias

USAGE = "usage: python -m micrograd.tensor SCRIPT [ARGS...]  (runs a PyTorch script on micrograd.tensor)"


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    script = argv[0]
    if not os.path.isfile(script):
        if script.startswith("-"):
            # python's -c/-m/-i...: only a script file is run here
            problem = f"option {script} is not supported; give a script's path"
        elif os.path.isdir(script):
            problem = f"{script} is a folder; give the path of the script inside it"
        else:
            problem = f"no such script: {script}"
        print(f"python -m micrograd.tensor: error: {problem}", file=sys.stderr)
        return 2
    path = os.path.abspath(script)
    _torch_alias.install()
    sys.argv = list(argv)
    # `python -m` put the current folder first on sys.path; `python SCRIPT` puts the script's
    # folder there instead (and not the current one)
    if sys.path and sys.path[0] in ("", os.getcwd()):
        sys.path[0] = os.path.dirname(path)
    else:
        sys.path.insert(0, os.path.dirname(path))
    script_module = types.ModuleType("__main__")
    script_module.__file__ = path
    script_module.__builtins__ = builtins
    # pickle looks classes defined in the script up in sys.modules["__main__"] (torch.save of a
    # model object; multiprocessing workers): there they are, as under python
    sys.modules["__main__"] = script_module
    try:
        with io.open_code(path) as file:
            code = compile(file.read(), path, "exec")  # bytes: a coding cookie is honoured
        exec(code, script_module.__dict__)  # noqa: S102 -- running the script is the point
    except SystemExit:
        raise  # sys.exit() in the script: its status, as under python
    except KeyboardInterrupt as interrupt:
        # Ctrl-C: python prints the traceback from the script on, then ends killed by SIGINT
        # (status 130 in a shell), after the exit handlers ran (a SummaryWriter's last flush)
        interrupt.__traceback__ = _from_script(interrupt.__traceback__, path)
        sys.excepthook(type(interrupt), interrupt, interrupt.__traceback__)
        _end_by_sigint()
    except BaseException as error:  # noqa: BLE001 -- whatever the script raises, python prints it
        error.__traceback__ = _from_script(error.__traceback__, path)
        sys.excepthook(type(error), error, error.__traceback__)
        return 1
    return 0


def _end_by_sigint() -> None:
    """End the process as python ends on an uncaught KeyboardInterrupt: exit handlers run, the
    streams are flushed, then the process kills itself with SIGINT so its parent sees it."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stream: nothing left to say on it
    if hasattr(signal, "SIGINT") and hasattr(os, "kill"):
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(130)  # where no signal kills (or it was ignored): a shell's status for Ctrl-C


def _from_script(traceback, path: str):
    """The traceback from the script's first frame on: this module's frame is the runner's, not
    the user's (python's own traceback of a script starts at the script)."""
    frame = traceback
    while frame is not None and frame.tb_frame.f_code.co_filename != path:
        frame = frame.tb_next
    return frame  # None for a syntax error: python prints no traceback above it either


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
