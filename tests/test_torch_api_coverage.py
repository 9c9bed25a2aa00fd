"""Every public name of `micrograd.tensor` has a differential test against torch 2.13.

Each tests/test_torchdiff_*.py file (and any other test file that compares with torch) declares a
module-level set `COVERED` naming the public names its tests compare with torch:

    "torch.X"    micrograd.tensor.X (its __all__, submodules included: "torch.cuda.X")
    "Tensor.X"   a method, property or operator dunder of Tensor ("Tensor.__add__")
    "nn.X"       micrograd.tensor.nn.X ("nn.init.X" for a submodule of nn)
    "F.X"        micrograd.tensor.nn.functional.X
    "optim.X"    a submodule's name may leave out "torch." ("utils.data.DataLoader")

A module's own name ("torch.distributed") covers every name in it.

This test lists the public API, then fails naming every name no COVERED set names (a function
without a differential test), and every COVERED name that does not exist (a stale entry).
Names that are this project's own additions, with no torch namesake to compare against, are in
EXTENSIONS with the reason; they must really be absent from torch.
"""

from __future__ import annotations

import importlib
import pathlib
import types

import pytest

pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): its API is what is compared"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
import micrograd.tensor as mt

TESTS = pathlib.Path(__file__).parent

# Tensor's attributes that are Python plumbing rather than API: the constructor is covered as
# "torch.Tensor"; the rest are what every class has, or hooks used only by numpy and by the
# missing-name messages.
PLUMBING = {
    "__dict__",
    "__doc__",
    "__module__",
    "__slots__",
    "__weakref__",
    "__init__",
    "__getattr__",
    "__array_ufunc__",
    "__annotations__",
    "__slotnames__",  # the cache copyreg writes on the class the first time a Tensor is copied
}

# The project's additions: no torch namesake exists to compare against; each is tested against
# the scalar engine (micrograd.engine) or on its own in the files named.
EXTENSIONS = {
    "torch.linear": "x @ W + b as one node for the scalar-engine MLP (test_tensor_nn.py)",
    "nn.MLP": "the scalar engine's MLP on tensors (test_tensor_nn.py, against engine.py)",
    "nn.Dense": "a layer of that MLP (test_tensor_nn.py)",
    "nn.from_config": "rebuilds that MLP from its config (test_tensor_nn.py, test_serialize.py)",
    "Tensor.draw_dot": "draws the graph with graphviz (test_viz.py)",
    "Tensor.label": "the node's name in drawings, as Value.label (test_viz.py)",
    "Tensor.zero_grad": "Value's zero_grad on a tensor (test_tensor.py)",
    "torch.distributed.ONE_PROCESS": "the sentence the distributed stand-ins raise with",
}


def _public(names) -> list[str]:
    return [n for n in names if not n.startswith("_")]


def _module_names(module: types.ModuleType, prefix: str) -> set[str]:
    """Qualified names of a module's public API, its public submodules' names included."""
    names = set()
    for name in getattr(module, "__all__", None) or _public(vars(module)):
        value = getattr(module, name)
        if isinstance(value, types.ModuleType):
            if name == "functional" and prefix == "nn.":
                names |= _module_names(value, "F.")
            elif value.__name__.startswith("micrograd.tensor"):
                names |= _module_names(value, f"{prefix}{name}.")
            continue
        names.add(prefix + name)
    return names


def public_api() -> set[str]:
    names = set()
    for name in mt.__all__:
        value = getattr(mt, name)
        if isinstance(value, types.ModuleType):
            prefix = "nn." if name == "nn" else f"torch.{name}."
            names |= _module_names(value, prefix)
        else:
            names.add(f"torch.{name}")
    for cls in mt.Tensor.__mro__[:-1]:  # Tensor and any base of ours, not object
        for attr in vars(cls):
            if attr in PLUMBING:
                continue
            if not attr.startswith("_") or (attr.startswith("__") and attr.endswith("__")):
                names.add(f"Tensor.{attr}")
    return names


def _qualified(name: str) -> str:
    """A COVERED name in the scheme above; a submodule's name written without "torch."
    ("optim.Adam", "utils.data.DataLoader") is read as "torch.optim.Adam"."""
    head = name.partition(".")[0]
    if head not in ("torch", "Tensor", "nn", "F") and hasattr(mt, head):
        return f"torch.{name}"
    return name


def covered() -> dict[str, set[str]]:
    """COVERED of each differential-test file (and of any other test file that has one), by
    file name."""
    sets = {}
    for path in sorted(TESTS.glob("test_*.py")):
        if not path.name.startswith("test_torchdiff_") and "\nCOVERED" not in path.read_text():
            continue
        module = importlib.import_module(path.stem)
        assert isinstance(getattr(module, "COVERED", None), set), f"{path.name} has no COVERED set"
        sets[path.name] = {_qualified(name) for name in module.COVERED}
    return sets


def _exists(name: str) -> bool:
    head, _, rest = name.partition(".")
    root = {"torch": mt, "Tensor": mt.Tensor, "nn": mt.nn, "F": mt.nn.functional}.get(head)
    if root is None:
        return False
    value = root
    for part in rest.split("."):
        if not hasattr(value, part):
            return False
        value = getattr(value, part)
    return True


def _in_torch(name: str) -> bool:
    head, _, rest = name.partition(".")
    value = {"torch": torch, "Tensor": torch.Tensor, "nn": torch.nn, "F": torch.nn.functional}[head]
    for part in rest.split("."):
        if not hasattr(value, part):
            return False
        value = getattr(value, part)
    return True


def test_the_api_listing_sees_every_kind_of_name():
    api = public_api()
    for name in ("torch.zeros", "Tensor.__add__", "Tensor.shape", "nn.Linear", "F.cross_entropy"):
        assert name in api
    assert not any(name.startswith("Tensor._") and not name.endswith("__") for name in api)


def test_every_public_name_has_a_differential_test():
    all_covered = set().union(*covered().values())
    modules = tuple(f"{name}." for name in all_covered)  # a module's name covers its names
    missing = sorted(
        name
        for name in public_api() - all_covered - set(EXTENSIONS)
        if not name.startswith(modules)
    )
    assert not missing, (
        f"{len(missing)} public names have no differential test against torch (add one to a "
        f"tests/test_torchdiff_*.py file and name it in its COVERED set):\n  "
        + "\n  ".join(missing)
    )


def test_every_covered_name_exists():
    stale = sorted(
        f"{file}: {name}"
        for file, names in covered().items()
        for name in names
        if not _exists(name)
    )
    assert not stale, "COVERED names that are not in micrograd.tensor:\n  " + "\n  ".join(stale)


def test_extensions_are_ours_and_not_torchs():
    api = public_api()
    for name, reason in EXTENSIONS.items():
        assert name in api, f"{name} is listed as an extension but is not public API"
        assert not _in_torch(name), f"{name} exists in torch: test it against torch ({reason})"
