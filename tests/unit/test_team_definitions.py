"""Who a principal is: role ARNs match their sessions, session patterns match only what they name, and the S3
principal of each (what aws:PrincipalArn reports)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainforge.errors import SageMakerConfigurationError
from trainforge.models.team_definitions import load_teams_file, parse_team, principal_matches, s3_principal

ROLE = "arn:aws:iam::123456789012:role/vision-engineers"
PATTERN = "arn:aws:sts::123456789012:assumed-role/shared-ml/vision-*"


@pytest.mark.parametrize(
    ("pattern", "principal", "matches"),
    [
        (ROLE, "arn:aws:sts::123456789012:assumed-role/vision-engineers/alice", True),
        (ROLE, ROLE, True),
        (ROLE, "arn:aws:sts::123456789012:assumed-role/vision-engineers-old/alice", False),
        (ROLE, "arn:aws:sts::999999999999:assumed-role/vision-engineers/alice", False),
        (
            "arn:aws:iam::123456789012:role/team/path/vision",
            "arn:aws:sts::123456789012:assumed-role/vision/a",
            True,
        ),
        (PATTERN, "arn:aws:sts::123456789012:assumed-role/shared-ml/vision-alice", True),
        (PATTERN, "arn:aws:sts::123456789012:assumed-role/shared-ml/forecast-bob", False),
        (PATTERN, "arn:aws:sts::123456789012:assumed-role/shared-ml-2/vision-alice", False),
        ("arn:aws:iam::123456789012:user/dana", "arn:aws:iam::123456789012:user/dana", True),
        ("arn:aws:iam::123456789012:user/dana", "arn:aws:iam::123456789012:user/dana2", False),
    ],
)
def test_principal_matching(pattern: str, principal: str, matches: bool) -> None:
    assert principal_matches(pattern, principal) is matches


def test_s3_sees_a_session_pattern_as_its_role() -> None:
    assert s3_principal(PATTERN) == "arn:aws:iam::123456789012:role/shared-ml"
    assert s3_principal(ROLE) == ROLE


def test_a_definition_names_every_problem() -> None:
    with pytest.raises(SageMakerConfigurationError) as refused:
        parse_team({"name": "Vision", "members": ["*"], "monthly_budget_usd": -1, "max_instances_in_flight": 0,
                    "allowed_instance_types": ["m5.large"], "colour": "blue"})  # fmt: skip
    fields = [p.field for p in refused.value.problems]
    assert fields == ["colour", "name", "members.0", "monthly_budget_usd", "max_instances_in_flight",
                      "allowed_instance_types.0"]  # fmt: skip


def test_a_teams_file_may_hold_one_team_and_its_errors_name_no_path_twice(tmp_path: Path) -> None:
    one = tmp_path / "vision.json"
    one.write_text(
        json.dumps({"name": "vision", "members": ["arn:aws:iam::123456789012:role/vision-engineers"]})
    )
    assert [t.name for t in load_teams_file(one)] == ["vision"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"members": []}))
    with pytest.raises(SageMakerConfigurationError) as refused:
        load_teams_file(bad)
    assert str(bad) not in str(refused.value) and "one team" in str(refused.value)
