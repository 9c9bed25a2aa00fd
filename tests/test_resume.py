"""Ctrl-C during `micrograd train` saves the steps done as an interrupted run (exit code 130), and
`--resume RUN` continues it to the model an uninterrupted run gives, bit for bit."""

from __future__ import annotations

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

from micrograd import train
from micrograd.cli import main

# A real SIGINT, sent by the process to itself right after optimizer step N (so the test knows
# where it lands); the rest is `micrograd train` as the user runs it.
INTERRUPT_AT_STEP = textwrap.dedent(
    """
    import os, signal, sys
    from micrograd import optim
    from micrograd.cli import main

    n = int(sys.argv[1])
    real_step = optim.Optimizer.step

    def step(self):
        real_step(self)
        if self.steps == n:
            os.kill(os.getpid(), signal.SIGINT)

    optim.Optimizer.step = step
    sys.exit(main(sys.argv[2:]))
    """
)


def interrupted_run(tmp_path, flags, at_step) -> subprocess.CompletedProcess:
    script = tmp_path / "interrupt.py"
    script.write_text(INTERRUPT_AT_STEP)
    return subprocess.run(
        [sys.executable, str(script), str(at_step), "train", *flags, "--no-progress"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def comparable(metrics_path) -> dict:
    m = json.loads(Path(metrics_path).read_text())
    m.pop("timing")
    m["config"].pop("out")
    return m


JOBS = {
    "sgd, mini-batches, validation": [
        "--samples", "40", "--steps", "24", "--layers", "6", "--batch-size", "7",
        "--val-split", "0.25",
    ],
    "adam, cosine, three classes": [
        "--dataset", "blobs", "--samples", "45", "--steps", "20", "--layers", "5,1",
        "--optimizer", "adam", "--lr", "0.05", "--schedule", "cosine", "--no-plots",
    ],
    "sgd momentum-free, step schedule, unfused": [
        "--samples", "30", "--steps", "18", "--layers", "4", "--schedule", "step", "--no-fused",
        "--no-plots",
    ],
    "blobs with its defaults: standardized, adam": [
        "--dataset", "blobs", "--samples", "45", "--steps", "20", "--layers", "5", "--no-plots",
    ],
    "tensor engine, adamw, mini-batches": [
        "--engine", "tensor", "--samples", "40", "--steps", "20", "--layers", "8",
        "--optimizer", "adamw", "--lr", "0.02", "--batch-size", "16", "--no-plots",
    ],
}  # fmt: skip


@pytest.mark.parametrize("job", sorted(JOBS))
def test_interrupted_and_resumed_run_equals_an_uninterrupted_one(tmp_path, capsys, job):
    if "tensor" in job:
        pytest.importorskip("micrograd.tensor.training")
    flags = JOBS[job]
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert main(["train", *flags, "--no-progress", "--out", str(whole)]) == 0

    proc = interrupted_run(tmp_path, [*flags, "--out", str(part)], at_step=7)
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"interrupted after 7 of {flags[flags.index('--steps') + 1]} steps" in proc.stderr
    assert f"--resume {part}" in proc.stderr
    saved = json.loads((part / "metrics.json").read_text())
    assert saved["interrupted"] is True and saved["steps_done"] == 7
    assert len(saved["history"]["loss"]) == 7
    assert "resume.json" in os.listdir(part)
    # The interrupted run's steps are the uninterrupted run's first steps.
    full = json.loads((whole / "metrics.json").read_text())
    assert saved["history"]["loss"] == full["history"]["loss"][:7]

    capsys.readouterr()
    assert main(["train", "--resume", str(part), "--no-progress"]) == 0
    assert (part / "model.json").read_bytes() == (whole / "model.json").read_bytes()
    assert comparable(part / "metrics.json") == comparable(whole / "metrics.json")
    assert sorted(os.listdir(part)) == sorted(os.listdir(whole))  # resume.json is gone
    if "curves.png" in os.listdir(whole):
        assert (part / "curves.png").read_bytes() == (whole / "curves.png").read_bytes()


def test_resume_twice(tmp_path):
    """Interrupted, resumed, interrupted again, resumed again: still the same model."""
    flags = ["--samples", "30", "--steps", "15", "--layers", "4", "--batch-size", "8",
             "--no-plots"]  # fmt: skip
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert main(["train", *flags, "--no-progress", "--out", str(whole)]) == 0
    assert interrupted_run(tmp_path, [*flags, "--out", str(part)], 4).returncode == 130
    # The resumed run counts optimizer steps from 4 on: stop it again at overall step 9.
    script = tmp_path / "interrupt.py"
    proc = subprocess.run(
        [sys.executable, str(script), "9", "train", "--resume", str(part), "--no-progress"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 130, proc.stderr
    assert json.loads((part / "metrics.json").read_text())["steps_done"] == 9
    assert main(["train", "--resume", str(part), "--no-progress"]) == 0
    assert (part / "model.json").read_bytes() == (whole / "model.json").read_bytes()


def test_ctrl_c_at_a_random_moment(tmp_path):
    """A real Ctrl-C from outside at a random moment of `micrograd train`: exit code 130 and
    either nothing written (before the first step) or an interrupted run that resumes to the
    uninterrupted model; or the job had already finished."""
    flags = ["--samples", "40", "--steps", "600", "--layers", "8", "--no-plots", "--no-progress"]
    cmd = [sys.executable, "-m", "micrograd", "train", *flags]
    whole = tmp_path / "whole"
    t0 = time.perf_counter()
    subprocess.run([*cmd, "--out", str(whole)], check=True, capture_output=True, timeout=300)
    elapsed = time.perf_counter() - t0
    rng = random.Random(1)
    outcomes = []
    for i in range(3):
        part = tmp_path / f"part{i}"
        proc = subprocess.Popen(
            [*cmd, "--out", str(part)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        time.sleep(rng.uniform(0.4, 0.8) * elapsed)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=300)
        assert "Traceback" not in err
        if proc.returncode == 0:  # finished before the signal
            assert (part / "model.json").read_bytes() == (whole / "model.json").read_bytes()
            outcomes.append("finished")
            continue
        if proc.returncode == -signal.SIGINT and not err:
            # Killed by the signal where no handler can exist: while Python itself was starting
            # (nothing written), or while it shut down after the job had finished (the whole run
            # written, as if the signal had come a moment later).
            if part.exists():
                assert (part / "model.json").read_bytes() == (whole / "model.json").read_bytes()
                outcomes.append("finished")
            else:
                outcomes.append("before start")
            continue
        assert proc.returncode == 130, err
        if "just after the run was written" in err:  # Ctrl-C after the last step
            assert json.loads((part / "metrics.json").read_text())["interrupted"] is False
            assert (part / "model.json").read_bytes() == (whole / "model.json").read_bytes()
            outcomes.append("finished")
            continue
        if not part.exists():
            # Interrupted while starting (the command's own one line) or before the first step
            # ended (the training job's): either way nothing was written.
            assert "nothing was written" in err or err.strip() == "micrograd: interrupted", err
            outcomes.append("before training")
            continue
        assert json.loads((part / "metrics.json").read_text())["interrupted"] is True
        assert main(["train", "--resume", str(part), "--no-progress"]) == 0
        assert (part / "model.json").read_bytes() == (whole / "model.json").read_bytes()
        outcomes.append("resumed")
    assert "resumed" in outcomes, outcomes  # the signals land mid-training, as intended


# -- what cannot be resumed -----------------------------------------------------------------


SMALL = ["--samples", "30", "--steps", "12", "--layers", "4", "--no-plots", "--no-progress"]


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("micrograd: error: "), err
    return err[0]


def test_a_finished_run_has_nothing_to_resume(tmp_path, capsys):
    assert main(["train", *SMALL, "--out", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "r")]) == 1
    assert "nothing to resume" in one_error_line(capsys)


def test_resume_refuses_changed_settings(tmp_path, capsys):
    assert interrupted_run(tmp_path, [*SMALL, "--out", str(tmp_path / "r")], 3).returncode == 130
    before = sorted(os.listdir(tmp_path / "r"))
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "r"), "--lr", "0.5", "--steps", "50"]) == 2
    line = one_error_line(capsys)
    assert "--lr" in line and "--steps" in line
    assert sorted(os.listdir(tmp_path / "r")) == before


def test_resume_refuses_other_data(tmp_path, capsys):
    data = tmp_path / "d.csv"
    rows = [f"{i / 10!r},{(i * 7 % 5) / 5!r},{i % 2}" for i in range(30)]
    data.write_text("a,b,label\n" + "\n".join(rows) + "\n")
    run = tmp_path / "r"
    flags = ["--dataset", str(data), "--steps", "10", "--layers", "4", "--no-plots"]
    assert interrupted_run(tmp_path, [*flags, "--out", str(run)], 3).returncode == 130
    data.write_text(data.read_text().replace("0.1,", "0.15,", 1))
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--no-progress"]) == 1
    assert "training data differ" in one_error_line(capsys)
    assert json.loads((run / "metrics.json").read_text())["steps_done"] == 3


def test_resume_from_another_folder_names_the_relative_data_path(tmp_path, capsys, monkeypatch):
    # issue 9 trial: a run trained on `--dataset pets.csv`, resumed from another folder, said
    # only "cannot read the data set 'pets.csv': no such file".
    rows = [f"{i / 10!r},{(i * 7 % 5) / 5!r},{('dog', 'cat')[i % 2]}" for i in range(30)]
    (tmp_path / "pets.csv").write_text("a,b,species\n" + "\n".join(rows) + "\n")
    flags = ["--dataset", "pets.csv", "--label", "species", "--steps", "10", "--layers", "4"]
    script_flags = [*flags, "--no-plots", "--out", "r"]
    monkeypatch.chdir(tmp_path)
    assert interrupted_run(tmp_path, script_flags, 3).returncode == 130
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["train", "--resume", str(tmp_path / "r"), "--no-progress"]) == 1
    line = one_error_line(capsys)
    assert "the run was trained on 'pets.csv', a path relative to the folder it was" in line
    assert f"({elsewhere}); run --resume from that folder" in line
    monkeypatch.chdir(tmp_path)  # from where it was started, it resumes (text labels and all)
    assert main(["train", "--resume", "r", "--no-progress"]) == 0
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["steps_done"] == 10


