"""Kept for compatibility: the `micrograd graph` subcommand moved to `micrograd.cli.graph`, in the
command-line application's room. `micrograd.viz_cli` is that same module (not a copy), so
everything that imported or patched it here still works.
"""

import sys

from micrograd.cli import graph as _moved

sys.modules[__name__] = _moved
