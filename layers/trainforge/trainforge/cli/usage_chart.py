"""A team's month as a chart: spend per day and the running total against the budget, in the terminal (text
bars) or as a PNG file (matplotlib, imported only then)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from trainforge.cli.charts import charting
from trainforge.cli.context import CliError


def daily_spend(usage: dict[str, Any], today: date | None = None) -> list[tuple[date, float | None]]:
    """Every day of the month with what finished on it: 0 for a day gone by with none, None for a day to come
    (nothing is known of it yet, so it is not drawn as $0)."""
    year, month = (int(part) for part in str(usage["month"]).split("-"))
    today = today or datetime.now(UTC).date()
    spent = {date.fromisoformat(row["day"]): float(row["usd"]) for row in usage.get("by_day", [])}
    days = calendar.monthrange(year, month)[1]
    found: list[tuple[date, float | None]] = []
    for number in range(1, days + 1):
        day = date(year, month, number)
        found.append((day, spent.get(day, 0.0) if day <= today or day in spent else None))
    return found


def cents(usd: float) -> int:
    return round(usd * 100)


def terminal_chart(usage: dict[str, Any], width: int = 40, today: date | None = None) -> str:
    """One line per day gone by: a bar for its spend (none for what rounds to $0.00), and the running total (with a
    mark once it passes the budget); the days to come in one line."""
    days = daily_spend(usage, today)
    budget = usage.get("monthly_budget_usd")
    biggest = max((cents(usd) for _, usd in days if usd is not None), default=0)
    lines = [
        f"{usage['team']} {usage['month']}: spent ${usage['spent_usd']:.2f}, committed ${usage['committed_usd']:.2f}"
        + (f", budget ${budget:.2f}" if budget is not None else ", no budget")
    ]
    total = 0.0
    to_come = [day for day, usd in days if usd is None]
    for day, usd in days:
        if usd is None:
            continue
        total += usd
        bar = "#" * max(1, round(width * cents(usd) / biggest)) if biggest and cents(usd) else ""
        over = "  over budget" if budget is not None and total > budget else ""
        lines.append(f"{day.day:2d} {bar:<{width}} ${usd:>9.2f}  total ${total:>9.2f}{over}")
    if to_come:
        span = f"{to_come[0].day}-{to_come[-1].day}" if len(to_come) > 1 else f"{to_come[0].day}"
        lines.append(f"days {span}: to come")
    return "\n".join(lines)


def png_chart(usage: dict[str, Any], path: Path, today: date | None = None) -> None:
    """Bars per day gone by, the running total up to today, and the budget as a line; the whole month on the
    axis, the legend below it (never over the data)."""
    # matplotlib loads in hundreds of milliseconds: only a PNG needs it
    matplotlib = charting("matplotlib")
    if matplotlib is None:
        raise CliError("a PNG needs matplotlib: pip install 'trainforge[charts]'", code="missing_extra")
    matplotlib.use("Agg")  # a file, never a window
    from matplotlib import pyplot

    days = daily_spend(usage, today)
    known = [(day.day, usd) for day, usd in days if usd is not None]
    xs = [x for x, _ in known]
    ys = [usd for _, usd in known]
    running = [sum(ys[: i + 1]) for i in range(len(ys))]
    figure, axis = pyplot.subplots(figsize=(9, 4.6))
    axis.bar(xs, ys, label="spend per day (USD)", color="#4c72b0")
    axis.plot(xs, running, label="month to date", color="#dd8452", marker="o", markersize=3)
    budget = usage.get("monthly_budget_usd")
    if budget is not None:
        axis.axhline(budget, color="#c44e52", linestyle="--", label=f"budget ${budget:,.2f}")
    axis.set_xlim(0.5, len(days) + 0.5)
    axis.set_ylim(bottom=0)
    axis.set_xlabel("day of month")
    axis.set_ylabel("USD")
    axis.set_title(f"Team {usage['team']}, {usage['month']}")
    axis.grid(alpha=0.3)
    axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    figure.tight_layout()
    figure.savefig(path, dpi=110, bbox_inches="tight")  # the legend below the axis is kept
    pyplot.close(figure)