@pytest.mark.parametrize("content", ["", "{", '{"format": "micrograd-resume", "version": 1}'])
def test_resume_refuses_a_broken_resume_file(tmp_path, capsys, content):
    run = tmp_path / "r"
    assert interrupted_run(tmp_path, [*SMALL, "--out", str(run)], 3).returncode == 130
    (run / "resume.json").write_text(content)
    capsys.readouterr()
    assert main(["train", "--resume", str(run)]) == 1
    line = one_error_line(capsys)
    assert "resume.json" in line


def test_resume_of_a_folder_that_is_no_run(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path / "missing")]) == 1
    assert "missing" in one_error_line(capsys)
    (tmp_path / "empty").mkdir()
    assert main(["train", "--resume", str(tmp_path / "empty")]) == 1
    assert "not a micrograd run folder" in one_error_line(capsys)


def test_ctrl_c_after_the_last_step_still_writes_the_finished_run(tmp_path, capsys, monkeypatch):
    # issue 9 trial: a Ctrl-C while the finished run's pictures were drawn (about a second of
    # matplotlib) said "interrupted; nothing was written" and lost the whole training.
    real_render = train._render_outputs

    def render_after_ctrl_c(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return real_render(*args, **kwargs)

    monkeypatch.setattr(train, "_render_outputs", render_after_ctrl_c)
    out = tmp_path / "r"
    assert main(["train", *SMALL, "--out", str(out)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"micrograd: error: interrupted just after the run was written to {out}"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["interrupted"] is False and metrics["steps_done"] == 12
    assert sorted(os.listdir(out)) == ["metrics.json", "model.json"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_ctrl_c_interrupts_at_once():
    stop = train._StopRequest()
    with stop:
        stop._handle(signal.SIGINT, None)
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):
            stop._handle(signal.SIGINT, None)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m["config"].update(steps="many"), "steps must be"),
        (lambda m: m["config"].update(layers=5), "bad settings"),
        (lambda m: m["config"].update(colour="red"), "unknown settings ['colour']"),
        (lambda m: m["config"].update(dataset=5), "bad settings: dataset must be a string"),
        (lambda m: m["config"].update(label=None), "bad settings: label must be a string"),
        (lambda m: m["history"].update(loss=[1.0]), "history does not match"),
    ],
)
def test_resume_refuses_tampered_metrics(tmp_path, capsys, change, message):
    run = tmp_path / "r"
    assert interrupted_run(tmp_path, [*SMALL, "--out", str(run)], 3).returncode == 130
    metrics = json.loads((run / "metrics.json").read_text())
    change(metrics)
    (run / "metrics.json").write_text(json.dumps(metrics))
    capsys.readouterr()
    assert main(["train", "--resume", str(run)]) == 1
    line = one_error_line(capsys)
    assert message in line and "metrics.json" in line


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(step=999), "step 999 is not inside"),
        (lambda d: d["parameters"].pop(), "do not match the run's model"),
        (lambda d: d["parameters"][0].__setitem__(1, "x"), "not a finite number"),
        (lambda d: d["optimizer"].update(type="Adam"), "state of a Adam"),
    ],
)
def test_resume_refuses_a_tampered_resume_file(tmp_path, capsys, change, message):
    run = tmp_path / "r"
    assert interrupted_run(tmp_path, [*SMALL, "--out", str(run)], 3).returncode == 130
    doc = json.loads((run / "resume.json").read_text())
    change(doc)
    (run / "resume.json").write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["train", "--resume", str(run)]) == 1
    line = one_error_line(capsys)
    assert message in line and "resume.json" in line


def test_a_run_saved_before_standardization_resumes_unstandardized(tmp_path):
    """metrics.json written before the setting existed has no "standardize" (nor "epochs",
    "features", "drop"): such a run trained on the raw features and resumes so, even on a
    data set whose defaults now standardize."""
    flags = [
        "--dataset", "blobs", "--samples", "30", "--steps", "12", "--layers", "4",
        "--optimizer", "sgd", "--lr", "0.01", "--no-standardize", "--no-plots",
    ]  # fmt: skip
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert main(["train", *flags, "--no-progress", "--out", str(whole)]) == 0
    proc = interrupted_run(tmp_path, [*flags, "--out", str(part)], at_step=5)
    assert proc.returncode == 130, proc.stderr
    metrics = json.loads((part / "metrics.json").read_text())
    for key in ("standardize", "epochs", "features", "drop"):
        del metrics["config"][key]
    (part / "metrics.json").write_text(json.dumps(metrics))
    assert main(["train", "--resume", str(part), "--no-progress"]) == 0
    assert (part / "model.json").read_bytes() == (whole / "model.json").read_bytes()
