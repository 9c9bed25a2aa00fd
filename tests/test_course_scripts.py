"""benchmarks/course_scripts.py, the runner of the course's real PyTorch scripts, on scripts of its
own: its rewriting of hyperparameter lines, its comparison of two outputs, its handling of
checkouts (a local git repository stands in for GitHub), and a whole run of a small training
script under torch and under `python -m micrograd.tensor`. The upstream scripts are not needed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
import course_scripts as runner

# -- rewriting the hyperparameter lines at the top of a script -----------------------------------

LECTURE = textwrap.dedent(
    """\
    import torch
    import torch.nn as nn

    # hyperparameters
    batch_size = 64 # how many sequences in parallel?
    block_size = 256
    note = 'héllo'; n_embd = 384  # after non-ASCII text on the line
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    dropout = 0.2
    # ------------

    torch.manual_seed(1337)
    batch_size = 1  # not a hyperparameter line: after the first other statement
    """
)


def test_only_the_assignments_at_the_top_are_rewritten_and_comments_stay():
    source, notes = runner.rewrite_hyperparameters(
        LECTURE, {"batch_size": 8, "n_embd": 32, "dropout": 0.0}, "gpt.py"
    )
    assert source.splitlines() == [
        "import torch",
        "import torch.nn as nn",
        "",
        "# hyperparameters",
        "batch_size = 8 # how many sequences in parallel?",
        "block_size = 256",
        "note = 'héllo'; n_embd = 32  # after non-ASCII text on the line",
        "device = 'cuda' if torch.cuda.is_available() else 'cpu'",
        "dropout = 0.0",
        "# ------------",
        "",
        "torch.manual_seed(1337)",
        "batch_size = 1  # not a hyperparameter line: after the first other statement",
    ]
    assert notes == ["batch_size = 8 (was 64)", "n_embd = 32 (was 384)", "dropout = 0.0 (was 0.2)"]


def test_a_name_not_assigned_at_the_top_is_refused_naming_it():
    with pytest.raises(
        runner.RunnerError, match=r"gpt\.py has no hyperparameter assignment n_head"
    ):
        runner.rewrite_hyperparameters(LECTURE, {"n_head": 4}, "gpt.py")
    # assigned, but only below the first other statement: not a hyperparameter line either
    late = LECTURE.replace("batch_size = 64 # how many sequences in parallel?\n", "")
    with pytest.raises(runner.RunnerError, match="batch_size"):
        runner.rewrite_hyperparameters(late, {"batch_size": 8}, "gpt.py")


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["batch_size", "block_size", "n_embd", "dropout"]),
        st.one_of(st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False)),
    )
)
def test_the_rewritten_script_assigns_exactly_the_new_values(values):
    source, notes = runner.rewrite_hyperparameters(LECTURE, values, "gpt.py")
    namespace: dict = {}
    header = source.split("torch.manual_seed")[0].replace("import torch.nn as nn\n", "")
    exec(header.replace("import torch\n", ""), {"torch": _NoCuda()}, namespace)  # noqa: S102
    expected = {"batch_size": 64, "block_size": 256, "n_embd": 384, "dropout": 0.2, **values}
    assert {k: namespace[k] for k in expected} == expected
    assert len(notes) == len(values)
    assert source.count("\n") == LECTURE.count("\n")


class _NoCuda:
    class cuda:
        @staticmethod
        def is_available():
            return False


# -- comparing two outputs -----------------------------------------------------------------------

MAKEMORE = runner.Rules(**runner.MAKEMORE_RULES)
NANOGPT_DROPOUT = runner.Rules(**runner.NANOGPT_RULES, dropout=True)

TORCH_OUT = """\
number of examples in the dataset: 32033
step 0 | loss 3.3011 | step time 40.11ms
step 10 | loss 3.0123 | step time 3.02ms
step 500 train loss: 2.340780258178711 test loss: 2.314926862716675
emma
"""


def test_identical_outputs_agree_with_timings_masked():
    ours = TORCH_OUT.replace("40.11ms", "9.50ms").replace("3.02ms", "12.70ms")
    found = runner.compare(TORCH_OUT, ours, MAKEMORE)
    assert found.agrees and found.text_identical and found.evals_identical
    assert found.max_loss_difference == 0.0
    assert found.differences == []


def test_a_training_loss_is_compared_within_1e_4_relative():
    close = TORCH_OUT.replace("3.0123 |", "3.0125 |")  # 6.6e-5 relative
    found = runner.compare(TORCH_OUT, close, MAKEMORE)
    assert found.agrees and found.max_loss_difference == pytest.approx(0.0002 / 3.0123)
    far = TORCH_OUT.replace("3.0123 |", "3.0127 |")  # 1.3e-4 relative
    found = runner.compare(TORCH_OUT, far, MAKEMORE)
    assert not found.agrees and not found.losses_agree and found.text_identical
    assert found.differences == [
        (
            "line 3: loss differs by 1.33e-04 relative: "
            "'step 10 | loss 3.0123 | <masked>' / 'step 10 | loss 3.0127 | <masked>'"
        )
    ]


def test_evaluation_lines_and_text_must_be_identical():
    evaluation = TORCH_OUT.replace("2.314926862716675", "2.314927101135254")  # 1 float32 ulp
    found = runner.compare(TORCH_OUT, evaluation, MAKEMORE)
    assert not found.agrees and found.evals_identical is False and found.text_identical
    assert 0 < found.max_loss_difference < 1e-6
    text = runner.compare(TORCH_OUT, TORCH_OUT.replace("emma", "emmy"), MAKEMORE)
    assert not text.agrees and not text.text_identical and text.evals_identical
    shorter = runner.compare(TORCH_OUT, TORCH_OUT.replace("emma\n", ""), MAKEMORE)
    assert not shorter.agrees and shorter.differences == [
        "torch printed 5 lines, ours 4",
        "line 5 only in torch's output: 'emma'",
    ]
    # a loss line shaped differently (another step) is a difference of text, not of losses
    shifted = runner.compare(TORCH_OUT, TORCH_OUT.replace("step 10 |", "step 11 |"), MAKEMORE)
    assert not shifted.agrees and not shifted.text_identical


def test_a_line_only_one_side_prints_does_not_shift_the_losses_after_it():
    warned = TORCH_OUT.replace("step 0 |", "WARNING: slow attention\nstep 0 |")
    found = runner.compare(TORCH_OUT, warned.replace("3.0123", "3.0200"), MAKEMORE)
    assert found.differences == [
        "torch printed 5 lines, ours 6",
        "line 2 only in our output: 'WARNING: slow attention'",
        (
            "line 3: loss differs by 2.56e-03 relative: "
            "'step 10 | loss 3.0123 | <masked>' / 'step 10 | loss 3.0200 | <masked>'"
        ),
    ]
    assert found.max_loss_difference == pytest.approx(0.0077 / 3.0123)
    assert not found.text_identical and found.evals_identical


NANOGPT_OUT = """\
step 0: train loss 4.1735, val loss 4.1727
iter 0: loss 4.1844, time 30.95ms, mfu -100.00%
step 50: train loss 3.7934, val loss 3.7910
iter 50: loss 3.8095, time 20.17ms, mfu 0.00%

