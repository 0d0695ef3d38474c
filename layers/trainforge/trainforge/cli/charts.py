"""A job's metric curves as charts: in the terminal (plotext) and as a PNG file (matplotlib, imported only then)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from trainforge.cli.context import CliError


def by_step(steps: dict[str, list[float]]) -> dict[str, tuple[list[float], list[float]]]:
    """Each metric as (its steps, 1 to n; its values), in the order the job printed them."""
    return {
        name: (list(map(float, range(1, len(values) + 1))), values)
        for name, values in steps.items()
        if values
    }


def charting(name: str) -> Any:
    """A charting library (the ``charts`` extra), or None when it is not installed."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        return None


def terminal_charts(steps: dict[str, list[float]], width: int = 72, height: int = 14) -> str:
    """One chart per metric, x the metric's own steps (each value the job printed)."""
    # the charting libraries load in hundreds of milliseconds: only a chart needs them
    plotext = charting("plotext")
    if plotext is None:  # an install without the charts extra: the values, plainly
        return (
            "\n".join(
                f"{name}: {len(values)} steps, first {values[0]}, min {min(values)}, max {max(values)}, last {values[-1]}"
                for name, values in steps.items()
                if values
            )
            + "\n(charts in the terminal: pip install 'trainforge[charts]')"
        )

    figure = plotext.figure
    charts = []
    for name, (xs, ys) in by_step(steps).items():
        figure.clear()
        figure.plot_size(width, height)
        figure.title(f"{name}  (x: step, each value the job printed)")
        figure.draw(figure.signal(xs, ys))
        charts.append(str(plotext.uncolorize(str(figure.build()))))
    return "\n".join(charts)


def png_chart(steps: dict[str, list[float]], path: Path, title: str) -> None:
    """Every metric on its own axes, one above the other, in one PNG file."""
    matplotlib = charting("matplotlib")
    if matplotlib is None:
        raise CliError("a PNG needs matplotlib: pip install 'trainforge[charts]'", code="missing_extra")
    matplotlib.use("Agg")  # a file, never a window
    from matplotlib import pyplot

    curves = by_step(steps)
    figure, axes = pyplot.subplots(
        max(len(curves), 1), 1, figsize=(8, 2.6 * max(len(curves), 1)), squeeze=False
    )
    for axis, (name, (xs, ys)) in zip(axes[:, 0], curves.items(), strict=False):
        axis.plot(xs, ys, marker="o", markersize=3)
        axis.set_title(name)
        axis.set_xlabel("step")
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
