"""The package's rooms and the one direction its imports run (docs/explanations/architecture.md).

Every module of micrograd/ is read with `ast` (nothing is imported), and every import it makes is
an arrow: at the top of the file or inside a function (a lazy import is still an arrow), also
`importlib.import_module("micrograd....")` with a literal name. The rooms, lowest first:

    helpers      _distribution, _interrupts, _files: install hints, Ctrl-C, atomic file writes
    engine       engine.py (and its compiled twin, _cengine)
    library      nn, losses, optim, data, gradcheck, graph, and the package's own __init__
    tensor       micrograd/tensor/, the numpy engine in torch's layout
    bridges      viz/ (drawings, animation), export/ (PyTorch, ONNX), serialize (model files)
    application  cli/ (the `micrograd` command) and __main__

A module may import from its own room and the rooms below, never from a room above. Model files
sit with the bridges because loading one rebuilds either engine's model (tensor included).
Modules kept at an old path for compatibility (`micrograd.train` is `micrograd.cli.train`) live in
the room of the module they stand for. And no import circle: not between rooms, not inside one
(micrograd/tensor/ included, though it mirrors torch's layout), and a lazy import counts as much
as one at the top of a file, a function importing its own package included. Where two modules
need the same piece, it lives in the lower one (or a small private module both import).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "micrograd"

ROOMS = ["helpers", "engine", "library", "tensor", "bridges", "application"]

# The room of each module or subpackage; a subpackage's modules share its room.
HOMES = {
    "micrograd._distribution": "helpers",
    "micrograd._interrupts": "helpers",
    "micrograd._files": "helpers",
    "micrograd.engine": "engine",
    "micrograd._cengine": "engine",
    "micrograd": "library",
    "micrograd.nn": "library",
    "micrograd.losses": "library",
    "micrograd.optim": "library",
    "micrograd.data": "library",
    "micrograd.gradcheck": "library",
    "micrograd.graph": "library",
    "micrograd.tensor": "tensor",
    "micrograd.serialize": "bridges",
    "micrograd.viz": "bridges",
    "micrograd.export": "bridges",
    "micrograd.cli": "application",
    "micrograd.__main__": "application",
}

# Old paths kept for compatibility: each is the moved module itself, in the moved module's room.
COMPATIBILITY = {
    "micrograd.animate": "micrograd.viz.animate",
    "micrograd.export_onnx": "micrograd.export.onnx",
    "micrograd.export_cli": "micrograd.cli.export",
    "micrograd.viz_cli": "micrograd.cli.graph",
    "micrograd.train": "micrograd.cli.train",
    "micrograd.predict": "micrograd.cli.predict",
    "micrograd.runfolder": "micrograd.cli.runfolder",
    "micrograd.resume": "micrograd.cli.resume",
    "micrograd.memory": "micrograd.cli.memory",
    "micrograd.plots": "micrograd.cli.plots",
}

# The only arrows allowed to point up: `Value.draw_dot()` and `Tensor.draw_dot()`, one-line
# conveniences that hand the node to the drawing bridge when called. The bridge never imports
# either engine back (the drawings read nodes through micrograd.graph's protocol), so no circle.
UPWARD_CONVENIENCES = {
    ("micrograd.engine", "micrograd.viz"),
    ("micrograd.tensor.core", "micrograd.viz"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
# Compiled extensions (micrograd/_cengine.c, micrograd/tensor/_cattrs.c) import nothing of ours.
EXTENSIONS = {module_name(p) for p in PACKAGE.rglob("*.c")}


def room(module: str) -> str:
    module = COMPATIBILITY.get(module, module)
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        home = HOMES.get(".".join(parts[:n]))
        if home is not None:
            return home
    raise AssertionError(f"{module} is in no room: add it to HOMES in {Path(__file__).name}")


def _resolve(module: str, target: str) -> str:
    """The module an import of `target` loads: itself if it is one of ours, else the nearest
    enclosing package of ours (`micrograd.cli.main` for `micrograd.cli.main.build_parser`)."""
    while target not in MODULES and target not in EXTENSIONS and "." in target:
        target = target.rsplit(".", 1)[0]
    return target


def _read(module: str) -> dict[str, tuple[int, bool]]:
    path = MODULES[module]
    return imports_in(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")


def imports_in(source: str, module: str, is_package: bool) -> dict[str, tuple[int, bool]]:
    """target -> (first line, whether every import of it is inside a function)."""
    package = module if is_package else module.rpartition(".")[0]
    found: dict[str, tuple[int, bool]] = {}

    def add(target: str, line: int, lazy: bool) -> None:
        if target == "micrograd" or target.startswith("micrograd."):
            target = _resolve(module, target)
            first, was_lazy = found.get(target, (line, True))
            found[target] = (min(first, line), was_lazy and lazy)

    def visit(node: ast.AST, lazy: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno, lazy)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                # `from micrograd import viz` imports the module micrograd.viz;
                # `from micrograd import Value` imports the package's __init__.
                candidate = f"{base}.{alias.name}"
                ours = candidate in MODULES or candidate in EXTENSIONS
                add(candidate if ours else base, node.lineno, lazy)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            add(node.args[0].value, node.lineno, lazy)
        inside = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(ast.parse(source), lazy=False)
    found.pop(module, None)
    return found


READ = {module: _read(module) for module in MODULES}
GRAPH = {module: {t: line for t, (line, _) in targets.items()} for module, targets in READ.items()}


def test_every_module_has_a_room():
    for module in MODULES:
        room(module)


def test_no_module_imports_from_a_room_above_its_own():
    upward = []
    for module, targets in GRAPH.items():
        for target, line in targets.items():
            if (module, target) in UPWARD_CONVENIENCES:
                continue
            if ROOMS.index(room(target)) > ROOMS.index(room(module)):
                upward.append(
                    f"{MODULES[module].relative_to(ROOT)}:{line}: {module} ({room(module)}) "
                    f"imports {target} ({room(target)})"
                )
    assert upward == [], "imports that run up:\n" + "\n".join(upward)


def test_the_upward_conveniences_are_still_there_and_called_lazily():
    # Listed exceptions must exist (else the list would hide a future arrow) and stay inside a
    # function, so importing the engine never loads the drawings.
    for module, target in sorted(UPWARD_CONVENIENCES):
        assert target in READ[module], f"{module} no longer imports {target}: drop the exception"
        line, lazy = READ[module][target]
        assert lazy, f"{MODULES[module].relative_to(ROOT)}:{line} imports {target} at load time"


def _cycles(graph: dict) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start, children in graph.items():
        if start in index:
            continue
        work = [(start, iter(sorted(children)))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in graph), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_circle():
    # Every arrow counts, lazy ones included: an import inside a function still needs the other
    # module loaded first, and a circle of them is a knot a reader cannot start from.
    circles = _cycles(GRAPH)
    assert circles == [], "import circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


@pytest.mark.parametrize("old, new", sorted(COMPATIBILITY.items()))
def test_an_old_path_is_the_moved_module_itself(old, new):
    import importlib

    # The same module object, so code that patches `micrograd.train.load_data` patches the
    # function the command calls, as it did before the move.
    assert importlib.import_module(old) is importlib.import_module(new)
    assert set(GRAPH[old]) == {new}, f"{old} should only stand for {new}"


def test_the_checker_sees_lazy_relative_and_dynamic_imports():
    source = (
        "from . import engine\n"
        "from .tensor import nn\n"
        "class C:\n"
        "    from micrograd import losses\n"
        "def f():\n"
        "    from micrograd.viz import draw_dot\n"
        "    import importlib\n"
        "    return importlib.import_module('micrograd.tensor.nn.functional')\n"
        "g = lambda: __import__('x') and importlib.import_module('micrograd.optim')\n"
    )
    seen = imports_in(source, "micrograd.nn", is_package=False)
    assert seen == {
        "micrograd.engine": (1, False),
        "micrograd.tensor.nn": (2, False),
        "micrograd.losses": (4, False),  # a class body runs when the module loads
        "micrograd.viz": (6, True),
        "micrograd.tensor.nn.functional": (8, True),
        "micrograd.optim": (9, True),
    }


def test_the_checker_finds_a_circle_and_an_upward_arrow():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert room("micrograd.data") == "library" and room("micrograd.cli.train") == "application"
    assert room("micrograd.train") == "application"  # an old path, in its module's room
