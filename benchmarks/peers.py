"""How the benchmarks run each engine in a fresh process of its own.

Three engines are compared:

* `original`: micrograd 0.1.0 from PyPI, in a virtual environment of its own (`.venv-peer`, it has
  the same import name as ours), created on first use;
* `pure`: this repository's `micrograd/engine.py` (`MICROGRAD_PURE=1` forces it);
* `compiled`: this repository's compiled `Value` (`micrograd/_cengine.c`), used when it is built
  (`python setup.py build_ext --inplace` builds it in place).

`run_worker` starts a benchmark script's worker under one engine with a clean environment: ours
see this repository first on their path, the original never does; each worker reports which
implementation it really ran, and `run_worker` refuses a result from the wrong one (a compiled
engine that silently fell back to the pure one must not be reported as compiled).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PEER_VENV = REPO / ".venv-peer"
PEER_PACKAGES = ["micrograd==0.1.0", "numpy", "scikit-learn", "torch==2.13.0"]

ENGINES = ("original", "pure", "compiled")


def peer_python() -> str:
    """The Python of the peer environment, creating it (once) if it does not exist."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {PEER_VENV} with {' '.join(PEER_PACKAGES)} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
    return str(python)


def engine_env(engine: str) -> dict[str, str]:
    """The environment a worker of `engine` runs in."""
    env = dict(os.environ)
    env.pop("MICROGRAD_PURE", None)
    if engine == "original":
        env.pop("PYTHONPATH", None)  # the original must not see our package
        return env
    if engine not in ("pure", "compiled"):
        raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    if engine == "pure":
        env["MICROGRAD_PURE"] = "1"
    return env


def engine_python(engine: str) -> str:
    return peer_python() if engine == "original" else sys.executable


def implementation() -> str:
    """Which engine this process imported: 'original' (micrograd 0.1.0), 'pure' or 'compiled'."""
    from micrograd import engine

    if not hasattr(engine, "dot"):  # micrograd 0.1.0 has no `dot`
        return "original"
    return getattr(engine, "IMPLEMENTATION", "pure")


def compiled_available() -> bool:
    """True when this repository's compiled engine is built and importable."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import micrograd.engine as e; print(getattr(e, 'IMPLEMENTATION', 'pure'))",
        ],
        env=engine_env("compiled"),
        cwd=str(REPO / "benchmarks"),
        capture_output=True,
        text=True,
        check=False,
    )
    return out.returncode == 0 and out.stdout.strip() == "compiled"


def run_worker(engine: str, script: str, args: list[str]) -> dict:
    """Run `python script --worker ...args` under `engine` in a fresh process; return its JSON
    (the last line of its standard output), checking it ran the engine it was asked for."""
    t0 = _now()
    out = subprocess.run(
        [engine_python(engine), script, "--worker", *args],
        env=engine_env(engine),
        cwd=str(REPO / "benchmarks"),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = _now() - t0
    if out.returncode != 0:
        raise SystemExit(
            f"{Path(script).name} {' '.join(args)} under {engine} failed:\n{out.stderr}"
        )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result.get("implementation") != engine:
        raise SystemExit(
            f"asked for the {engine} engine, the worker ran {result.get('implementation')!r}"
        )
    result["wall_s"] = wall
    return result


def rotated(engines: list[str], r: int) -> list[str]:
    """Round `r`'s order: rotate the list every round so that no engine always runs first."""
    k = r % len(engines)
    return engines[k:] + engines[:k]


def _now() -> float:
    import time

    return time.perf_counter()


def median(xs: list[float]) -> float:
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def choose_engines(requested: str | None, original: bool = True) -> list[str]:
    """The engines a benchmark runs: `requested` ('pure,compiled,original'), or by default our
    pure engine, the compiled one when it is built, and the original unless `original` is False."""
    if requested:
        engines = [e.strip() for e in requested.split(",") if e.strip()]
        unknown = [e for e in engines if e not in ENGINES]
        if unknown or not engines:
            raise SystemExit(f"--engines: unknown {unknown}; choose among {', '.join(ENGINES)}")
        if "compiled" in engines and not compiled_available():
            raise SystemExit(
                "the compiled engine is not built: run `python setup.py build_ext --inplace` "
                "(or leave 'compiled' out of --engines)"
            )
        if not original and "original" in engines:
            engines.remove("original")
        return engines
    engines = ["pure"]
    if compiled_available():
        engines.append("compiled")
    else:
        print(
            "note: the compiled engine is not built (python setup.py build_ext --inplace); "
            "measuring without it",
            file=sys.stderr,
        )
    if original:
        engines.append("original")
    return engines
