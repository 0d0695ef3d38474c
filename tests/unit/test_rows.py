"""The rows the handlers read (plain dataclasses, no ORM) have exactly the columns the schema defines."""

from __future__ import annotations

import pytest

from trainforge.models.database import ContainerBuild, JobStatusHistory, TrainingJob, TrainingReport
from trainforge.models.rows import BuildRow, HistoryRow, JobRow, ReportRow, column_names

pytestmark = pytest.mark.calendar  # its times are read against the clock (tests/clock.py)


@pytest.mark.parametrize(
    ("row", "model"),
    [
        (JobRow, TrainingJob),
        (HistoryRow, JobStatusHistory),
        (ReportRow, TrainingReport),
        (BuildRow, ContainerBuild),
    ],
)
def test_a_row_type_has_every_column_of_its_table(row: type, model: type) -> None:
    table = model.__table__  # type: ignore[attr-defined]
    assert column_names(row) == [column.name for column in table.columns]
