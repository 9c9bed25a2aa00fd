"""Builds the optional compiled scalar engine, `micrograd._cengine` (micrograd/_cengine.c), and
micrograd.tensor's checking slot descriptor, `micrograd.tensor._cattrs`.

Everything else about the package is in pyproject.toml. Without a C compiler the extension is
skipped and the install still succeeds: `micrograd.engine` then uses the pure-Python engine,
which gives the same floats but is many times slower. The build says so in a notice (pip shows
it with `pip install -v`), and the training commands say which engine runs. For a development
checkout: `python setup.py build_ext --inplace`.
"""

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

NOTICE = """
micrograd: the compiled scalar engine (micrograd/_cengine.c) could not be built: {error}
micrograd: the install goes on with the pure-Python engine (micrograd/engine.py): the same
micrograd: results, but graphs build and train several times slower. To get the compiled
micrograd: engine, install a C compiler and the Python headers (Debian: apt-get install gcc
micrograd: python3-dev) and reinstall.
"""

TENSOR_NOTICE = """
micrograd: micrograd/tensor/_cattrs.c could not be built: {error}
micrograd: the install goes on; micrograd.tensor then reads Tensor.data in pure Python (slower).
"""


class OptionalBuildExt(build_ext):
    """Build the accelerator if a compiler is there; otherwise say so and carry on."""

    def run(self):
        try:
            super().run()
        except Exception as e:  # noqa: BLE001 -- no compiler at all: distutils' PlatformError and friends
            self._notice(e)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as e:  # noqa: BLE001 -- the compiler failed (missing headers, a broken toolchain)
            self._notice(e, ext)

    def _notice(self, error, ext=None):
        error = " ".join(str(error).split())
        if ext is not None and ext.name == "micrograd.tensor._cattrs":
            print(TENSOR_NOTICE.format(error=error), file=sys.stderr)
        else:
            print(NOTICE.format(error=error), file=sys.stderr)


setup(
    ext_modules=[
        Extension(
            "micrograd._cengine",
            sources=["micrograd/_cengine.c"],
            # A fused multiply-add would round differently from engine.py's Python floats.
            extra_compile_args=["-ffp-contract=off", "-fno-fast-math"],
        ),
        # Tensor.data / Tensor.requires_grad: slots read at C speed, assignments checked
        Extension("micrograd.tensor._cattrs", sources=["micrograd/tensor/_cattrs.c"]),
        # F.scaled_dot_product_attention: PyTorch's flash kernel replayed (nn/_flash32.py's twin);
        # its fused multiply-adds are written out as fmaf, none left to the compiler
        Extension(
            "micrograd.tensor.nn._cattention",
            sources=["micrograd/tensor/nn/_cattention.c"],
            extra_compile_args=["-ffp-contract=off", "-fno-fast-math"],
        ),
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
