"""Kept for compatibility: the state an interrupted run resumes from moved to
`micrograd.cli.resume`, in the command-line application's room. `micrograd.resume` is that same
module (not a copy), so everything that imported or patched it here still works.
"""

import sys

from micrograd.cli import resume as _moved

sys.modules[__name__] = _moved
