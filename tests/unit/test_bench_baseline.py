"""The database benchmark's baseline sends the state change's own statement through psycopg: it must give every
parameter the statement names (a new one left out broke ``make bench`` unnoticed)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bench.database import bare_parameters
from trainforge.models.changes import JobStateChange
from trainforge.repository.jobs import _APPLY_JOB_STATE


def test_the_baseline_gives_every_parameter_of_the_state_change_statement() -> None:
    named = set(re.findall(r"(?<!:):([a-z_]+)", _APPLY_JOB_STATE))
    change = JobStateChange("bench-1", "InProgress", "Training", last_modified_at=datetime.now(UTC))
    assert named and named <= set(bare_parameters(change))
