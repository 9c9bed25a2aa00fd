"""Builds the optional compiled scalar engine, `micrograd._cengine` (micrograd/_cengine.c).

Everything else about the package is in pyproject.toml. Without a C compiler the extension is
skipped (`optional=True`) and the install still succeeds: `micrograd.engine` then uses the
pure-Python engine. For a development checkout: `python setup.py build_ext --inplace`.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "micrograd._cengine",
            sources=["micrograd/_cengine.c"],
            # A fused multiply-add would round differently from engine.py's Python floats.
            extra_compile_args=["-ffp-contract=off", "-fno-fast-math"],
            optional=True,
        )
    ]
)
