"""The course's real PyTorch scripts, unedited, on tiny configurations: under PyTorch and under
`python -m micrograd.tensor`, side by side, with what they print compared and their wall times.

    python benchmarks/course_scripts.py --ng-video-lecture DIR --makemore DIR --nanogpt DIR
    python benchmarks/course_scripts.py                # clones the three repositories (network)
    python benchmarks/course_scripts.py --only gpt.py --only makemore.py:bow --keep /tmp/runs

The scripts (karpathy/ng-video-lecture, karpathy/makemore, karpathy/nanoGPT, at the commits pinned
in UPSTREAMS) are copied to a temporary folder per side and run there, each command first with the
real `torch` (`python SCRIPT ARGS`) and then with ours (`python -m micrograd.tensor SCRIPT ARGS`),
interleaved, from the same interpreter and with BLAS and PyTorch on `--threads` threads (default 1).

Tiny configurations, chosen through each script's own interface:

* `bigram.py` and `gpt.py` have no command line: the runner rewrites the hyperparameter assignments
  at the top of the temporary copy (`batch_size = 64` becomes `batch_size = 8`, ...), nothing else,
  and prints which lines it rewrote. `gpt.py` runs twice: with dropout 0 and with its own 0.2.
* `makemore.py --type T --max-steps 50` for each of its six model types, with its defaults
  (`--num-workers 4` included). makemore.py saves `model.pt` only at its step-500 evaluation, so
  `--sample-only` follows a 501-step run of the transformer.
* nanoGPT: `data/shakespeare_char/prepare.py` (with tiny Shakespeare copied in first, so nothing
  is downloaded), `train.py config/train_shakespeare_char.py --device=cpu --compile=False` with a
  tiny model and few iterations given as `--key=value` overrides, then `sample.py` on its
  checkpoint; once with `--dropout=0.0` and once with the config's dropout of 0.2.

What is compared (stdout only; timings such as `time 3.89ms` and `mfu` are masked):

* without dropout: training losses printed step by step within 1e-4 relative; evaluation lines
  and every other line (sampled text, parameter counts, configuration echoes) identical;
* with dropout: the last evaluation's losses within 3% relative; other lines are reported, not
  required (ours draws dropout masks from the generator as torch does, but one rounding difference
  in a kept activation is enough for the runs to part ways).

The files ours saves are checked too: nanoGPT's `sample.py` and makemore's `--sample-only` run
again with real torch on our checkpoint (`ckpt.pt`, `model.pt`) and must print what ours printed.

The table gives, per script: whether each side finished, the largest relative difference between
the two sides' printed losses, whether evaluation lines and text are identical, whether torch read
our files, and the wall time of each side, start-up included (on a shared machine the times are
indicative). Exit status 0 when every script agrees, 1 when one does not, 2 for a usage error
(one line on stderr).

nanoGPT's `sample.py` imports `tiktoken` and `prepare.py` imports `requests`; makemore.py writes
TensorBoard logs through the `tensorboard` package: the `course` extra installs all three.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import importlib.util
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

LOSS_TOLERANCE = 1e-4  # relative, step-by-step training losses without dropout
DROPOUT_TOLERANCE = 0.03  # relative, the last evaluation's losses with dropout


class RunnerError(Exception):
    """A problem with the runner's input (a checkout, a missing package): one line for the user."""


# -- the upstream repositories -------------------------------------------------------------------


@dataclass(frozen=True)
class Upstream:
    name: str  # owner/name on GitHub
    commit: str  # the commit this runner was written against
    files: tuple[str, ...]  # what a checkout must contain (and what is copied)

    @property
    def url(self) -> str:
        return f"https://github.com/{self.name}"

    @property
    def short(self) -> str:
        return self.name.split("/")[1]


UPSTREAMS = {
    "ng-video-lecture": Upstream(
        "karpathy/ng-video-lecture",
        "52201428ed7b46804849dea0b3ccf0de9df1a5c3",
        ("bigram.py", "gpt.py", "input.txt"),
    ),
    "makemore": Upstream(
        "karpathy/makemore",
        "988aa59e4d8fefa526d06f3b453ad116258398d4",
        ("makemore.py", "names.txt"),
    ),
    "nanoGPT": Upstream(
        "karpathy/nanoGPT",
        "3adf61e154c3fe3fca428ad6bc3818b27a3b8291",
        (
            "train.py",
            "configurator.py",
            "model.py",
            "sample.py",
            "config/train_shakespeare_char.py",
            "data/shakespeare_char/prepare.py",
        ),
    ),
}


