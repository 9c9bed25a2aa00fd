"""The training job's pictures: the decision boundary with the data, and the loss/accuracy curves.

Both functions return PNG bytes (the caller decides where and when to write them, so that a
failed run writes nothing). They draw on a `matplotlib.figure.Figure` with the Agg canvas
directly, never through `pyplot`: no window opens, no global backend is switched, and nothing
is left in pyplot's figure registry. matplotlib is imported when a function is called (the
`train` extra), so `import micrograd.cli.plots` costs nothing.

Used by `micrograd/cli/train.py`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Callable

__all__ = ["curves_figure", "curves_png", "decision_boundary_figure", "decision_boundary_png"]

# Colour-blind-friendly class colours (Okabe-Ito), cycled for many classes.
_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def decision_boundary_png(
    classify: Callable[[list], Sequence[int]],
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    title: str = "",
    resolution: int = 200,
    score: Callable[[list], Sequence[float]] | None = None,
    feature_names: Sequence[str] | None = None,
    class_names: Sequence[object] | None = None,
) -> bytes:
    """`decision_boundary_figure(...)` as PNG bytes."""
    return _png(
        decision_boundary_figure(
            classify, X, y, title, resolution, score, feature_names, class_names
        )
    )


def decision_boundary_figure(
    classify: Callable[[list], Sequence[int]],
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    title: str = "",
    resolution: int = 200,
    score: Callable[[list], Sequence[float]] | None = None,
    feature_names: Sequence[str] | None = None,
    class_names: Sequence[object] | None = None,
):
    """The plane coloured by the class `classify` gives each point, with the data on top (a
    matplotlib `Figure`).

    `classify` takes a list of [x0, x1] points and returns a class index per point; `X` holds
    2-D points and `y` their class indices. The grid spans the data plus a margin, at
    `resolution` points per side. For a two-class model with one output, pass `score` (one
    number per point, class 1 where it is > 0): the boundary is then drawn where the score
    crosses 0, a smooth line instead of the edge of grid cells. `feature_names` label the axes
    (a CSV's column names; default x0 and x1). `class_names` name the classes in the legend
    (a CSV's labels, such as `cat` and `dog`, or its numbers; default "class 0", "class 1", ...).
    """
    import numpy as np
    from matplotlib.colors import ListedColormap

    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary_png: needs 2-D points, got shape {X.shape}")
    n_classes = int(max(y.max() + 1, 2))
    lo, hi = X.min(axis=0), X.max(axis=0)
    margin = 0.15 * (hi - lo) + 1e-9
    xs = np.linspace(lo[0] - margin[0], hi[0] + margin[0], resolution)
    ys = np.linspace(lo[1] - margin[1], hi[1] + margin[1], resolution)
    xx, yy = np.meshgrid(xs, ys)
    grid = np.column_stack([xx.ravel(), yy.ravel()]).tolist()
    if score is not None and n_classes == 2:
        # Class as a continuous function: 0.5 + score puts the boundary (level 0.5) where
        # score == 0, and the filled bands below and above it are the two classes.
        zz = np.clip(0.5 + np.asarray(score(grid), dtype=float), -1.0, 2.0).reshape(xx.shape)
    else:
        zz = np.asarray(classify(grid), dtype=float).reshape(xx.shape)

    colors = [_COLORS[i % len(_COLORS)] for i in range(n_classes)]
    if class_names is not None and len(class_names) >= n_classes:
        legend = [str(name) for name in class_names]
    else:
        legend = [f"class {c}" for c in range(n_classes)]
    fig = _figure(6, 5)
    ax = fig.add_subplot()
    # One filled band per class: boundaries halfway between class indices.
    fill_levels = np.arange(n_classes + 1) - 0.5
    fill_levels[0], fill_levels[-1] = min(zz.min(), 0) - 0.5, max(zz.max(), n_classes - 1) + 0.5
    ax.contourf(xx, yy, zz, levels=fill_levels, cmap=ListedColormap(colors), alpha=0.3)
    ax.contour(xx, yy, zz, levels=np.arange(n_classes - 1) + 0.5, colors="k", linewidths=0.8)
    for c in range(n_classes):
        sel = y == c
        if sel.any():
            ax.scatter(
                X[sel, 0],
                X[sel, 1],
                s=28,
                c=colors[c],
                edgecolors="k",
                linewidths=0.5,
                label=legend[c],
            )
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    names = list(feature_names) if feature_names and len(feature_names) == 2 else ["x0", "x1"]
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.legend(loc="best", fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def curves_png(
    loss: Sequence[float],
    accuracy: Sequence[float],
    title: str = "",
    validation: tuple[Sequence[int], Sequence[float], Sequence[float]] | None = None,
) -> bytes:
    """`curves_figure(...)` as PNG bytes."""
    return _png(curves_figure(loss, accuracy, title, validation))


def curves_figure(
    loss: Sequence[float],
    accuracy: Sequence[float],
    title: str = "",
    validation: tuple[Sequence[int], Sequence[float], Sequence[float]] | None = None,
):
    """Loss (log scale when it stays positive) and accuracy per step, side by side (a matplotlib
    `Figure`). `validation` is `(steps, losses, accuracies)` measured on held-out data at some
    steps, drawn over the training curves."""
    steps = range(len(loss))
    fig = _figure(10, 4)
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(steps, loss, color=_COLORS[0], label="train (batch)")
    ax_acc.plot(steps, [100 * a for a in accuracy], color=_COLORS[2], label="train (batch)")
    all_losses = list(loss)
    if validation is not None:
        val_steps, val_loss, val_acc = validation
        ax_loss.plot(val_steps, val_loss, color=_COLORS[5], marker=".", label="validation")
        ax_acc.plot(
            val_steps, [100 * a for a in val_acc], color=_COLORS[5], marker=".", label="validation"
        )
        all_losses += list(val_loss)
        for ax in (ax_loss, ax_acc):
            ax.legend(loc="best", fontsize=8)
    if all_losses and min(all_losses) > 0:
        _log_axis(ax_loss.yaxis, min(all_losses), max(all_losses))
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss")
    ax_loss.grid(True, alpha=0.3)
    ax_acc.set_ylim(-2, 102)
    ax_acc.set_xlabel("step")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig


def _log_axis(axis, low: float, high: float) -> None:
    """A log scale with at least three labelled ticks. matplotlib labels powers of ten only, so
    a loss spanning less than a couple of decades gets one label or none: then the labels go at
    1, 2 and 5 per decade, or, within a factor of 4, at round numbers as on a linear axis."""
    import math

    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    axis.axes.set_yscale("log")
    decades = math.log10(high / low)
    if decades < 0.6:
        axis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    else:
        subs = (1.0, 2.0, 5.0) if decades < 2 else (1.0,)
        axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=30))
    # Plain tick labels ("0.02"): the default "10^-2" labels go through mathtext, whose parser
    # takes longer to set up than the rest of the picture.
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())
