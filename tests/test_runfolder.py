"""The output folder is written as a set (`micrograd.runfolder`): after any failure, Ctrl-C,
SIGKILL at any moment or two runs at once, it holds one complete run (the previous or the new)
and no leftovers stay beside it."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from micrograd import runfolder
from micrograd.runfolder import check_output_folder, read_run, write_run

ROOT = Path(__file__).resolve().parents[1]


def run_files(tag: str) -> dict[str, bytes]:
    """A run's files whose contents all name the run (`tag`), so that a mix is visible."""
    return {
        "model.json": f'{{"run": "{tag}", "file": "model"}}'.encode(),
        "metrics.json": f'{{"run": "{tag}", "file": "metrics"}}'.encode(),
        "curves.png": f"png of {tag}".encode() * 1000,
        "decision_boundary.png": f"boundary of {tag}".encode() * 1000,
    }


def folder(path) -> dict[str, bytes]:
    return {n: Path(path, n).read_bytes() for n in sorted(os.listdir(path))}


def assert_one_complete_run(out, *tags: str) -> str:
    """`out` holds exactly the files of one of the runs `tags`; returns which."""
    held = folder(out)
    for tag in tags:
        if held == run_files(tag):
            return tag
    raise AssertionError(f"{out} holds a mix or an incomplete run: {sorted(held)}")


def litter(out) -> list[str]:
    parent = os.path.dirname(os.path.abspath(out))
    return sorted(n for n in os.listdir(parent) if n != os.path.basename(out))


# -- in-process faults ----------------------------------------------------------------------


def test_a_run_replaces_the_previous_one_as_a_whole(tmp_path):
    out = tmp_path / "run"
    write_run(str(out), run_files("old"))
    new = run_files("new")
    del new["decision_boundary.png"]  # e.g. 1-D data: no boundary picture this time
    write_run(str(out), new)
    assert folder(out) == new  # the old picture did not survive beside the new run
    assert litter(out) == []


def test_a_write_failing_midway_leaves_the_previous_run(tmp_path, monkeypatch):
    out = tmp_path / "run"
    write_run(str(out), run_files("old"))
    real_fsync = os.fsync
    calls = []

    def disk_full(fd):
        calls.append(fd)
        if len(calls) == 3:  # the third file
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError) as e:
        write_run(str(out), run_files("new"))
    message = str(e.value)
    assert "No space left on device" in message and repr(str(out)) in message
    assert "still holds" in message
    assert ".new" not in message and "micrograd-" not in message  # no temporary names
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert assert_one_complete_run(out, "old", "new") == "old"
    assert litter(out) == []


def test_a_folder_in_place_of_model_json_is_refused_before_anything(tmp_path):
    out = tmp_path / "run"
    (out / "model.json").mkdir(parents=True)
    (out / "model.json" / "keep.txt").write_text("mine")
    for check in (check_output_folder, lambda o: write_run(o, run_files("new"))):
        with pytest.raises(OSError, match=r"model\.json \(a folder\)"):
            check(str(out))
    assert (out / "model.json" / "keep.txt").read_text() == "mine"
    assert litter(out) == []


def test_other_files_in_the_folder_are_never_deleted(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OSError, match="not from a micrograd run .notes.txt"):
        write_run(str(out), run_files("new"))
    assert folder(out) == {"notes.txt": b"mine"}


def test_the_current_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for out in (".", str(tmp_path), os.path.dirname(str(tmp_path))):
        with pytest.raises(OSError, match="current folder"):
            check_output_folder(out)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda t: "", "give a folder path"),
        (lambda t: os.symlink(t / "missing", t / "link") or str(t / "link"), "does not exist"),
        (lambda t: (t / "file").write_text("x") and str(t / "file"), "is a file"),
        (lambda t: (t / "file").write_text("x") and str(t / "file" / "sub"), "not a folder"),
    ],
)
def test_unusable_output_paths_are_refused_by_the_check(tmp_path, make, message):
    out = make(tmp_path)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(OSError, match=message):
        check_output_folder(out)
    assert sorted(os.listdir(tmp_path)) == before


def test_a_symlink_to_a_folder_stays_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    write_run(str(tmp_path / "link"), run_files("a"))
    write_run(str(tmp_path / "link"), run_files("b"))
    assert os.path.islink(tmp_path / "link")
    assert_one_complete_run(tmp_path / "real", "b")
    assert sorted(os.listdir(tmp_path)) == ["link", "real"]


def test_the_fallback_without_an_exchange_call(tmp_path, monkeypatch):
    monkeypatch.setattr(runfolder, "_renameat2", None)
    out = tmp_path / "run"
    write_run(str(out), run_files("old"))
    write_run(str(out), run_files("new"))
    assert_one_complete_run(out, "new")
    assert litter(out) == []


def test_read_run_is_a_snapshot_of_the_named_files(tmp_path):
    out = tmp_path / "run"
    write_run(str(out), run_files("a"))
    got = read_run(str(out), ["metrics.json", "resume.json"])
    assert got == {"metrics.json": run_files("a")["metrics.json"]}
    with pytest.raises(OSError, match="does not exist"):
        read_run(str(tmp_path / "nope"), ["metrics.json"])


# -- another process, killed or interrupted at every step of the write ----------------------