def check_checkout(folder: Path, upstream: Upstream) -> Path:
    """The folder, if it holds the files the runner copies from `upstream`; else a RunnerError."""
    if not folder.is_dir():
        raise RunnerError(f"{folder} is not a folder (a checkout of {upstream.name} was expected)")
    missing = [f for f in upstream.files if not (folder / f).is_file()]
    if missing:
        raise RunnerError(
            f"{folder} is not a checkout of {upstream.name}: it has no {', '.join(missing)}"
        )
    return folder


def clone(upstream: Upstream, dest: Path, url: str | None = None) -> Path:
    """`git clone` `upstream` (or `url`) into `dest` at the pinned commit, or a RunnerError."""
    url = url or upstream.url
    steps = [
        ["git", "clone", "--quiet", "--no-checkout", url, str(dest)],
        ["git", "-C", str(dest), "checkout", "--quiet", upstream.commit],
    ]
    for command in steps:
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        except FileNotFoundError:
            raise RunnerError(
                f"no checkout of {upstream.name} given and git is not installed to clone it"
            ) from None
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["git failed"])[-1]
            reason = reason.removeprefix("fatal: ").removeprefix("error: ")
            raise RunnerError(
                f"no checkout of {upstream.name} given (--{upstream.short.lower()} DIR) and "
                f"cloning {url} at {upstream.commit[:12]} failed: {reason}"
            )
    return check_checkout(dest, upstream)


