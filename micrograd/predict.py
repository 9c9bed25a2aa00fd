"""Kept for compatibility: scoring a saved model moved to `micrograd.cli.predict`, in the command-
line application's room. `micrograd.predict` is that same module (not a copy), so everything
that imported or patched it here still works.
"""

import sys

from micrograd.cli import predict as _moved

sys.modules[__name__] = _moved
