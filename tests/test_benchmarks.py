"""The scalar benchmarks keep working: each script runs in its quick mode on our engines (never
the original's virtual environment, which the quick modes leave out), and the helpers that run
each engine in its own process give it the environment it needs. No timing is asserted here:
speed is measured by the benchmarks themselves, side by side, never by a timed test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
sys.path.insert(0, str(BENCH))
import peers

OURS = ["pure", "compiled"] if peers.compiled_available() else ["pure"]


def bench(script: str, *args: str) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    out = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "creating" not in out.stderr  # never the peer environment in tests
    return out.stdout


def test_bench_engine_quick_reports_every_engine_and_the_chain():
    out = bench("bench_engine.py", "--quick", "--no-original")
    header = next(line for line in out.splitlines() if line.strip().startswith(OURS[0]))
    assert header.split()[: len(OURS)] == OURS
    for row in ("first graph: build + backward (ns)", "steady state", "tracemalloc"):
        line = next(line for line in out.splitlines() if row in line)
        numbers = re.findall(r"\d+", line[40:])
        assert len(numbers) >= len(OURS) and all(int(n) > 0 for n in numbers[: len(OURS)])
    assert "original" not in header
    for engine in OURS:
        assert re.search(
            rf"^  {engine} +build \d+\.\d\d s, backward \d+\.\d\d s", out, re.MULTILINE
        )


def test_bench_notebook_quick_runs_the_notebook_and_compares_outputs():
    out = bench("bench_notebook.py", "--quick", "--no-original")
    for variant in OURS:
        row = r" +\d+\.\d{4} +- +\d+\.\d{4} +- +\d+\.\d{3}$"
        assert re.search(rf"^{variant}{row}", out, re.MULTILINE), out
        assert re.search(rf"^{variant} fused{row}", out, re.MULTILINE), out
    assert "identical in every variant and process" in out
    assert "'Value(data=0.8958441028683222, grad=0) 0.5' printed" in out
    assert "last step: step 1 loss 1.723590533697202, accuracy 81.0%" in out


def test_bench_train_quick_runs_the_cli_job_fused_and_unfused():
    out = bench("bench_train.py", "--quick")
    for engine in OURS:
        assert re.search(rf"^{engine}, fused .* 0\.85$", out, re.MULTILINE), out
        assert re.search(rf"^{engine}, --no-fused .* 0\.85$", out, re.MULTILINE), out
    assert "final losses of ours: identical" in out


def test_notebook_cells_change_only_the_model_line_when_fused():
    import bench_notebook

    plain, loop = bench_notebook.notebook_cells(fused=False)
    fused, fused_loop = bench_notebook.notebook_cells(fused=True)
    assert loop == fused_loop
    changed = [(a, b) for a, b in zip(plain, fused) if a != b]
    assert len(changed) == 1
    assert changed[0][1] == changed[0][0].replace(
        "MLP(2, [16, 16, 1])", "MLP(2, [16, 16, 1], fused=True)"
    )


def test_the_worker_stops_after_the_steps_asked_and_times_each():
    import bench_notebook

    result = bench_notebook.worker(fused=True, steps=3)
    assert len(result["steps_s"]) == 3 and all(s > 0 for s in result["steps_s"])
    assert result["printed"][-1].startswith("step 2 loss ")
    assert result["gc_enabled"]


def test_the_original_runs_without_our_package_on_its_path(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("MICROGRAD_PURE", "1")
    env = peers.engine_env("original")
    assert "PYTHONPATH" not in env and "MICROGRAD_PURE" not in env
    pure = peers.engine_env("pure")
    assert pure["PYTHONPATH"].split(os.pathsep)[0] == str(REPO) and pure["MICROGRAD_PURE"] == "1"
    assert "MICROGRAD_PURE" not in peers.engine_env("compiled")
    with pytest.raises(ValueError, match="unknown engine"):
        peers.engine_env("torch")


def test_a_worker_that_ran_another_engine_is_refused(monkeypatch):
    script = str(BENCH / "bench_engine.py")
    result = peers.run_worker("pure", script, ["chain", "10", "100"])
    assert result["implementation"] == "pure" and result["total_s"] > 0
    # A 'compiled' run that silently got the pure engine must not be reported as compiled.
    real_env = peers.engine_env
    monkeypatch.setattr(peers, "engine_env", lambda engine: real_env("pure"))
    with pytest.raises(SystemExit, match="asked for the compiled engine, the worker ran 'pure'"):
        peers.run_worker("compiled", script, ["chain", "10", "100"])


def test_compiled_is_run_when_built_and_refused_when_not():
    if peers.compiled_available():
        script = str(BENCH / "bench_engine.py")
        result = peers.run_worker("compiled", script, ["chain", "10", "100"])
        assert result["implementation"] == "compiled"
    else:
        with pytest.raises(SystemExit, match="not built"):
            peers.choose_engines("compiled")


def test_unknown_engines_are_refused():
    with pytest.raises(SystemExit, match="unknown"):
        peers.choose_engines("pure,numpy")
    assert peers.choose_engines("pure,original", original=False) == ["pure"]


def test_bench_defaults_quick_reports_the_accuracy_of_the_defaults():
    out = bench("bench_defaults.py", "--quick")
    rows = [line for line in out.splitlines() if line.startswith("blobs")]
    assert len(rows) == 2  # the scalar engine and the tensor engine
    accuracies = {re.search(r" (\d+\.\d)% ", row).group(1) for row in rows}
    assert len(accuracies) == 1 and float(accuracies.pop()) >= 95.0  # the same on both


def _course(*args: str) -> str:
    pytest.importorskip("numpy", reason="the tensor benchmarks need numpy (the tensor extra)")
    pytest.importorskip("torch", reason="the tensor benchmarks compare with torch (test extra)")
    pytest.importorskip("threadpoolctl", reason="thread counts are read through threadpoolctl")
    return bench("bench_course.py", "--quick", *args)


def _course_job(out: str, job: str) -> str:
    """The report of one job: from its header line to the next blank line."""
    start = out.index(f"\n{job} step (")
    end = out.find("\n\n", start + 1)
    return out[start : end if end > 0 else len(out)]


def test_bench_course_quick_runs_every_job_side_by_side_on_one_thread():
    out = _course()
    assert "torch.get_num_threads() = 1" in out and "micrograd.tensor get_num_threads() = 1" in out
    pools = next(line for line in out.splitlines() if line.startswith("thread pools"))
    assert re.search(r"openblas 1 ", pools), pools  # numpy's BLAS, set by our set_num_threads
    for job in ("wavenet", "gpt-tiny", "gpt-scaled", "makemore-transformer"):
        report = _course_job(out, job)
        for engine in ("micrograd.tensor", "PyTorch"):
            # wall-clock and CPU time per step
            step = rf"^  {engine} +\d+\.\d\d (ms|us)/step   CPU time +\d+\.\d\d (ms|us)/step$"
            assert re.search(step, report, re.MULTILINE), report
            # forward, backward and update: three positive medians
            phases = re.search(rf"^  {engine} +([\d.]+) +([\d.]+) +([\d.]+)$", report, re.MULTILINE)
            assert phases and all(float(t) > 0 for t in phases.groups()), report
        rule = (
            "mean loss within 3% (dropout)"
            if job == "gpt-scaled"
            else "each step's loss within 1e-3"
        )
        assert f"{rule}: yes" in report, report
        assert re.search(r"micrograd\.tensor / PyTorch = \d+\.\d\d \((meets|misses)", report)
        assert re.search(r"in CPU time: \d+\.\d\d \((meets|misses) the 0\.5x target", report)
        assert "median of 2 interleaved rounds of 2 steps" in report
    # the configurations asked for: the lecture's tiny one, makemore.py's defaults
    assert "gpt-tiny step (n_embd 32, 4 heads, 2 layers, block 16, batch 8," in out
    assert "makemore-transformer step (n_embd 64, 4 heads, 4 layers, block 16, batch 32," in out


def test_bench_course_default_threads_leaves_both_engines_as_they_start():
    pytest.importorskip("torch")
    code = (
        "import numpy, torch, micrograd.tensor as t; "
        "print(torch.get_num_threads(), t.get_num_threads())"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    probe = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    theirs, ours = probe.stdout.split()
    out = _course("--job", "wavenet", "--threads", "default")
    assert f"torch.get_num_threads() = {theirs} " in out
    assert f"micrograd.tensor get_num_threads() = {ours} " in out
    assert "each step's loss within 1e-3: yes" in _course_job(out, "wavenet")


def test_bench_course_refuses_bad_arguments_in_one_line():
    out = subprocess.run(
        [sys.executable, str(BENCH / "bench_course.py"), "--steps", "0"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 2 and "--rounds and --steps must be positive" in out.stderr


def test_bench_course_floor_counts_the_matrix_products_of_a_step():
    """The floor line divides a step's matrix-product FLOPs by the best GEMM rate: the count must
    be forward and backward of every product (here 2 m n k each: x @ w forward, and the
    gradients of x and w backward), and the rate a real, finite one."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("numpy")
    import bench_course

    m, n, k = 5, 7, 3
    x = torch.randn(m, k, requires_grad=True)
    w = torch.randn(k, n, requires_grad=True)

    def step(index, laps):
        loss = (x @ w).sum()
        loss.backward()
        return loss

    assert bench_course.matmul_flops(step, 0) == 3 * 2 * m * n * k
    rate = bench_course.best_gemm_rate(repeats=1, size=64)
    assert 1e6 < rate < 1e13  # FLOP/s: more than a megaflop, less than ten teraflops


