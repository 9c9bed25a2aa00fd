"""Builds the optional compiled parts: the scalar engine, `micrograd._cengine`
(micrograd/_cengine.c), and micrograd.tensor's accelerators, each the compiled twin of a numpy
path that gives the same floats (KERNELS below).

Everything else about the package is in pyproject.toml. Without a C compiler the extensions are
skipped and the install still succeeds: `micrograd.engine` then uses the pure-Python engine,
which gives the same floats but is many times slower, and micrograd.tensor runs its numpy paths.
The build says so in a notice (pip shows it with `pip install -v`), and the training commands say
which engine runs. For a development checkout: `python setup.py build_ext --inplace`.
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

KERNEL_NOTICE = """
micrograd: {source} could not be built: {error}
micrograd: the install goes on; {fallback}
"""

# Each float kernel must round as its numpy twin (and PyTorch) does: the fused multiply-adds it
# wants are written out as fmaf, and the compiler may fuse or reorder nothing else.
EXACT = ["-ffp-contract=off", "-fno-fast-math"]

# micrograd.tensor's compiled modules: (module, source, extra sources it includes, compile
# arguments, what runs when it cannot be built)
KERNELS = [
    ("micrograd.tensor._cattrs", "micrograd/tensor/_cattrs.c", [], [],
     "micrograd.tensor then reads Tensor.data in pure Python (slower)."),
    ("micrograd.tensor.optim._coptim", "micrograd/tensor/optim/_coptim.c", [], EXACT,
     "micrograd.tensor's optimizers then run their numpy path (the same floats, slower)."),
    ("micrograd.tensor.nn._clayernorm", "micrograd/tensor/nn/_clayernorm.c",
     ["micrograd/tensor/nn/_clayernorm_kernels.h"], EXACT,
     "layer_norm then runs its numpy replay (the same floats, slower)."),
    ("micrograd.tensor._cmath32", "micrograd/tensor/_cmath32.c", [],
     # no trapping math and no errno (values unchanged) let its loops vectorise
     EXACT + ["-fno-trapping-math", "-fno-math-errno"],
     "float32 tanh, GELU and sigmoid then run in numpy (the same floats, slower)."),
    ("micrograd.tensor._csoftmax", "micrograd/tensor/_csoftmax.c", [], EXACT,
     "float32 softmax, log_softmax and cross-entropy then run their numpy replay (slower)."),
    ("micrograd.tensor._creduce", "micrograd/tensor/_creduce.c", [], EXACT,
     "micrograd.tensor then sums floats with numpy (the same bits, slower)."),
    ("micrograd.tensor.nn._cattention", "micrograd/tensor/nn/_cattention.c", [], EXACT,
     "scaled_dot_product_attention then runs its numpy replay (the same floats, slower)."),
]  # fmt: skip


class OptionalBuildExt(build_ext):
    """Build the accelerators if a compiler is there; otherwise say so and carry on."""

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
        for name, source, _, _, fallback in KERNELS:
            if ext is not None and ext.name == name:
                print(KERNEL_NOTICE.format(source=source, error=error, fallback=fallback),
                      file=sys.stderr)  # fmt: skip
                return
        print(NOTICE.format(error=error), file=sys.stderr)


setup(
    ext_modules=[
        # A fused multiply-add would round differently from engine.py's Python floats.
        Extension("micrograd._cengine", sources=["micrograd/_cengine.c"], extra_compile_args=EXACT),
        *(
            # libm for the kernels' expf, tanhf, fmaf ...
            Extension(
                name, sources=[source], depends=depends, extra_compile_args=args, libraries=["m"]
            )
            for name, source, depends, args, _ in KERNELS
        ),
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
