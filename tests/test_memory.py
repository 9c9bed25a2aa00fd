"""Jobs too large for the machine are refused before they start, in one line with the flag that
helps (`micrograd.memory` estimates, `micrograd.train` decides); a MemoryError that still happens
is one line too."""

from __future__ import annotations

import gc
import os
import random
import resource
import subprocess
import sys
import time
import tracemalloc

import pytest

from micrograd import losses, memory, train
from micrograd.cli import main
from micrograd.nn import MLP


def cli(*args, limit_bytes=None):
    def limit():
        if limit_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "micrograd", "train", "--no-progress", *args],
        capture_output=True, text=True, timeout=120, check=False, preexec_fn=limit,
    )  # fmt: skip
    return proc, time.perf_counter() - t0


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("micrograd: error: "), text
    return lines[0]


@pytest.mark.parametrize(
    "flags, advice",
    [
        (["--samples", "1000000000"], "--samples"),
        (["--layers", "100000,100000"], "smaller --layers"),
        (["--layers", "100000,100000", "--engine", "tensor"], "smaller --layers"),
    ],
)
def test_huge_jobs_are_refused_at_once(tmp_path, flags, advice):
    if "tensor" in flags:
        pytest.importorskip("numpy")
    proc, seconds = cli(*flags, "--out", str(tmp_path / "o"))
    line = one_line(proc.stderr)
    assert proc.returncode == 1
    assert "memory" in line and advice in line
    assert seconds < 60  # refused from the estimate, not after allocating for minutes
    assert not (tmp_path / "o").exists()


def test_the_address_space_limit_counts(tmp_path):
    """20 million samples fit this machine's memory but not a 3 GB `ulimit -v`."""
    proc, _ = cli("--samples", "20000000", "--out", str(tmp_path / "o"), limit_bytes=3 << 30)
    assert proc.returncode == 1
    assert "--samples" in one_line(proc.stderr)


def test_a_million_rows_full_batch_on_the_scalar_engine(tmp_path, monkeypatch, capsys):
    """A 1e6-row data set trained full batch on the scalar engine needs a graph of ~70 million
    nodes per step: refused with a batch size that fits, or the tensor engine."""
    rows = 1_000_000
    row = [0.5, -0.5]
    data = train.Data("big.csv", [row] * rows, [i % 2 for i in range(rows)], n_classes=2)
    monkeypatch.setattr(train, "load_data", lambda config, log=None: data)
    monkeypatch.setattr(memory, "available_bytes", lambda: 8 << 30)  # a laptop's free memory
    monkeypatch.setattr(train.ScalarEngine, "build_model", lambda *a: pytest.fail("built"))
    assert main(["train", "--no-progress", "--out", str(tmp_path / "o")]) == 1
    line = one_line(capsys.readouterr().err)
    assert "batch of 1,000,000 rows" in line and ", or --engine tensor" in line
    batch = int(line.split("--batch-size ")[1].split()[0])
    # The advised batch size fits.
    config = train.TrainConfig(batch_size=batch)
    train._check_job_memory(config, [2, 16, 16, 1], rows)
    assert batch > 1000


def test_a_csv_larger_than_memory_is_not_read(tmp_path, monkeypatch, capsys):
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n" + "0.5,0.25,1\n" * 2000)
    monkeypatch.setattr(memory, "available_bytes", lambda: 10_000)
    monkeypatch.setattr(train, "load_data", lambda *a: pytest.fail("read the file"))
    assert main(["train", "--dataset", str(path), "--out", str(tmp_path / "o")]) == 1
    assert "reading" in one_line(capsys.readouterr().err)


def test_a_memory_error_during_training_is_one_line(tmp_path, monkeypatch, capsys):
    out = tmp_path / "o"

    def exhausted(*args):
        raise MemoryError

    monkeypatch.setattr(train.ScalarEngine, "loss_and_accuracy", exhausted)
    assert main(["train", "--samples", "20", "--steps", "3", "--out", str(out)]) == 1
    line = one_line(capsys.readouterr().err)
    assert "out of memory" in line and "--batch-size" in line and "--engine tensor" in line
    assert not out.exists()


def test_the_scalar_estimate_is_close_to_measured():
    """The per-row graph estimate against tracemalloc's peak for one batch's forward and
    backward: within a factor of two either way (it must not refuse jobs that fit)."""
    for fused in (True, False):
        random.seed(0)
        model = MLP(2, [16, 16, 1], fused=fused)
        X = [[random.random(), random.random()] for _ in range(150)]
        y = [1 if i % 2 else -1 for i in range(150)]
        gc.collect()
        tracemalloc.start()
        loss = losses.hinge([model(x) for x in X], y)
        loss.backward()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del loss
        estimate = memory.job_bytes("scalar", [2, 16, 16, 1], 150, fused)["graph"]
        assert peak / 2 < estimate < peak * 2, (fused, peak, estimate)


def test_available_bytes_is_positive_on_linux():
    if not os.path.exists("/proc/meminfo"):
        pytest.skip("reads /proc/meminfo")
    free = memory.available_bytes()
    assert free is not None and free > 10 << 20
    assert memory.format_bytes(2.5e9) == "2.5 GB" and memory.format_bytes(512) == "512 B"
