"""The month's chart in the terminal and as a PNG, and the CLI's --principal (local mode only)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from trainforge.cli.client import ApiError, TrainforgeClient
from trainforge.cli.usage_chart import daily_spend, png_chart, terminal_chart

pytestmark = pytest.mark.calendar  # its times are read against the clock (tests/clock.py)

USAGE = {
    "team": "vision", "month": "2026-02", "monthly_budget_usd": 10.0, "spent_usd": 12.0, "committed_usd": 1.5,
    "by_day": [{"day": "2026-02-03", "usd": 4.0, "jobs": 2}, {"day": "2026-02-27", "usd": 8.0, "jobs": 1}],
    "by_instance_type": [], "jobs_by_outcome": {},
}  # fmt: skip


def test_every_day_gone_by_is_drawn_with_its_running_total() -> None:
    days = daily_spend(USAGE, today=date(2026, 3, 1))
    assert len(days) == 28 and days[2][1] == 4.0 and days[0][1] == 0.0
    lines = terminal_chart(USAGE, width=8, today=date(2026, 3, 1)).splitlines()
    assert lines[0] == "vision 2026-02: spent $12.00, committed $1.50, budget $10.00"
    assert lines[3].startswith(" 3 ####") and lines[3].endswith("total $     4.00")
    assert lines[27].startswith("27 ########") and lines[27].endswith("total $    12.00  over budget")
    assert len(lines) == 29


def test_days_to_come_are_not_drawn_as_zero() -> None:
    usage = {**USAGE, "by_day": [{"day": "2026-02-03", "usd": 4.0, "jobs": 2}]}
    days = daily_spend(usage, today=date(2026, 2, 10))
    assert [usd for _, usd in days[9:11]] == [
        0.0,
        None,
    ]  # the 10th is gone by (nothing spent); the 11th is to come
    lines = terminal_chart(usage, width=8, today=date(2026, 2, 10)).splitlines()
    assert lines[10].startswith("10 ") and lines[-1] == "days 11-28: to come" and len(lines) == 12


def test_nothing_spent_draws_no_bar_and_a_cent_draws_one_mark() -> None:
    usage = {**USAGE, "by_day": [{"day": "2026-02-03", "usd": 0.004, "jobs": 1}]}
    lines = terminal_chart(usage, width=8, today=date(2026, 3, 1)).splitlines()
    assert lines[3] == " 3          $     0.00  total $     0.00"  # it rounds to $0.00: no full-width bar
    usage = {**USAGE, "by_day": [{"day": "2026-02-03", "usd": 0.01}, {"day": "2026-02-04", "usd": 9.0}]}
    lines = terminal_chart(usage, width=8, today=date(2026, 3, 1)).splitlines()
    assert lines[3].split()[1] == "#" and lines[4].split()[1] == "########"


def test_the_png_keeps_its_legend_off_the_data(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    drawn: list[Any] = []
    real_close = pyplot.close
    pyplot.close = drawn.append  # type: ignore[assignment]  # keep the figure to measure it
    try:
        png_chart({**USAGE, "by_day": USAGE["by_day"][:1]}, tmp_path / "usage.png", today=date(2026, 2, 15))
    finally:
        pyplot.close = real_close
    assert (tmp_path / "usage.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    figure = drawn[0]
    axis = figure.axes[0]
    renderer = figure.canvas.get_renderer()
    legend = axis.get_legend().get_window_extent(renderer)
    assert not legend.overlaps(axis.get_window_extent(renderer))
    assert axis.get_xlim() == (0.5, 28.5)  # the whole month on the axis
    assert (
        max(len(line.get_xdata()) for line in axis.get_lines() if line.get_label() == "month to date") == 15
    )
    real_close(figure)


def test_principal_is_refused_against_a_deployed_api_and_sent_to_local_mode() -> None:
    with pytest.raises(ApiError, match="--principal works only against local mode"):
        TrainforgeClient(
            "https://abc.execute-api.us-east-1.amazonaws.com/prod", principal="arn:aws:iam::1:user/x"
        )
    local = TrainforgeClient("http://127.0.0.1:8080", principal="arn:aws:iam::123456789012:user/x")
    assert local.principal_headers == {"X-Trainforge-Principal": "arn:aws:iam::123456789012:user/x"}
