"""`micrograd graph`: draw an expression or a small neuron from the command line.

    micrograd graph "a*b + c" --values a=2,b=-3,c=10 -o graph.svg
    micrograd graph --neuron 2 -o neuron.png
    micrograd graph "tanh(x*w + b)" --values x=2,w=-3,b=6.88 --animate -o backward.html

The expression is parsed with `ast` and evaluated by a small interpreter that knows only names,
numbers, `+ - * / **`, unary minus and the calls relu/tanh/exp/log/sigmoid: nothing from the
command line is ever passed to `eval`. Each name becomes a labelled `Value`; the result is
backpropagated so the drawing shows gradients.

`micrograd/cli/command.py` (the `micrograd` command) calls `add_subparser`; the handler returns
the exit code. Read `micrograd/viz/` (`__init__.py`, `animate.py`) for the drawing itself.
"""

from __future__ import annotations

import argparse
import ast
import math
import random
import sys
import unicodedata
from pathlib import Path
from typing import Any, Callable

from micrograd.engine import Value

__all__ = ["add_subparser", "build_expression", "build_neuron", "parse_values", "run"]

FUNCTIONS: dict[str, Callable[[Value], Value]] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "exp": Value.exp,
    "log": Value.log,
    "sigmoid": Value.sigmoid,
}

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}

_STATIC_FORMATS = ("svg", "png", "pdf", "jpg", "dot")
_ANIMATION_FORMATS = ("html", "gif")

# micrograd.viz.DEFAULT_TIMEOUT (not imported here: `micrograd --help` must not load graphviz).
_DEFAULT_TIMEOUT = 60.0

# Exit codes: 2 for input the command cannot use (as argparse does), 1 when drawing or writing fails.
_BAD_INPUT, _FAILED = 2, 1

# The lecture's neuron: x1=2, x2=0, w1=-3, w2=1, and a bias chosen so that tanh's output is 0.7071.
_LECTURE_NEURON = {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432}


class InputError(ValueError):
    """Bad expression, values or options: reported on one line with exit code 2."""


