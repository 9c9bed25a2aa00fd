"""Kept for compatibility: the run folder moved to `micrograd.cli.runfolder`, in the command-line
application's room. `micrograd.runfolder` is that same module (not a copy), so everything that
imported or patched it here still works.
"""

import sys

from micrograd.cli import runfolder as _moved

sys.modules[__name__] = _moved