WRITER = textwrap.dedent(
    """
    import os, shutil, signal, sys
    sys.path.insert(0, sys.argv[1])
    from micrograd import runfolder
    sys.path.insert(0, sys.argv[2])
    from test_runfolder import run_files

    point, n, sig, out, tag, fallback = sys.argv[3:9]
    n, sig = int(n), getattr(signal, sig)
    if fallback == "1":
        runfolder._renameat2 = None
    calls = [0]

    def wrap(owner, name):
        real = getattr(owner, name)

        def hit(*args, **kwargs):
            calls[0] += 1
            if calls[0] == n:
                os.kill(os.getpid(), sig)
            return real(*args, **kwargs)

        setattr(owner, name, hit)

    owner = runfolder if point == "_exchange" else (shutil if point == "rmtree" else os)
    wrap(owner, point)
    try:
        runfolder.write_run(out, run_files(tag))
    except KeyboardInterrupt as e:
        print("run_written", getattr(e, "run_written", False))
        sys.exit(130)
    print("calls", calls[0])
    """
)


def writer(tmp_path, point, n, sig, out, tag="new", fallback=False):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    return subprocess.run(
        [sys.executable, str(script), str(ROOT), str(ROOT / "tests"), point, str(n), sig,
         str(out), tag, "1" if fallback else "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


# Every system call of a write that a kill can land before: the staging folder's creation, each
# file's and the folder's sync, the exchange (or the two renames) and the deletion of the old run.
KILL_POINTS = [("mkdir", 1), *[("fsync", i) for i in range(1, 6)], ("_exchange", 1), ("rmtree", 1)]
FALLBACK_POINTS = [("rename", 1), ("rename", 2), ("rmtree", 1)]


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGINT"])
@pytest.mark.parametrize(
    "point, n, fallback",
    [(p, n, False) for p, n in KILL_POINTS] + [(p, n, True) for p, n in FALLBACK_POINTS],
)
def test_a_signal_at_any_step_of_the_write(tmp_path, sig, point, n, fallback):
    base = tmp_path / "base"
    base.mkdir()
    out = base / "run"
    write_run(str(out), run_files("old"))
    proc = writer(tmp_path, point, n, sig, out, fallback=fallback)
    if sig == "SIGKILL":
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        # A dead run may leave its staging folder (or, in the fallback, the previous run in a
        # `.old` folder with no output folder): the next look at the folder repairs and cleans.
        check_output_folder(str(out))
    else:
        # Ctrl-C: the write stops (nothing new) or, in the swap itself, completes first; the
        # KeyboardInterrupt says which.
        assert proc.returncode in (0, 130), proc.stderr
        assert "Traceback" not in proc.stderr
    held = assert_one_complete_run(out, "old", "new")
    if sig == "SIGINT" and proc.returncode == 130:
        assert f"run_written {held == 'new'}" in proc.stdout
    assert litter(out) == []


def test_sigkill_of_real_training_runs_at_random_moments(tmp_path):
    """`micrograd train` killed with SIGKILL at random moments over a previous run: the folder
    always holds one complete run, and the next look at it cleans any leftover."""
    out = tmp_path / "runs" / "latest"
    base = ["--samples", "30", "--steps", "20", "--layers", "4", "--no-progress", "--no-plots"]
    cmd = [sys.executable, "-m", "micrograd", "train", *base]
    reference, whole = {}, 0.0
    for seed in ("1", "2"):
        t0 = time.perf_counter()
        subprocess.run(
            [*cmd, "--out", str(tmp_path / seed), "--seed", seed],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        whole = time.perf_counter() - t0
        reference[seed] = folder(tmp_path / seed)
    rng = random.Random(0)
    for _ in range(3):
        write_run(str(out), reference["1"])  # the previous run
        proc = subprocess.Popen([*cmd, "--out", str(out), "--seed", "2"], stdout=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 1.1) * whole)
        proc.kill()
        proc.wait(timeout=60)
        held = folder(out)
        assert any(_same_run(held, reference[s]) for s in ("1", "2")), sorted(held)
        check_output_folder(str(out))
        assert os.listdir(out.parent) == ["latest"]


def _same_run(held: dict, ref: dict) -> bool:
    """The same files, model and pictures byte for byte, metrics but for timing and folder."""
    if sorted(held) != sorted(ref):
        return False

    def metrics(raw):
        m = json.loads(raw)
        m.pop("timing")
        m["config"].pop("out")
        return m

    return all(
        (metrics(held[n]) == metrics(ref[n])) if n == "metrics.json" else held[n] == ref[n]
        for n in held
    )


def test_two_runs_at_once_into_one_folder(tmp_path):
    out = tmp_path / "runs" / "latest"
    base = ["--samples", "30", "--steps", "25", "--layers", "4", "--no-progress", "--no-plots"]
    cmd = [sys.executable, "-m", "micrograd", "train", *base]
    refs = {}
    for seed in ("1", "2"):
        subprocess.run(
            [*cmd, "--seed", seed, "--out", str(tmp_path / seed)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        refs[seed] = folder(tmp_path / seed)
    for _ in range(2):
        procs = [
            subprocess.Popen(
                [*cmd, "--seed", seed, "--out", str(out)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for seed in ("1", "2")
        ]
        for p in procs:
            _, err = p.communicate(timeout=180)
            assert p.returncode == 0, err
        held = folder(out)
        assert any(_same_run(held, refs[s]) for s in refs), sorted(held)
        assert os.listdir(out.parent) == ["latest"]


def test_a_mount_point_is_refused():
    """Its staging folder would be on another file system: no atomic swap is possible."""
    mount = next(p for p in ("/proc", "/dev/shm", "/sys") if os.path.ismount(p))
    with pytest.raises(OSError, match="is a mount point"):
        check_output_folder(mount)
