"""`python -m micrograd.tensor SCRIPT [ARGS]`: run a PyTorch script on micrograd.tensor, unedited.

`import torch` and its submodules in the script (and in anything it imports) resolve to this
package (see `_torch_alias.py`); `sys.argv` is the script and its arguments, as with
`python SCRIPT ARGS`, and the script's folder is first on `sys.path`.
"""

from __future__ import annotations

import os
import runpy
import sys

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
    _torch_alias.install()
    sys.argv = list(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
