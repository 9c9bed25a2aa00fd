"""Kept for compatibility: the `micrograd export` subcommand moved to `micrograd.cli.export`, in
the command-line application's room. `micrograd.export_cli` is that same module (not a copy), so
everything that imported or patched it here still works.
"""

import sys

from micrograd.cli import export as _moved

sys.modules[__name__] = _moved
