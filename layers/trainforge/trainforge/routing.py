"""The event routing both sides must agree on: which events reach which handler.

The CDK stacks turn these patterns into EventBridge rules; local mode matches events against the same patterns
and invokes the same handlers. The stacks import nothing else of Trainforge but the names of its own events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trainforge.models.events import DETAIL_TYPES

TRAINFORGE_SOURCE = "trainforge"
JOB_REQUESTED = "Training Job Requested"
S3_OBJECT_CREATED = "Object Created"
SAGEMAKER_STATE_CHANGE = "SageMaker Training Job State Change"
TUNING_STATE_CHANGE = "SageMaker HyperParameter Tuning Job State Change"
CODEBUILD_STATE_CHANGE = "CodeBuild Build State Change"


@dataclass(frozen=True)
class Route:
    """Events matching any of ``patterns`` go to the function built from ``lambdas/<handler>``."""

    handler: str
    description: str
    patterns: tuple[dict[str, Any], ...]


def event_routes(
    *, datasets_bucket: str, dataset_prefix: str, jobs_prefix: str, codebuild_project: str
) -> tuple[Route, ...]:
    return (
        Route(
            handler="submissions",
            description="dataset manifests and job specs dropped in S3, and jobs requested through the API",
            patterns=(
                {
                    "source": ["aws.s3"],
                    "detail-type": [S3_OBJECT_CREATED],
                    "detail": {
                        "bucket": {"name": [datasets_bucket]},
                        "object": {"key": [{"prefix": dataset_prefix}, {"prefix": jobs_prefix}]},
                    },
                },
                {"source": [TRAINFORGE_SOURCE], "detail-type": [JOB_REQUESTED]},
            ),
        ),
        Route(
            handler="training_state",
            description="every SageMaker training job's state changes, and tuning jobs'",
            patterns=(
                {"source": ["aws.sagemaker"], "detail-type": [SAGEMAKER_STATE_CHANGE, TUNING_STATE_CHANGE]},
            ),
        ),
        Route(
            handler="notifications",
            description="Trainforge's own events (every change of status, budget thresholds), to the teams that "
            "subscribed",
            patterns=({"source": [TRAINFORGE_SOURCE], "detail-type": list(DETAIL_TYPES)},),
        ),
        Route(
            handler="build_state",
            description="state changes of Trainforge's image builds",
            patterns=(
                {
                    "source": ["aws.codebuild"],
                    "detail-type": [CODEBUILD_STATE_CHANGE],
                    "detail": {"project-name": [codebuild_project]},
                },
            ),
        ),
    )


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """EventBridge's matching for the pattern forms used here: value lists and ``prefix`` objects, nested."""
    for key, expected in pattern.items():
        if key not in event:
            return False
        actual = event[key]
        if isinstance(expected, Mapping):
            if not isinstance(actual, Mapping) or not matches(expected, actual):
                return False
            continue
        if not any(_value_matches(option, actual) for option in expected):
            return False
    return True


def _value_matches(option: Any, actual: Any) -> bool:
    if isinstance(actual, list):
        return any(_value_matches(option, item) for item in actual)
    if isinstance(option, Mapping):
        prefix = option.get("prefix")
        return isinstance(prefix, str) and isinstance(actual, str) and actual.startswith(prefix)
    return bool(option == actual)