def checkout_commit(folder: Path) -> str | None:
    """The commit a git checkout is at, or None (not a git checkout, or no git)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return None
    head = done.stdout.strip()
    return head if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", head) else None


# -- tiny configurations -------------------------------------------------------------------------


def rewrite_hyperparameters(source: str, values: dict, script: str = "script") -> tuple[str, list]:
    """`source` with the hyperparameter assignments at its top set to `values`.

    The top is the run of imports and `name = expression` statements before the first other
    statement (gpt.py's block ends at `torch.manual_seed(1337)`). Only the expression is replaced,
    so a trailing comment stays; an assignment of the same name further down is left alone.
    Returns the new source and one note per line ("n_embd = 32 (was 384)"). A name not assigned
    at the top is a RunnerError: the script's layout is not the one this runner knows.
    """
    tree = ast.parse(source)
    top: dict[str, ast.expr] = {}
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            continue
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            top.setdefault(statement.targets[0].id, statement.value)
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # a docstring
        break
    missing = [name for name in values if name not in top]
    if missing:
        raise RunnerError(
            f"{script} has no hyperparameter assignment {', '.join(missing)} at its top: "
            "not the layout this runner knows"
        )
    lines = source.splitlines(keepends=True)
    notes = []
    # right to left within a line, bottom to top across lines: earlier offsets stay valid
    edits = sorted(((top[n], n, v) for n, v in values.items()), key=lambda e: _position(e[0]))
    for value_node, name, value in reversed(edits):
        if value_node.lineno != value_node.end_lineno:
            raise RunnerError(f"{script}: {name}'s value spans lines: not rewritten")
        row = value_node.lineno - 1
        line = lines[row]
        was = ast.get_source_segment(source, value_node)
        start = _char_offset(line, value_node.col_offset)
        end = _char_offset(line, value_node.end_col_offset)
        lines[row] = line[:start] + repr(value) + line[end:]
        notes.append(f"{name} = {value!r} (was {was})")
    return "".join(lines), notes[::-1]


def _position(node: ast.expr) -> tuple[int, int]:
    return node.lineno, node.col_offset


def _char_offset(line: str, utf8_offset: int) -> int:
    """ast's column offsets count UTF-8 bytes; str slicing counts characters."""
    return len(line.encode("utf-8")[:utf8_offset].decode("utf-8"))


# -- comparing what the two sides printed --------------------------------------------------------

NUMBER = re.compile(
    r"[-+]?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?\d+[eE][-+]?\d+|\bnan\b|\binf\b"
)


@dataclass
class Rules:
    """How to read one script's output."""

    loss_lines: str = r"$^"  # regex: a training loss printed step by step (numbers compared)
    eval_lines: str = r"$^"  # regex: an evaluation of the losses (identical; numbers recorded)
    volatile: tuple[str, ...] = ()  # regexes masked before comparing (timings)
    dropout: bool = False  # dropout on: only the last evaluation's losses must agree (3%)


@dataclass
class Agreement:
    """What comparing one script's two outputs found."""

    max_loss_difference: float | None = None  # relative, over loss and evaluation numbers
    losses_agree: bool = True  # within 1e-4 step by step, or the final ones within 3% (dropout)
    evals_identical: bool | None = None  # None: the script printed no evaluation line
    text_identical: bool = True
    identity_required: bool = True  # without dropout, evaluation lines and text must be identical
    differences: list[str] = field(default_factory=list)  # the first few, for the report

    @property
    def agrees(self) -> bool:
        identical = self.text_identical and self.evals_identical is not False
        return self.losses_agree and (identical or not self.identity_required)


def numbers(line: str) -> list[float]:
    return [float(n) for n in NUMBER.findall(line)]


def template(line: str) -> str:
    """The line with its numbers replaced by '#': two loss lines must share it."""
    return NUMBER.sub("#", line)


def relative_difference(theirs: float, ours: float) -> float:
    """|ours - theirs| relative to torch's value (the reference)."""
    if theirs == ours or (math.isnan(theirs) and math.isnan(ours)):
        return 0.0
    if not (math.isfinite(theirs) and math.isfinite(ours)):
        return math.inf
    return abs(ours - theirs) / max(abs(theirs), 1e-30)


def aligned(a_lines: list[str], b_lines: list[str]) -> list[tuple[int | None, int | None]]:
    """Pairs (i, j) of lines to compare, in order; (i, None) or (None, j) for a line only one side
    printed. Lines are matched by their template (numbers aside), so an extra warning line on one
    side does not shift every later loss against the wrong one; a run of unmatched lines of the
    same length on both sides (sampled text that differs) is compared pairwise."""
    matcher = difflib.SequenceMatcher(
        None, [template(x) for x in a_lines], [template(x) for x in b_lines], autojunk=False
    )
    pairs: list[tuple[int | None, int | None]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            pairs.extend(zip(range(i1, i2), range(j1, j2)))
        else:
            pairs.extend((i, None) for i in range(i1, i2))
            pairs.extend((None, j) for j in range(j1, j2))
    return pairs


def compare(theirs: str, ours: str, rules: Rules, max_notes: int = 5) -> Agreement:
    """Compare torch's output (`theirs`) with ours, line by line, under `rules`."""
    loss_line, eval_line = re.compile(rules.loss_lines), re.compile(rules.eval_lines)

    def clean(text: str) -> list[str]:
        lines = text.splitlines()
        for pattern in rules.volatile:
            lines = [re.sub(pattern, "<masked>", line) for line in lines]
        return lines

    a_lines, b_lines = clean(theirs), clean(ours)
    found = Agreement()
    notes = found.differences
    strict_loss_ok = True
    last_eval: tuple[list[float], list[float]] | None = None
    last_loss: tuple[list[float], list[float]] | None = None

    def note(text: str) -> None:
        if len(notes) < max_notes:
            notes.append(text)

    if len(a_lines) != len(b_lines):
        found.text_identical = False
        note(f"torch printed {len(a_lines)} lines, ours {len(b_lines)}")
    for i, j in aligned(a_lines, b_lines):
        if j is None or i is None:  # a line only one side printed (a warning, a missing line)
            line, side = (a_lines[i], "torch's") if j is None else (b_lines[j], "our")
            if eval_line.search(line):
                found.evals_identical = False
            else:
                found.text_identical = False
            note(f"line {(i if j is None else j) + 1} only in {side} output: {line!r}")
            continue
        a, b, number = a_lines[i], b_lines[j], i + 1
        kind = (
            "loss"
            if loss_line.search(a) and loss_line.search(b)
            else "eval"
            if eval_line.search(a) and eval_line.search(b)
            else "text"
        )
        if kind in ("loss", "eval") and template(a) == template(b):
            pair = (numbers(a), numbers(b))
            worst = max(map(relative_difference, *pair), default=0.0)
            if found.max_loss_difference is None or worst > found.max_loss_difference:
                found.max_loss_difference = worst
            if kind == "loss":
                last_loss = pair
                if worst > LOSS_TOLERANCE:
                    strict_loss_ok = False
                    note(f"line {number}: loss differs by {worst:.2e} relative: {a!r} / {b!r}")
                continue
            last_eval = pair
            found.evals_identical = found.evals_identical is not False and a == b
            if a != b:
                note(f"line {number}: evaluation differs: torch {a!r} / ours {b!r}")
            continue
        # here: text, or loss or evaluation lines shaped differently (another step number...)
        if kind == "eval":
            found.evals_identical = False
        elif a != b:
            found.text_identical = False
        if a != b:
            note(f"line {number}: torch {a!r} / ours {b!r}")
    if rules.dropout:
        final = last_eval or last_loss
        if final is None:
            found.losses_agree = False
            note("no loss line to compare")
        else:
            worst = max(map(relative_difference, *final), default=math.inf)
            found.losses_agree = worst <= DROPOUT_TOLERANCE and len(final[0]) == len(final[1])
            if not found.losses_agree:
                note(f"final losses differ by {worst:.2%}: {final[0]} / {final[1]}")
        found.identity_required = False
    else:
        found.losses_agree = strict_loss_ok
    return found


# -- the scripts and their tiny configurations ---------------------------------------------------


@dataclass
class Case:
    """One script run: commands (script + arguments) run in order in a fresh copy, on each side."""

    name: str
    upstream: str  # key of UPSTREAMS
    commands: list[list[str]]
    rules: Rules
    hyperparameters: dict = field(default_factory=dict)  # {file: {name: value}} rewritten first
    extra_files: dict = field(default_factory=dict)  # {destination: (upstream key, file)}
    needs: tuple[str, ...] = ()  # packages the scripts import besides torch
    # commands that read what earlier ones saved (a checkpoint): run again afterwards with real
    # torch in our folder, they must print what ours printed (our files load in PyTorch)
    reread: tuple[int, ...] = ()


LECTURE_TINY = {"max_iters": 50, "eval_interval": 10, "eval_iters": 5}
GPT_TINY = dict(batch_size=8, block_size=16, n_embd=32, n_head=4, n_layer=2, **LECTURE_TINY)
LECTURE_RULES = Rules(eval_lines=r"^step \d+: train loss")
MAKEMORE_TYPES = ("bigram", "mlp", "rnn", "gru", "bow", "transformer")
MAKEMORE_RULES = {
    "loss_lines": r"^step \d+ \| loss ",
    "eval_lines": r"^step \d+ train loss: |^test loss .* is the best so far",
    "volatile": (r"step time [\d.]+ms",),
}
NANOGPT_TINY = [
    "--device=cpu",
    "--compile=False",
    "--eval_interval=10",
    "--eval_iters=5",
    "--log_interval=1",
    "--block_size=16",
    "--batch_size=8",
    "--n_layer=2",
    "--n_head=4",
    "--n_embd=32",
    "--max_iters=50",
    "--lr_decay_iters=50",
]
NANOGPT_RULES = {
    "loss_lines": r"^iter \d+: loss ",
    "eval_lines": r"^step \d+: train loss ",
    "volatile": (r"time [\d.]+ms", r"mfu -?[\d.]+%"),
}
NANOGPT_SAMPLE = [
    "sample.py",
    "--out_dir=out-shakespeare-char",
    "--device=cpu",
    "--num_samples=2",
    "--max_new_tokens=100",
]


def cases() -> list[Case]:
    found = [
        Case(
            "bigram.py",
            "ng-video-lecture",
            [["bigram.py"]],
            LECTURE_RULES,
            hyperparameters={"bigram.py": dict(LECTURE_TINY)},
        ),
        Case(
            "gpt.py",
            "ng-video-lecture",
            [["gpt.py"]],
            LECTURE_RULES,
            hyperparameters={"gpt.py": dict(GPT_TINY, dropout=0.0)},
        ),
        Case(
            "gpt.py:dropout (0.2)",
            "ng-video-lecture",
            [["gpt.py"]],
            Rules(eval_lines=LECTURE_RULES.eval_lines, dropout=True),
            hyperparameters={"gpt.py": dict(GPT_TINY)},
        ),
    ]
    for kind in MAKEMORE_TYPES:
        found.append(
            Case(
                f"makemore.py:{kind}",
                "makemore",
                [["makemore.py", "--type", kind, "--max-steps", "50"]],
                Rules(**MAKEMORE_RULES),
                needs=("tensorboard",),
            )
        )
    found.append(
        Case(
            "makemore.py:sample-only (transformer, 501 steps)",
            "makemore",
            [
                ["makemore.py", "--type", "transformer", "--max-steps", "501"],
                ["makemore.py", "--type", "transformer", "--sample-only"],
            ],
            Rules(**MAKEMORE_RULES),
            needs=("tensorboard",),
            reread=(1,),
        )
    )
    for dropout in (False, True):
        train = ["train.py", "config/train_shakespeare_char.py", *NANOGPT_TINY]
        found.append(
            Case(
                "nanoGPT:dropout (0.2)" if dropout else "nanoGPT",
                "nanoGPT",
                [
                    ["data/shakespeare_char/prepare.py"],
                    train if dropout else [*train, "--dropout=0.0"],
                    NANOGPT_SAMPLE,
                ],
                Rules(**NANOGPT_RULES, dropout=dropout),
                # prepare.py downloads tiny Shakespeare unless input.txt is there: it is the
                # lecture's input.txt
                extra_files={
                    "data/shakespeare_char/input.txt": ("ng-video-lecture", "input.txt"),
                },
                needs=("requests", "tiktoken"),
                reread=(2,),
            )
        )
    return found


# -- running -------------------------------------------------------------------------------------


@dataclass
class Side:
    """One engine's run of a case."""

    finished: bool = True
    seconds: float = 0.0
    stdout: str = ""
    failure: str = ""  # the last line of stderr of the command that failed
    outputs: list = field(default_factory=list)  # stdout of each command
    # ours only: real torch, run on the files ours saved, printed what ours printed (None: no check)
    torch_reads_ours: bool | None = None
    reread_notes: list = field(default_factory=list)


def prepare_folder(case: Case, checkouts: dict, folder: Path) -> list[str]:
    """Copy the case's files into `folder`, rewrite hyperparameters; notes on what was rewritten."""
    upstream = UPSTREAMS[case.upstream]
    for name in upstream.files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(checkouts[case.upstream] / name, folder / name)
    for destination, (key, name) in case.extra_files.items():
        shutil.copyfile(checkouts[key] / name, folder / destination)
    notes = []
    for name, values in case.hyperparameters.items():
        source = (folder / name).read_text(encoding="utf-8")
        source, changed = rewrite_hyperparameters(source, values, name)
        (folder / name).write_text(source, encoding="utf-8")
        notes.append(f"{name} (temporary copy) rewritten: " + ", ".join(changed))
    return notes


def environment(ours: bool, threads: int) -> dict:
    env = dict(os.environ)
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[variable] = str(threads)
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONUNBUFFERED"] = "1"
    if ours:  # this repository's micrograd, installed or not
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def run_command(command: list[str], folder: Path, ours: bool, threads: int, timeout: float):
    """Run one script command; (exit code or None on timeout, stdout, stderr, seconds)."""
    prefix = [sys.executable, "-m", "micrograd.tensor"] if ours else [sys.executable]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [*prefix, *command],
            cwd=folder,
            env=environment(ours, threads),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout.decode() if isinstance(expired.stdout, bytes) else expired.stdout
        return None, out or "", f"timed out after {timeout:.0f} s", time.perf_counter() - start
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - start


def last_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no message)"


def run_case(case: Case, checkouts: dict, workroot: Path, threads: int = 1, timeout=1800.0):
    """Run a case on both sides, interleaved command by command: (notes, torch Side, ours Side)."""
    folders = {"torch": workroot / "torch", "ours": workroot / "ours"}
    notes = []
    for folder in folders.values():
        folder.mkdir(parents=True)
        notes = prepare_folder(case, checkouts, folder)
    sides = {"torch": Side(), "ours": Side()}
    for command in case.commands:
        for label in ("torch", "ours"):
            side = sides[label]
            if not side.finished:
                continue
            code, out, err, seconds = run_command(
                command, folders[label], label == "ours", threads, timeout
            )
            side.seconds += seconds
            side.stdout += f"$ {' '.join(command)}\n{out}"
            # kept beside the run's files (see --keep): what each command printed
            for stream, text in (("stdout", out), ("stderr", err)):
                with open(folders[label] / f"runner-{stream}.txt", "a", encoding="utf-8") as f:
                    f.write(f"$ {' '.join(command)}\n{text}")
            if code != 0:
                side.finished = False
                what = "timed out" if code is None else f"exit {code}"
                side.failure = f"{command[0]} ({what}): {last_line(err)}"
            side.outputs.append(out)
    ours = sides["ours"]
    if ours.finished and case.reread:
        for index in case.reread:
            command = case.commands[index]
            code, out, err, _ = run_command(command, folders["ours"], False, threads, timeout)
            if code != 0:
                ours.torch_reads_ours = False
                ours.reread_notes.append(f"torch {command[0]} on our files: {last_line(err)}")
                break
            # the same weights on both sides: what they print must be the same, dropout or not
            found = compare(
                out, ours.outputs[index], dataclasses.replace(case.rules, dropout=False)
            )
            ours.torch_reads_ours = ours.torch_reads_ours is not False and found.agrees
            ours.reread_notes += [
                f"torch {command[0]} on our files: {d}" for d in found.differences
            ]
    return notes, sides["torch"], ours


# -- the command line ----------------------------------------------------------------------------


def selected(all_cases: list[Case], only: list[str]) -> list[Case]:
    if not only:
        return all_cases
    chosen = [c for c in all_cases if any(c.name == o or c.name.startswith(o) for o in only)]
    if not chosen:
        names = ", ".join(c.name.split()[0] for c in all_cases)
        raise RunnerError(f"--only {' '.join(only)} matches no script (there are: {names})")
    return chosen


def locate(args, needed: set, scratch: Path) -> dict:
    checkouts = {}
    for key in sorted(needed):
        upstream = UPSTREAMS[key]
        given = getattr(args, key.replace("-", "_").lower())
        if given is not None:
            checkouts[key] = check_checkout(Path(given), upstream)
        else:
            print(f"cloning {upstream.url} at {upstream.commit[:12]} ...", flush=True)
            checkouts[key] = clone(upstream, scratch / "upstream" / key)
        commit = checkout_commit(checkouts[key])
        if commit is not None and commit != upstream.commit:
            print(
                f"note: {checkouts[key]} is at {commit[:12]}, the runner was written against "
                f"{upstream.commit[:12]}"
            )
    return checkouts


def fmt_difference(value: float | None) -> str:
    return "-" if value is None else f"{value:.1e}"


def yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def report(rows: list) -> str:
    width = max([len("script")] + [len(row[0].name) for row in rows])
    header = (
        f"{'script':<{width}} {'finished':>8} {'max loss diff':>13} {'evals same':>10} "
        f"{'text same':>9} {'torch reads ours':>16} "
        f"{'torch s':>8} {'ours s':>8} {'ratio':>6}  verdict"
    )
    lines = [header, "-" * len(header)]
    for case, theirs, ours, agreement in rows:
        finished = f"{yes_no(theirs.finished)}/{yes_no(ours.finished)}"
        ratio = ours.seconds / theirs.seconds if theirs.seconds else math.nan
        good = theirs.finished and ours.finished and agreement.agrees
        verdict = "agrees" if good and ours.torch_reads_ours is not False else "DIFFERS"
        lines.append(
            f"{case.name:<{width}} {finished:>8} "
            f"{fmt_difference(agreement.max_loss_difference):>13} "
            f"{yes_no(agreement.evals_identical):>10} {yes_no(agreement.text_identical):>9} "
            f"{yes_no(ours.torch_reads_ours):>16} "
            f"{theirs.seconds:>8.1f} {ours.seconds:>8.1f} {ratio:>6.2f}  {verdict}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the course's PyTorch scripts under torch and under micrograd.tensor, "
        "on tiny configurations, and compare what they print."
    )
    for key, upstream in UPSTREAMS.items():
        parser.add_argument(
            f"--{key.lower()}",
            metavar="DIR",
            help=f"a checkout of {upstream.name} (default: git clone it at the pinned commit)",
        )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only scripts whose name starts with NAME (gpt.py, makemore.py:bow, nanoGPT ...)",
    )
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (1)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per command (1800)")
    parser.add_argument(
        "--keep",
        metavar="DIR",
        help="run in DIR and keep it (each side's folder holds runner-stdout.txt, runner-stderr.txt)",
    )
    parser.add_argument("--verbose", action="store_true", help="print each side's output too")
    parser.add_argument("--list", action="store_true", help="list the scripts and their commands")
    args = parser.parse_args(argv)
    if args.list:
        for case in cases():
            print(case.name)
            for name, values in case.hyperparameters.items():
                print(f"    ({name}: " + ", ".join(f"{k} = {v!r}" for k, v in values.items()) + ")")
            for command in case.commands:
                print(f"    {' '.join(command)}")
        return 0
    try:
        return run(args)
    except RunnerError as error:
        print(f"course_scripts.py: error: {error}", file=sys.stderr)
        return 2


