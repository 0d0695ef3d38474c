"""What the command prints for a cost: as a person reads it."""

from __future__ import annotations

import pytest

from trainforge.cli.output import dollars


@pytest.mark.parametrize(
    ("amount", "billed", "shown"),
    [
        (None, None, "unknown"),
        (0.0, None, "$0.00"),
        (0.0, 1, "< $0.01"),  # a second of ml.m5.large, stored to four decimals as 0
        (0.0032, 100, "< $0.01"),
        (0.01, 300, "$0.01"),
        (1234.5, 9000, "$1,234.50"),
    ],
)
def test_a_cost_reads_as_a_person_expects(amount: float | None, billed: int | None, shown: str) -> None:
    assert dollars(amount, billed_seconds=billed) == shown