KING HENRY:
"""


@pytest.mark.parametrize(
    "final, agrees", [("3.9000, val loss 3.6900", True), ("3.9100, val loss 3.7910", False)]
)
def test_with_dropout_only_the_last_evaluation_must_agree_within_3_percent(final, agrees):
    ours = NANOGPT_OUT.replace("4.1844", "4.5").replace("KING", "QUEEN")
    ours = ours.replace("3.7934, val loss 3.7910", final)
    found = runner.compare(NANOGPT_OUT, ours, NANOGPT_DROPOUT)
    assert found.agrees is agrees
    assert not found.text_identical and found.evals_identical is False
    strict = runner.compare(NANOGPT_OUT, ours, runner.Rules(**runner.NANOGPT_RULES))
    assert not strict.agrees


# -- checkouts -----------------------------------------------------------------------------------


def git(*args, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_a_clone_is_checked_out_at_the_pinned_commit(tmp_path):
    origin = tmp_path / "origin"
    origin.mkdir()
    git("init", "-q", cwd=origin)
    (origin / "makemore.py").write_text("print('pinned')\n")
    (origin / "names.txt").write_text("emma\n")
    git("add", ".", cwd=origin)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one", cwd=origin)
    pinned = git("rev-parse", "HEAD", cwd=origin)
    (origin / "makemore.py").write_text("print('newer')\n")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "two", cwd=origin)
    upstream = runner.Upstream("karpathy/makemore", pinned, ("makemore.py", "names.txt"))
    folder = runner.clone(upstream, tmp_path / "clone", url=origin.as_uri())
    assert (folder / "makemore.py").read_text() == "print('pinned')\n"
    assert runner.checkout_commit(folder) == pinned


def test_a_failed_clone_or_a_wrong_folder_is_one_line(tmp_path):
    upstream = runner.UPSTREAMS["makemore"]
    with pytest.raises(runner.RunnerError) as failed:
        runner.clone(upstream, tmp_path / "clone", url=(tmp_path / "nowhere").as_uri())
    message = str(failed.value)
    assert message.startswith(
        "no checkout of karpathy/makemore given (--makemore DIR) and cloning file://"
    )
    assert "\n" not in message
    (tmp_path / "empty").mkdir()
    with pytest.raises(runner.RunnerError, match=r"not a checkout of karpathy/makemore: it has no"):
        runner.check_checkout(tmp_path / "empty", upstream)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--only", "nosuch"], "--only nosuch matches no script (there are: bigram.py, gpt.py"),
        (["--only", "makemore.py:mlp", "--makemore", "/nonexistent/makemore"], "is not a folder"),
    ],
)
def test_command_line_errors_are_one_line_and_status_2(tmp_path, args, message):
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "course_scripts.py"), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("course_scripts.py: error: ") and message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


# -- a whole run, on a script of our own ---------------------------------------------------------

# A lecture-shaped script: hyperparameters at the top, no command line, losses every step, an
# evaluation every few steps and sampled "text" at the end.
TOY = textwrap.dedent(
    """\
    import torch
    import torch.nn as nn
    from torch.nn import functional as F

    # hyperparameters
    batch_size = 64
    max_iters = 5000  # far too many for a test
    eval_interval = 500
    n_embd = 384
    # ------------

    torch.manual_seed(1337)
    vocab = 11
    data = torch.randint(0, vocab, (400,))
    model = nn.Sequential(nn.Embedding(vocab, n_embd), nn.Tanh(), nn.Linear(n_embd, vocab))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)

    @torch.no_grad()
    def evaluate():
        return F.cross_entropy(model(data[:-1]), data[1:]).item()

    for step in range(max_iters):
        if step % eval_interval == 0 or step == max_iters - 1:
            print(f"step {step}: train loss {evaluate():.4f}")
        ix = torch.randint(0, len(data) - 1, (batch_size,))
        loss = F.cross_entropy(model(data[ix]), data[ix + 1])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        print(f"iter {step}: loss {loss.item():.6f}")
    x = torch.zeros(1, dtype=torch.long)
    out = []
    for _ in range(30):
        probs = F.softmax(model(x), dim=-1)
        x = torch.multinomial(probs, num_samples=1)[0]
        out.append("abcdefghijk"[x.item()])
    print("".join(out))
    torch.save(model.state_dict(), "ckpt.pt")
    print(ENGINE)
    """
)
# Reads the checkpoint toy.py saved and prints its predictions
LOAD = textwrap.dedent(
    """\
    import torch
    import torch.nn as nn
    n_embd = 16
    model = nn.Sequential(nn.Embedding(11, n_embd), nn.Tanh(), nn.Linear(n_embd, 11))
    model.load_state_dict(torch.load("ckpt.pt", weights_only=True))
    print(model(torch.arange(11)).argmax(dim=-1).tolist())
    """
)


@pytest.fixture
def toy_upstream(tmp_path, monkeypatch):
    checkout = tmp_path / "toy-checkout"
    checkout.mkdir()
    (checkout / "toy.py").write_text(TOY.replace("print(ENGINE)\n", ""))
    (checkout / "tell.py").write_text(TOY.replace("ENGINE", "torch.__name__"))
    (checkout / "load.py").write_text(LOAD)
    upstream = runner.Upstream("someone/toy", "0" * 40, ("toy.py", "tell.py", "load.py"))
    monkeypatch.setitem(runner.UPSTREAMS, "toy", upstream)
    return {"toy": checkout}


TOY_RULES = runner.Rules(loss_lines=r"^iter \d+: loss ", eval_lines=r"^step \d+: train loss ")
TINY = {"batch_size": 8, "max_iters": 12, "eval_interval": 5, "n_embd": 16}


@pytest.mark.parametrize("dropout", [False, True])
def test_a_tiny_run_agrees_between_torch_and_ours(tmp_path, toy_upstream, dropout):
    # (with dropout rules only the last losses are required to agree, but the rerun of load.py on
    # ours' checkpoint must still print exactly what ours printed)
    case = runner.Case(
        "toy.py",
        "toy",
        [["toy.py"], ["load.py"]],
        runner.Rules(TOY_RULES.loss_lines, TOY_RULES.eval_lines, dropout=dropout),
        hyperparameters={"toy.py": TINY},
        reread=(1,),  # real torch loads the checkpoint ours saved and predicts as ours did
    )
    notes, theirs, ours = runner.run_case(case, toy_upstream, tmp_path / "run")
    assert theirs.finished and ours.finished, ours.failure or theirs.failure
    assert ours.torch_reads_ours is True, ours.reread_notes
    assert theirs.outputs[1] == ours.outputs[1] and ours.outputs[1].startswith("[")
    assert notes == [
        (
            "toy.py (temporary copy) rewritten: batch_size = 8 (was 64), max_iters = 12 "
            "(was 5000), eval_interval = 5 (was 500), n_embd = 16 (was 384)"
        )
    ]
    lines = theirs.stdout.splitlines()
    assert lines[0] == "$ toy.py" and len(lines) == 1 + 12 + 4 + 1 + 2  # evals at 0, 5, 10, 11
    found = runner.compare(theirs.stdout, ours.stdout, case.rules)
    assert found.agrees, found.differences
    assert found.max_loss_difference <= runner.LOSS_TOLERANCE
    assert found.evals_identical and found.text_identical
    # the checkout itself was not touched: only the temporary copies
    assert "batch_size = 64" in (toy_upstream["toy"] / "toy.py").read_text()
    assert "batch_size = 8\n" in (tmp_path / "run" / "ours" / "toy.py").read_text()


def test_a_run_that_prints_something_else_is_reported(tmp_path, toy_upstream):
    case = runner.Case(
        "tell.py",
        "toy",
        [["tell.py"], ["missing.py"]],
        TOY_RULES,
        hyperparameters={"tell.py": TINY},
    )
    _, theirs, ours = runner.run_case(case, toy_upstream, tmp_path / "run")
    assert not theirs.finished and not ours.finished
    assert (
        ours.failure
        == "missing.py (exit 2): python -m micrograd.tensor: error: no such script: missing.py"
    )
    found = runner.compare(theirs.stdout, ours.stdout, case.rules)
    assert not found.agrees and not found.text_identical and found.losses_agree
    assert found.differences == ["line 19: torch 'torch' / ours 'micrograd.tensor'"]
    table = runner.report([(case, theirs, ours, found)])
    assert table.splitlines()[2].split()[:2] == ["tell.py", "NO/NO"]
    assert table.splitlines()[2].endswith("DIFFERS")


def test_the_list_names_every_script_with_its_tiny_configuration():
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "course_scripts.py"), "--list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for kind in ("bigram", "mlp", "rnn", "gru", "bow", "transformer"):
        assert f"    makemore.py --type {kind} --max-steps 50\n" in out
    assert "    makemore.py --type transformer --sample-only\n" in out
    assert (
        "gpt.py\n    (gpt.py: batch_size = 8, block_size = 16, n_embd = 32, n_head = 4, "
        "n_layer = 2, "
        "max_iters = 50, eval_interval = 10, eval_iters = 5, dropout = 0.0)\n    gpt.py\n"
    ) in out
    assert "    train.py config/train_shakespeare_char.py --device=cpu --compile=False" in out
