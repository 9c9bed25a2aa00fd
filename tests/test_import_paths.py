"""Every import path the package offered before its modules moved into rooms (the command-line
application in `micrograd/cli/`, the bridges in `micrograd/viz/` and `micrograd/export/`) still
works: the modules, their public names, the console script and `python -m micrograd`.

The table below was taken from the flat layout (every top-level module, its `__all__` and every
other public class, function and constant it defined) and is frozen: a name that disappears from
a path users may import fails here. `micrograd.tensor` keeps its own layout (torch's), and
tests/test_torch_api_coverage.py guards its names.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# module path -> its public names, as the flat layout had them
PUBLIC = {
    "micrograd": "GradcheckError Value __version__ dot gradcheck",
    "micrograd.animate": (
        "DEFAULT_MAX_FRAMES Frame MAX_LAYOUT_SIZE backward_frames html_page save_gif save_html"
    ),
    "micrograd.cli": "FAILED USAGE_ERROR build_parser main",
    "micrograd.data": (
        "DATASETS batches digits generate load_csv load_digits make_blobs make_circles "
        "make_moons make_spirals make_xor parse_number read_table save_csv standardization "
        "standardize train_val_split"
    ),
    "micrograd.engine": "IMPLEMENTATION PureValue Value dot pure_dot",
    "micrograd.export": (
        "ACTIVATION_MODULES Dense INSTALL_HINT ONNX_OPSET TORCH_SHAPED describe from_torch "
        "is_torch_shaped load_torch_state_dict mlp_layers onnx_model sequential_index to_onnx "
        "to_torch torch_shaped_dtype torch_shaped_kind torch_state_dict walk"
    ),
    "micrograd.export_cli": "FORMATS add_subparser run",
    "micrograd.export_onnx": "Layer build_model model_layers",
    "micrograd.gradcheck": "GradcheckError Mismatch gradcheck numerical_gradients",
    "micrograd.graph": "backward_order topological_order",
    "micrograd.losses": (
        "LOSSES bce_with_logits binary_cross_entropy_with_logits cross_entropy hinge l2 mse"
    ),
    "micrograd.memory": "available_bytes csv_bytes data_bytes format_bytes job_bytes",
    "micrograd.nn": "ACTIVATIONS INITS Layer LayerStack MLP Module Neuron from_config mlp_layers",
    "micrograd.optim": (
        "Adam AdamW Constant CosineDecay LinearDecay OPTIMIZERS Optimizer SCHEDULES SGD "
        "Schedule StepDecay make_optimizer make_schedule"
    ),
    "micrograd.plots": "curves_figure curves_png decision_boundary_figure decision_boundary_png",
    "micrograd.predict": "SavedModel load_for_prediction predict_table probabilities",
    "micrograd.resume": "FORMAT VERSION data_fingerprint load_state state_to_json",
    "micrograd.runfolder": "RUN_FILES check_output_folder read_run write_run",
    "micrograd.serialize": (
        "FLOAT_DTYPES FORMAT MAX_DEPTH VERSION architecture_size atomic_write "
        "check_writable_file load_checkpoint load_model model_to_json save_model"
    ),
    "micrograd.train": (
        "ConfigError DATASET_DEFAULTS DEFAULTED Data ENGINES LOSS_NAMES MemoryBudgetError "
        "ScalarEngine TrainConfig TrainingError accuracy decide format_accuracy get_engine "
        "load_data resolve_defaults resume run scalar_engine_note targets_for_loss"
    ),
    "micrograd.viz": (
        "DEFAULT_MAX_NODES DEFAULT_TIMEOUT Drawing FAST_LAYOUT_SIZE GraphvizError "
        "GraphvizNotFound GraphvizTimeout LayoutSize MAX_LABEL MAX_LAYOUT_SIZE RANKDIRS "
        "atomic_write build_digraph check_layout_size check_max_nodes check_node "
        "check_not_freed check_timeout clip describe draw_dot escape layout_size record_label "
        "render trace"
    ),
    "micrograd.viz_cli": (
        "FUNCTIONS InputError add_subparser build_expression build_neuron parse_values run"
    ),
}

# Paths of micrograd.tensor that mirror torch's layout (the issue keeps them where torch has them).
TENSOR_PATHS = {
    "micrograd.tensor": ("Tensor", "tensor", "nn", "optim", "utils"),
    "micrograd.tensor.nn": ("Module", "Linear", "functional"),
    "micrograd.tensor.nn.functional": ("cross_entropy",),
    "micrograd.tensor.optim": ("SGD", "AdamW"),
    "micrograd.tensor.utils.data": ("DataLoader", "TensorDataset"),
}

ROWS = [(module, name) for module, names in PUBLIC.items() for name in names.split()]


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_the_module_imports(module):
    loaded = importlib.import_module(module)
    # A moved module's old path is the moved module itself (`micrograd.train` is
    # `micrograd.cli.train`), so monkeypatching either path patches the code that runs.
    assert sys.modules[module] is loaded
    assert loaded.__doc__


@pytest.mark.parametrize("module, name", ROWS, ids=[f"{m}.{n}" for m, n in ROWS])
def test_the_name_imports_from_its_old_path(module, name):
    # What `from module import name` does: import the module, then take the name from it.
    found = getattr(__import__(module, fromlist=[name]), name)
    assert found is getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("module", sorted(m for m in PUBLIC if m != "micrograd"))
def test_star_import_gives_the_modules_all(module):
    # What `from module import *` takes: every name of `__all__`, each of which must exist.
    loaded = __import__(module, fromlist=["*"])
    assert [name for name in loaded.__all__ if not hasattr(loaded, name)] == []


@pytest.mark.parametrize("module, names", sorted(TENSOR_PATHS.items()))
def test_the_tensor_engine_keeps_torchs_paths(module, names):
    pytest.importorskip("numpy", reason="the tensor engine needs numpy")
    loaded = importlib.import_module(module)
    for name in names:
        assert hasattr(loaded, name), f"{module}.{name}"


def test_the_console_script_entry_point_resolves_to_the_command(capsys):
    text = (ROOT / "pyproject.toml").read_text()
    scripts = text.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    (target,) = re.findall(r'^micrograd\s*=\s*"([\w.]+):(\w+)"', scripts, re.MULTILINE)
    module, function = target
    assert (module, function) == ("micrograd.cli", "main")
    main = getattr(importlib.import_module(module), function)
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("micrograd-plus ")


@pytest.mark.parametrize("argv", [["--version"], ["data", "--help"]])
def test_python_dash_m_micrograd_runs_the_command(argv):
    run = subprocess.run(
        [sys.executable, "-m", "micrograd", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert ("micrograd-plus" if argv == ["--version"] else "usage: micrograd data") in run.stdout
