"""micrograd: a tiny scalar autograd engine and neural-network library, grown up.

`from micrograd import Value` is the whole scalar engine (`micrograd/engine.py`, standard library
only). The rest loads on demand: `micrograd.nn` (Module, Neuron, Layer, MLP), `micrograd.losses`,
`micrograd.optim`, `micrograd.data`, `micrograd.viz` (graph drawings), `micrograd.tensor` (the numpy
engine). Importing this package loads no numpy.
"""

from micrograd.engine import Value, dot
from micrograd.gradcheck import GradcheckError, gradcheck

__version__ = "0.2.0"

__all__ = ["Value", "dot", "gradcheck", "GradcheckError", "__version__"]
