"""The training pictures (`micrograd.plots`): axis names, the validation curve, and a log loss
axis that is readable whatever the range of the loss."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("numpy")

from micrograd import plots


def labelled_ticks(axis) -> list[str]:
    """The tick labels shown inside the axis's visible range, after drawing."""
    axis.axes.figure.canvas.draw()
    low, high = sorted(axis.axes.get_ylim())
    return [
        t.get_text()
        for t in axis.get_majorticklabels()
        if t.get_text() and low <= t.get_position()[1] <= high
    ]


@pytest.mark.parametrize(
    "first, last",
    [(0.9, 0.3), (0.7, 0.55), (1.0, 0.05), (2.0, 1e-4), (0.0123, 0.0101)],
)
def test_log_loss_axis_has_at_least_three_labelled_ticks(first, last):
    steps = 50
    loss = [first * (last / first) ** (k / (steps - 1)) for k in range(steps)]
    fig = plots.curves_figure(loss, [0.5] * steps)
    ax_loss = fig.axes[0]
    assert ax_loss.get_yscale() == "log"
    labels = labelled_ticks(ax_loss.yaxis)
    assert len(labels) >= 3, labels
    assert all("$" not in s for s in labels)  # plain numbers, no mathtext
    values = sorted(float(s) for s in labels)
    assert values[0] >= min(loss) / 10 and values[-1] <= max(loss) * 10


def test_a_loss_that_reaches_zero_stays_on_a_linear_axis():
    fig = plots.curves_figure([1.0, 0.5, 0.0], [0.5, 0.7, 1.0])
    assert fig.axes[0].get_yscale() == "linear"


def test_validation_curve_is_drawn_on_both_panels():
    loss = [1.0 / (k + 1) for k in range(20)]
    acc = [min(1.0, 0.5 + k / 40) for k in range(20)]
    val = ([0, 5, 10, 15, 19], [1.1, 0.3, 0.2, 0.15, 0.14], [0.4, 0.6, 0.7, 0.75, 0.8])
    fig = plots.curves_figure(loss, acc, validation=val)
    ax_loss, ax_acc = fig.axes[:2]
    for ax, ys in ((ax_loss, val[1]), (ax_acc, [100 * a for a in val[2]])):
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == {"train (batch)", "validation"}
        assert list(lines["validation"].get_xdata()) == val[0]
        assert list(lines["validation"].get_ydata()) == ys
        assert ax.get_legend() is not None
    # Without validation data: one line per panel, no legend.
    fig = plots.curves_figure(loss, acc)
    assert [len(ax.get_lines()) for ax in fig.axes[:2]] == [1, 1]
    assert fig.axes[0].get_legend() is None


def test_decision_boundary_axes_use_the_feature_names():
    X = [[math.cos(t / 5), math.sin(t / 5)] for t in range(30)]
    y = [int(x[0] > 0) for x in X]

    def classify(points):
        return [int(p[0] > 0) for p in points]

    fig = plots.decision_boundary_figure(
        classify, X, y, title="t", resolution=20, feature_names=["height", "weight"]
    )
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("height", "weight", "t")
    fig = plots.decision_boundary_figure(classify, X, y, resolution=20)
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == ("x0", "x1")
    png = plots.decision_boundary_png(classify, X, y, resolution=20, feature_names=["a", "b"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