def run(args) -> int:
    chosen = selected(cases(), args.only)
    if importlib.util.find_spec("torch") is None:
        raise RunnerError("PyTorch is not installed: the scripts are compared against it")
    missing = sorted({p for c in chosen for p in c.needs if importlib.util.find_spec(p) is None})
    if missing:
        raise RunnerError(
            f"the scripts import {', '.join(missing)}: pip install 'micrograd-plus[course]'"
        )
    if args.threads < 1:
        raise RunnerError(f"--threads must be at least 1, not {args.threads}")
    scratch_owner = None
    if args.keep:
        scratch = Path(args.keep)
        if scratch.exists() and any(scratch.iterdir()):
            raise RunnerError(f"--keep {scratch}: the folder exists and is not empty")
        scratch.mkdir(parents=True, exist_ok=True)
    else:
        scratch_owner = tempfile.TemporaryDirectory(prefix="course-scripts-")
        scratch = Path(scratch_owner.name)
    try:
        needed = {c.upstream for c in chosen} | {
            k for c in chosen for k, _ in c.extra_files.values()
        }
        checkouts = locate(args, needed, scratch)
        print(
            f"torch: python SCRIPT ARGS; ours: python -m micrograd.tensor SCRIPT ARGS "
            f"({args.threads} thread{'s' if args.threads > 1 else ''}, in {scratch})",
            flush=True,
        )
        rows = []
        for number, case in enumerate(chosen):
            folder = scratch / "runs" / f"{number:02d}-{re.sub(r'[^A-Za-z0-9.]+', '-', case.name)}"
            notes, theirs, ours = run_case(case, checkouts, folder, args.threads, args.timeout)
            agreement = compare(theirs.stdout, ours.stdout, case.rules)
            rows.append((case, theirs, ours, agreement))
            print(f"\n== {case.name}", flush=True)
            for command in case.commands:
                print(f"   $ python [-m micrograd.tensor] {' '.join(command)}")
            for line in notes:
                print(f"   {line}")
            for label, side in (("torch", theirs), ("ours", ours)):
                if not side.finished:
                    print(f"   {label} failed: {side.failure}")
            for line in agreement.differences + ours.reread_notes:
                print(f"   {line}")
            if args.verbose:
                for label, side in (("torch", theirs), ("ours", ours)):
                    print(f"   --- {label} stdout:\n" + side.stdout)
        print()
        print(report(rows))
        good = all(
            t.finished and o.finished and a.agrees and o.torch_reads_ours is not False
            for _, t, o, a in rows
        )
        return 0 if good else 1
    finally:
        if scratch_owner is not None:
            scratch_owner.cleanup()


if __name__ == "__main__":
    sys.exit(main())
