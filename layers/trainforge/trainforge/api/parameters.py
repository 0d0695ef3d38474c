"""Path and query parameters more than one resource takes."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from trainforge.models.rules import DATASET_NAME
from trainforge.models.team_definitions import TEAM_NAME_PATTERN
from trainforge.tracking.queries import MAX_ID, MAX_PAGE_SIZE

JobId = Annotated[
    int, Path(ge=1, le=MAX_ID, description="the job's id", openapi_examples={"job": {"value": 7}})
]
BuildId = Annotated[int, Path(ge=1, le=MAX_ID, description="the build's id")]
TuningJobId = Annotated[int, Path(ge=1, le=MAX_ID, description="the tuning job's id")]
Cursor = Annotated[
    str | None,
    Query(max_length=200, pattern=r"^[A-Za-z0-9_-]+$", description="next_cursor of the previous page"),
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
DatasetName = Annotated[str, Path(pattern=DATASET_NAME, description="the dataset's name (upload's --prefix)")]
TeamQuery = Annotated[
    str | None,
    Query(pattern=TEAM_NAME_PATTERN.pattern, description="administrators only: the team's dataset"),
]
