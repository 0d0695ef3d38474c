"""The benchmarks stay runnable as the code moves (``make bench`` is not part of ``make test``: a statement
parameter, then a required setting, added since broke it unnoticed)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bench.database import bare_parameters
from trainforge.models.changes import JobStateChange
from trainforge.repository.status.jobs import _APPLY_JOB_STATE


def test_the_baseline_gives_every_parameter_of_the_state_change_statement() -> None:
    named = set(re.findall(r"(?<!:):([a-z_]+)", _APPLY_JOB_STATE))
    change = JobStateChange("bench-1", "InProgress", "Training", last_modified_at=datetime.now(UTC))
    assert named and named <= set(bare_parameters(change))


def test_the_cold_start_benchmarks_lambda_environment_is_one_the_functions_start_in() -> None:
    from bench.startup import LAMBDA_ENV
    from trainforge.settings import Settings

    settings = Settings.from_env(
        LAMBDA_ENV
    )  # a setting made required since would fail here, not in make bench
    assert settings.mode == "aws"
