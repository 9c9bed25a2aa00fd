"""Kept for compatibility: the memory estimates moved to `micrograd.cli.memory`, in the command-
line application's room. `micrograd.memory` is that same module (not a copy), so everything that
imported or patched it here still works.
"""

import sys

from micrograd.cli import memory as _moved

sys.modules[__name__] = _moved
