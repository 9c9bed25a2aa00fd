"""micrograd: a tiny scalar autograd engine and neural-network library, grown up.

`from micrograd import Value` is the whole scalar engine (`micrograd/engine.py`, standard library
only). The rest loads on demand: `micrograd.nn` (Module, Neuron, Layer, MLP), `micrograd.losses`,
`micrograd.optim`, `micrograd.data`, `micrograd.viz` (graph drawings), `micrograd.tensor` (the numpy
engine). Importing this package loads no numpy.

The distribution is `micrograd-plus` (PyPI's `micrograd` is the original 0.1.0; the import name
is the same): see `micrograd/_distribution.py` for the warning when both are installed.
"""

from micrograd import _interrupts

# First of all, before the slower imports: when this process is the `micrograd` command, a
# Ctrl-C while it starts is one line and exit code 130, not a traceback (micrograd/_interrupts.py).
_COMMAND = _interrupts.started_as_command()
if _COMMAND:
    _interrupts.exit_quietly_on_ctrl_c()

from micrograd.engine import Value, dot
from micrograd.gradcheck import GradcheckError, gradcheck

__version__ = "0.3.0"

__all__ = ["Value", "dot", "gradcheck", "GradcheckError", "__version__"]


def _warn_if_the_original_is_installed() -> None:
    # The command checks every folder on sys.path itself (cli.main); an import checks only the
    # folder this package is in, where the original's files would have overwritten or been
    # overwritten by ours (cheap: one directory listing).
    from micrograd import _distribution

    message = _distribution.warn_once(everywhere=False)
    if message:
        import warnings

        warnings.warn(message, _distribution.DistributionClashWarning, stacklevel=3)


if not _COMMAND:
    _warn_if_the_original_is_installed()
