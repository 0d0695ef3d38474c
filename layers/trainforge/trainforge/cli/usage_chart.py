"""A team's month as a chart: spend per day and the running total against the budget, in the terminal (text
bars) or as a PNG file (matplotlib, imported only then)."""

from __future__ import annotations

import calendar
from datetime import date
from pathlib import Path
from typing import Any


def daily_spend(usage: dict[str, Any]) -> list[tuple[date, float]]:
    """Every day of the month with what finished on it (0 for none)."""
    year, month = (int(part) for part in str(usage["month"]).split("-"))
    spent = {date.fromisoformat(row["day"]): float(row["usd"]) for row in usage.get("by_day", [])}
    days = calendar.monthrange(year, month)[1]
    return [(date(year, month, d), spent.get(date(year, month, d), 0.0)) for d in range(1, days + 1)]


def terminal_chart(usage: dict[str, Any], width: int = 40) -> str:
    """One line per day: a bar for its spend, and the running total (with a mark once it passes the budget)."""
    days = daily_spend(usage)
    budget = usage.get("monthly_budget_usd")
    biggest = max((usd for _, usd in days), default=0.0) or 1.0
    lines = [
        f"{usage['team']} {usage['month']}: spent ${usage['spent_usd']:.2f}, committed ${usage['committed_usd']:.2f}"
        + (f", budget ${budget:.2f}" if budget is not None else ", no budget")
    ]
    total = 0.0
    for day, usd in days:
        total += usd
        bar = "#" * round(width * usd / biggest) if usd else ""
        over = "  over budget" if budget is not None and total > budget else ""
        lines.append(f"{day.day:2d} {bar:<{width}} ${usd:>9.2f}  total ${total:>9.2f}{over}")
    return "\n".join(lines)


def png_chart(usage: dict[str, Any], path: Path) -> None:
    """Bars per day, the running total, and the budget as a line."""
    # matplotlib loads in hundreds of milliseconds: only a PNG needs it
    import matplotlib

    matplotlib.use("Agg")  # a file, never a window
    from matplotlib import pyplot

    days = daily_spend(usage)
    xs = [day.day for day, _ in days]
    ys = [usd for _, usd in days]
    running = [sum(ys[: i + 1]) for i in range(len(ys))]
    figure, axis = pyplot.subplots(figsize=(9, 4))
    axis.bar(xs, ys, label="spend per day (USD)", color="#4c72b0")
    axis.plot(xs, running, label="month to date", color="#dd8452", marker="o", markersize=3)
    budget = usage.get("monthly_budget_usd")
    if budget is not None:
        axis.axhline(budget, color="#c44e52", linestyle="--", label=f"budget ${budget:.0f}")
    axis.set_xlabel("day of month")
    axis.set_ylabel("USD")
    axis.set_title(f"Team {usage['team']}, {usage['month']}")
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
