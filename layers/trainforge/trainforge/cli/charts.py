"""A job's metric curves as charts: in the terminal (plotext) and as a PNG file (matplotlib, imported only then)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any


def seconds_in(series: dict[str, list[dict[str, Any]]]) -> dict[str, tuple[list[float], list[float]]]:
    """Each series as (seconds since the first point of any series, values)."""
    stamps = [datetime.fromisoformat(p["timestamp"]) for points in series.values() for p in points]
    if not stamps:
        return {}
    origin = min(stamps)
    return {
        name: (
            [(datetime.fromisoformat(p["timestamp"]) - origin).total_seconds() for p in points],
            [float(p["value"]) for p in points],
        )
        for name, points in series.items()
        if points
    }


def terminal_charts(series: dict[str, list[dict[str, Any]]], width: int = 72, height: int = 14) -> str:
    """One chart per metric, x in seconds since the job's first value."""
    # the charting libraries load in hundreds of milliseconds: only a chart needs them
    import plotext

    figure = plotext.figure
    charts = []
    for name, (xs, ys) in seconds_in(series).items():
        figure.clear()
        figure.plot_size(width, height)
        figure.title(f"{name}  (x: seconds since the first value)")
        figure.draw(figure.signal(xs, ys))
        charts.append(str(plotext.uncolorize(str(figure.build()))))
    return "\n".join(charts)


def png_chart(series: dict[str, list[dict[str, Any]]], path: Path, title: str) -> None:
    """Every metric on its own axes, one above the other, in one PNG file."""
    # the charting libraries load in hundreds of milliseconds: only a chart needs them
    import matplotlib

    matplotlib.use("Agg")  # a file, never a window
    from matplotlib import pyplot

    curves = seconds_in(series)
    figure, axes = pyplot.subplots(
        max(len(curves), 1), 1, figsize=(8, 2.6 * max(len(curves), 1)), squeeze=False
    )
    for axis, (name, (xs, ys)) in zip(axes[:, 0], curves.items(), strict=False):
        axis.plot(xs, ys, marker="o", markersize=3)
        axis.set_title(name)
        axis.set_xlabel("seconds since the first value")
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
