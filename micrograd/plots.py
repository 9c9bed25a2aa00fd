"""Kept for compatibility: the training pictures moved to `micrograd.cli.plots`, in the command-
line application's room. `micrograd.plots` is that same module (not a copy), so everything that
imported or patched it here still works.
"""

import sys

from micrograd.cli import plots as _moved

sys.modules[__name__] = _moved
