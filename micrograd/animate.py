"""Kept for compatibility: the animated backward pass moved to `micrograd.viz.animate`, beside the
drawings it builds on. `micrograd.animate` is that same module (not a copy), so everything that
imported or patched it here still works.
"""

import sys

from micrograd.viz import animate as _moved

sys.modules[__name__] = _moved