def add_subparser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `graph` on the `micrograd` command's subparsers; the handler is `args.func`,
    called as `args.func(args)`, and returns the exit code."""
    parser = subparsers.add_parser(
        "graph",
        help="draw an expression's or a neuron's computation graph (optionally animated)",
        description=(
            "Draw the computation graph of an expression (or of a small neuron) with its data and "
            "gradients, to SVG/PNG/PDF, or animate the backward pass node by node (HTML or GIF)."
        ),
        epilog=(
            'examples:  micrograd graph "a*b + c" --values a=2,b=-3,c=10 -o graph.svg\n'
            "           micrograd graph --neuron 2 --animate -o backward.html\n"
            'An expression starting with "-" goes after "--": micrograd graph -o g.svg -- "-a*b"'
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "expression",
        nargs="?",
        help="an expression of names and numbers with + - * / **, unary -, and "
        "relu/tanh/exp/log/sigmoid calls, e.g. 'tanh(x1*w1 + x2*w2 + b)'",
    )
    parser.add_argument(
        "--values",
        default="",
        metavar="NAME=NUM,...",
        help="values of the expression's names, e.g. a=2,b=-3,c=10 (with --neuron: "
        "override x1.., w1.., b)",
    )
    parser.add_argument(
        "--neuron",
        type=int,
        metavar="N",
        help="draw a neuron with N labelled inputs and weights instead of an expression",
    )
    parser.add_argument(
        "--activation",
        choices=("tanh", "relu", "sigmoid", "linear"),
        default="tanh",
        help="the neuron's nonlinearity (default: tanh, as in the lecture)",
    )
    parser.add_argument(
        "-o",
        "--output",
        "--out",
        dest="output",
        required=True,
        metavar="FILE",
        help="file to write",
    )
    parser.add_argument(
        "--animate",
        action="store_true",
        help="animate the backward pass, one frame per node: .html (slider, offline) or .gif",
    )
    parser.add_argument(
        "--format",
        choices=_STATIC_FORMATS + _ANIMATION_FORMATS,
        help="output format (default: from the output file's extension)",
    )
    parser.add_argument(
        "--rankdir", choices=("LR", "TB", "RL", "BT"), default="LR", help="layout direction"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=_DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="time Graphviz may take to draw (for an animation: all its frames) before it is "
        "stopped (default: 60)",
    )
    parser.add_argument(
        "--no-backward",
        action="store_true",
        help="draw without running backward (gradients stay 0); not with --animate",
    )
    parser.set_defaults(func=run)
    return parser


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise argparse.ArgumentTypeError(f"invalid time {text!r}: give a number of seconds > 0")
    return seconds


def run(args: argparse.Namespace) -> int:
    """The `micrograd graph` handler: returns 0, or prints one line to stderr and returns 1/2."""
    try:
        return _run(args)
    except InputError as err:
        return _fail(err, _BAD_INPUT)
    except Exception as err:  # a drawing or writing failure: one line, no traceback
        from micrograd.cli.errors import caused_by_ctrl_c

        if caused_by_ctrl_c(err):  # a Ctrl-C wrapped by Python: `cli.main` reports it
            raise
        return _fail(err, _FAILED)


def _run(args: argparse.Namespace) -> int:
    from micrograd._files import check_writable_file

    fmt = _output_format(args)
    check_writable_file(args.output)  # before drawing; names a missing folder (not `[Errno 2]`)
    values = parse_values(args.values)
    if (args.expression is None) == (args.neuron is None):
        raise InputError("give either an expression or --neuron N (exactly one of them)")
    if args.neuron is not None:
        root = build_neuron(args.neuron, values, args.activation)
    else:
        root = build_expression(args.expression, values)
    _check_size(root, args.animate)
    timeout = args.timeout
    if args.animate:
        if args.no_backward:
            raise InputError("--no-backward and --animate do not go together")
        from micrograd import viz
        from micrograd.viz import animate

        save = animate.save_html if fmt == "html" else animate.save_gif
        try:
            save(root, args.output, rankdir=args.rankdir, timeout=timeout)
        except viz.GraphvizTimeout as err:
            raise _with_flag(err) from None
    else:
        from micrograd import viz

        if not args.no_backward:
            root.backward()
        drawing = viz.draw_dot(root, format=fmt, rankdir=args.rankdir, timeout=timeout)
        try:
            data = drawing.source.encode("utf-8") if fmt == "dot" else drawing.pipe(format=fmt)
        except viz.GraphvizTimeout as err:
            raise _with_flag(err) from None
        viz.atomic_write(args.output, data)
    print(args.output)
    return 0


def _with_flag(err: TimeoutError) -> TimeoutError:
    """The library's timeout message, naming this command's flag instead of the keyword."""
    return type(err)(str(err).replace("(timeout=)", "(--timeout SECONDS)"))


def _check_size(root: Value, animate: bool) -> None:
    """Refuse a graph too big to draw with advice for this command (the library's own message
    suggests keyword arguments that the command has no flags for)."""
    from micrograd.graph import topological_order

    if animate:
        from micrograd.viz.animate import DEFAULT_MAX_FRAMES as limit
        from micrograd.viz.animate import MAX_LAYOUT_SIZE as layout_limit

        what = "an animation (one frame per node)"
    else:
        from micrograd.viz import DEFAULT_MAX_NODES as limit
        from micrograd.viz import MAX_LAYOUT_SIZE as layout_limit

        what = "a drawing"
    order = topological_order(root)
    count = len(order)
    if count > limit:
        raise InputError(
            f"the expression's graph has {count:,} nodes, more than {limit} for {what}; "
            f"draw a smaller expression (from Python, micrograd.viz.draw_dot can raise the cap)"
        )
    from micrograd import viz

    size = viz.layout_size(order)
    if size.bends > layout_limit:
        raise InputError(
            f"Graphviz would take minutes to lay out {what} of this graph: "
            f"{viz.describe(size.node)} feeds {size.fan_out} operations spread across it "
            f"({size.bends:,} bends in the drawing, more than {layout_limit:,}); draw a shorter "
            f"expression, or write a repeated product as a power (x**{size.fan_out + 1} rather "
            f"than x*x*...*x)"
        )


def _fail(err: BaseException, code: int) -> int:
    # An OSError's own text, without the "[Errno 28]" that str() puts in front of it.
    text = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
    message = " ".join(text.split()) or type(err).__name__
    print(f"micrograd: error: {message}", file=sys.stderr)
    return code


def _output_format(args: argparse.Namespace) -> str:
    """The format from --format or the extension, checked against --animate."""
    suffix = Path(args.output).suffix.lower().lstrip(".")
    suffix = {"jpeg": "jpg", "gv": "dot", "htm": "html"}.get(suffix, suffix)
    fmt = args.format or suffix
    allowed = _ANIMATION_FORMATS if args.animate else _STATIC_FORMATS
    if fmt not in allowed:
        what = "an animation" if args.animate else "a drawing"
        raise InputError(
            f"cannot write {what} as {fmt or 'a file without extension'!r} "
            f"({args.output}); use {', '.join('.' + f for f in allowed)} or --format"
        )
    return fmt


def parse_values(text: str) -> dict[str, float]:
    """`"a=2,b=-3"` -> {'a': 2.0, 'b': -3.0}; a malformed item raises InputError naming it."""
    values: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, number = item.partition("=")
        # Python reads identifiers in NFKC form (the expression's `ﬁ` is the name `fi`), so
        # names given here are read the same way.
        name = unicodedata.normalize("NFKC", name.strip())
        if not sep or not name.isidentifier():
            raise InputError(f"--values: expected NAME=NUMBER, got {item!r}")
        try:
            value = float(number)
        except ValueError:
            raise InputError(f"--values: {name}={number.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise InputError(f"--values: {name} must be a finite number, got {number.strip()}")
        if name in values:
            raise InputError(f"--values: {name} is given twice")
        values[name] = value
    return values


def build_expression(expression: str, values: dict[str, float]) -> Value:
    """Evaluate `expression` on labelled Values; every name needs a value and every value a name."""
    if len(expression) > 10_000:
        raise InputError("the expression is too long (more than 10,000 characters)")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as err:
        raise InputError(f"bad expression {expression!r}: {err.msg}") from None
    except (RecursionError, MemoryError):
        raise InputError("the expression is nested too deeply") from None
    _check_syntax(tree)
    names = sorted(
        {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in FUNCTIONS}
    )
    missing = [n for n in names if n not in values]
    if missing:
        raise InputError(f"missing value for {', '.join(missing)} (give --values {missing[0]}=...)")
    unused = [n for n in values if n not in names]
    if unused:
        raise InputError(
            f"--values names {', '.join(unused)}, not in the expression "
            f"(it uses {', '.join(names) or 'no names'})"
        )
    leaves = {name: Value(values[name], label=name) for name in names}
    try:
        result = _evaluate(tree.body, leaves)
    except RecursionError:
        raise InputError("the expression is nested too deeply") from None
    except InputError:
        raise
    except OverflowError:
        raise InputError(f"cannot evaluate {expression!r}: a number gets too large") from None
    except (ArithmeticError, ValueError) as err:
        raise InputError(f"cannot evaluate {expression!r}: {err}") from None
    if not isinstance(result, Value):
        result = Value(result)
    if not result.label:
        result.label = "out"
    return result


_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Constant, ast.Call, ast.Load)
_ALLOWED += tuple(_BINARY) + (ast.USub, ast.UAdd)


def _check_syntax(tree: ast.AST) -> None:
    """Refuse, before evaluating anything, every construct but the few the grammar allows."""
    called = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise InputError(_not_allowed(node))
            name = node.func.id
            if name not in FUNCTIONS:
                raise InputError(
                    f"unknown function {name!r}; known: {', '.join(sorted(FUNCTIONS))}"
                )
            if len(node.args) != 1 or node.keywords:
                raise InputError(f"{name}() takes exactly one argument")
            called.add(id(node.func))
        elif isinstance(node, ast.Name) and node.id in FUNCTIONS and id(node) not in called:
            raise InputError(f"{node.id} is a function: call it, as in {node.id}(x)")
        elif not isinstance(node, _ALLOWED) or (
            isinstance(node, ast.BinOp) and type(node.op) not in _BINARY
        ):
            raise InputError(_not_allowed(node))


def _not_allowed(node: ast.AST) -> str:
    shown = ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__
    return (
        f"{shown!r} is not allowed in an expression (only names, numbers, + - * / **, "
        f"unary -, and calls to {', '.join(sorted(FUNCTIONS))})"
    )


def _evaluate(node: ast.AST, leaves: dict[str, Value]) -> Any:
    """Evaluate one node of the parsed expression: a Value, or a float for constant parts."""
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            raise InputError(f"only numbers are allowed as constants, got {node.value!r}")
        # Integers stay integers (so `x**2` is drawn as `**2`), except where two constants meet.
        return node.value
    if isinstance(node, ast.Name):
        return leaves[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _evaluate(node.operand, leaves)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _evaluate(node.left, leaves)
        right = _evaluate(node.right, leaves)
        if not isinstance(left, Value) and not isinstance(right, Value):
            # Floats, so that a constant like 9**9**9 overflows at once instead of computing a
            # huge integer for minutes.
            left, right = float(left), float(right)
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.Call):  # checked by _check_syntax: a known function, one argument
        arg = _evaluate(node.args[0], leaves)
        return FUNCTIONS[node.func.id](arg if isinstance(arg, Value) else Value(arg))
    raise InputError(_not_allowed(node))


def build_neuron(nin: int, values: dict[str, float], activation: str = "tanh") -> Value:
    """The lecture's neuron with `nin` inputs: `o = act(x1*w1 + ... + xn*wn + b)`, every node
    labelled. Two inputs give the lecture's numbers; more draw seeded weights. `values` may
    override any of x1.., w1.., b."""
    if not 1 <= nin <= 20:
        raise InputError(f"--neuron: the number of inputs must be between 1 and 20, got {nin}")
    defaults: dict[str, float] = {}
    if nin == 2:
        defaults.update(_LECTURE_NEURON)
    else:
        rng = random.Random(1337)  # fixed, so the same command draws the same picture
        for i in range(1, nin + 1):
            defaults[f"x{i}"] = float(i)
            defaults[f"w{i}"] = round(rng.uniform(-1, 1), 4)
        defaults["b"] = 0.5
    unknown = [name for name in values if name not in defaults]
    if unknown:
        raise InputError(
            f"--values names {', '.join(unknown)}, not in the neuron "
            f"(it has x1..x{nin}, w1..w{nin}, b)"
        )
    defaults.update(values)
    total = None
    for i in range(1, nin + 1):
        x = Value(defaults[f"x{i}"], label=f"x{i}")
        w = Value(defaults[f"w{i}"], label=f"w{i}")
        term = x * w
        term.label = f"x{i}*w{i}"
        if total is None:
            total = term
        else:
            total = total + term
            total.label = f"x1*w1 + ... + x{i}*w{i}" if i > 2 else "x1*w1 + x2*w2"
    n = total + Value(defaults["b"], label="b")
    n.label = "n"
    if activation == "linear":
        return n
    o = getattr(n, activation)()
    o.label = "o"
    return o
