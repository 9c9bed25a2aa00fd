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

import builtins
import io
import os
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
        print(f"python -m micrograd.tensor: error: no such script: {script}", file=sys.stderr)
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
    except Exception as error:  # noqa: BLE001 -- whatever the script raises, python prints it
        error.__traceback__ = _from_script(error.__traceback__, path)
        sys.excepthook(type(error), error, error.__traceback__)
        return 1
    return 0


def _from_script(traceback, path: str):
    """The traceback from the script's first frame on: this module's frame is the runner's, not
    the user's (python's own traceback of a script starts at the script)."""
    frame = traceback
    while frame is not None and frame.tb_frame.f_code.co_filename != path:
        frame = frame.tb_next
    return frame  # None for a syntax error: python prints no traceback above it either


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