def test_bench_course_prints_the_floor_on_one_thread():
    pytest.importorskip("torch")
    pytest.importorskip("threadpoolctl")
    out = bench("bench_course.py", "--job", "wavenet", "--rounds", "1", "--steps", "1")
    assert re.search(r"best one-thread float32 GEMM rate here .*: \d+ GFLOP/s", out), out
    line = next(s for s in out.splitlines() if s.startswith("  floor: "))
    # makemore part 5's WaveNet at batch 32: 0.024 GFLOP of products per step
    assert re.search(r"\(0\.02\d GFLOP, forward and backward\) at \d+ GFLOP/s take", line), line
    # the WaveNet step written by hand in numpy runs beside both, and trains the same
    report = _course_job(out, "wavenet")
    assert re.search(r"^  numpy by hand +[\d.]+ (ms|us)/step", report, re.MULTILINE), report
    assert re.search(r"micrograd\.tensor / numpy by hand = \d+\.\d\d \(wall\)", report), report
    assert "each step's loss within 1e-3: yes" in report


def test_bench_math32_quick_times_every_function_on_every_engine():
    out = bench("bench_math32.py", "--quick")
    for op in ("tanh", "gelu none", "gelu tanh", "sigmoid"):
        for mode in ("fwd", "fwd+bwd"):
            assert re.search(rf"^{op} {re.escape(mode)} .*x\)", out, re.MULTILINE), (op, mode, out)
    assert "torch" in out and "ours, numpy" in out
