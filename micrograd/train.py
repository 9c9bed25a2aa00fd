"""Kept for compatibility: the training job moved to `micrograd.cli.train`, in the command-line
application's room. `micrograd.train` is that same module (not a copy), so everything that
imported or patched it here still works.
"""

import sys

from micrograd.cli import train as _moved

sys.modules[__name__] = _moved
