"""The month's chart in the terminal and as a PNG, and the CLI's --principal (local mode only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainforge.cli.client import ApiError, TrainforgeClient
from trainforge.cli.usage_chart import daily_spend, png_chart, terminal_chart

pytestmark = pytest.mark.calendar  # its times are read against the clock (tests/clock.py)

USAGE = {
    "team": "vision", "month": "2026-02", "monthly_budget_usd": 10.0, "spent_usd": 12.0, "committed_usd": 1.5,
    "by_day": [{"day": "2026-02-03", "usd": 4.0, "jobs": 2}, {"day": "2026-02-27", "usd": 8.0, "jobs": 1}],
    "by_instance_type": [], "jobs_by_outcome": {},
}  # fmt: skip


def test_every_day_of_the_month_is_drawn_with_its_running_total() -> None:
    days = daily_spend(USAGE)
    assert len(days) == 28 and days[2][1] == 4.0 and days[0][1] == 0.0
    lines = terminal_chart(USAGE, width=8).splitlines()
    assert lines[0] == "vision 2026-02: spent $12.00, committed $1.50, budget $10.00"
    assert lines[3].startswith(" 3 ####") and lines[3].endswith("total $     4.00")
    assert lines[27].startswith("27 ########") and lines[27].endswith("total $    12.00  over budget")
    assert len(lines) == 29


def test_the_png_is_written(tmp_path: Path) -> None:
    png_chart(USAGE, tmp_path / "usage.png")
    assert (tmp_path / "usage.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_principal_is_refused_against_a_deployed_api_and_sent_to_local_mode() -> None:
    with pytest.raises(ApiError, match="--principal works only against local mode"):
        TrainforgeClient(
            "https://abc.execute-api.us-east-1.amazonaws.com/prod", principal="arn:aws:iam::1:user/x"
        )
    local = TrainforgeClient("http://127.0.0.1:8080", principal="arn:aws:iam::123456789012:user/x")
    assert local.principal_headers == {"X-Trainforge-Principal": "arn:aws:iam::123456789012:user/x"}
