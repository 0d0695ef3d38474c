"""The S3 permissions generated from the team definitions (examples/teams.json, synthesized in conftest): each
team's principals write only under their own prefixes; a role shared by two teams' session patterns gets both."""

from __future__ import annotations

import json
from typing import Any

from trainforge.team_definitions import load_teams_file

TEAMS = load_teams_file("examples/teams.json")
VISION = "arn:aws:iam::123456789012:role/vision-engineers"
FORECASTING = "arn:aws:iam::123456789012:role/forecasting-engineers"
SHARED = "arn:aws:iam::123456789012:role/shared-ml"


def datasets_policy(stack: Any, template: Any) -> list[dict[str, Any]]:
    datasets = stack.get_logical_id(
        stack.node.find_child("Storage").node.find_child("Datasets").node.default_child
    )
    for policy in template.find_resources("AWS::S3::BucketPolicy").values():
        if policy["Properties"]["Bucket"] == {"Ref": datasets}:
            statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
            return statements
    raise AssertionError("the datasets bucket has no policy")


def prefixes(resources: Any) -> set[str]:
    """datasets/vision/* from {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/datasets/vision/*"]]}."""
    found = set()
    for resource in resources if isinstance(resources, list) else [resources]:
        parts = resource["Fn::Join"][1]
        found.add(parts[-1].lstrip("/"))
    return found


def team_statements(stack: Any, template: Any, effect: str) -> dict[str, set[str]]:
    """principal -> the key prefixes the Allow (or Deny) statements name for it."""
    by_principal: dict[str, set[str]] = {}
    for statement in datasets_policy(stack, template):
        if not str(statement.get("Sid", "")).startswith("TeamWrites") or statement["Effect"] != effect:
            continue
        assert statement["Principal"] == {"AWS": "*"}
        named = statement["Resource"] if effect == "Allow" else statement["NotResource"]
        for principal in statement["Condition"]["ArnLike"]["aws:PrincipalArn"]:
            by_principal[principal] = prefixes(named)
    return by_principal


def test_each_team_role_may_write_only_its_own_dataset_and_spec_prefixes(stack: Any, template: Any) -> None:
    allowed = team_statements(stack, template, "Allow")
    assert allowed[VISION] == {"datasets/vision/*", "jobs/vision/*"}
    assert allowed[FORECASTING] == {"datasets/forecasting/*", "jobs/forecasting/*"}


def test_writes_and_deletes_anywhere_else_are_denied_to_the_same_principals(
    stack: Any, template: Any
) -> None:
    denied = team_statements(stack, template, "Deny")
    assert denied == team_statements(stack, template, "Allow")
    for statement in datasets_policy(stack, template):
        if statement.get("Sid", "").startswith("TeamWritesNothingElse"):
            assert sorted(statement["Action"]) == ["s3:DeleteObject", "s3:PutObject"]
            assert "Resource" not in statement  # NotResource: everything but the team's prefixes


def test_a_role_named_by_two_teams_session_patterns_writes_under_both(stack: Any, template: Any) -> None:
    allowed = team_statements(stack, template, "Allow")
    assert allowed[SHARED] == {
        "datasets/vision/*", "jobs/vision/*", "datasets/forecasting/*", "jobs/forecasting/*",
    }  # fmt: skip
    assert set(allowed) == {VISION, FORECASTING, SHARED}


def test_allows_are_for_this_account_only(stack: Any, template: Any) -> None:
    for statement in datasets_policy(stack, template):
        if statement.get("Sid", "").startswith("TeamWritesOwnPrefixes"):
            assert statement["Condition"]["StringEquals"] == {
                "aws:PrincipalAccount": {"Ref": "AWS::AccountId"}
            }


def test_team_members_may_use_the_data_key_only_through_s3(template: Any) -> None:
    keys = template.find_resources("AWS::KMS::Key")
    statements = [s for key in keys.values() for s in key["Properties"]["KeyPolicy"]["Statement"]]
    (member,) = [s for s in statements if s.get("Sid") == "TeamMembersEncryptThroughS3"]
    assert sorted(member["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert member["Condition"]["StringEquals"]["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
    assert sorted(member["Condition"]["ArnLike"]["aws:PrincipalArn"]) == sorted([FORECASTING, SHARED, VISION])


def test_the_functions_know_the_administrators_role(template: Any) -> None:
    functions = template.find_resources("AWS::Lambda::Function")
    admin_role = next(
        iter(k for k in template.find_resources("AWS::IAM::Role") if k.startswith("Administrators"))
    )
    api = next(f for f in functions.values() if "REST API" in f["Properties"].get("Description", ""))
    admins = api["Properties"]["Environment"]["Variables"]["TRAINFORGE_ADMIN_PRINCIPALS"]
    assert admin_role in json.dumps(admins)


def test_the_administrators_role_may_only_call_the_api(template: Any) -> None:
    policies = [
        p
        for name, p in template.find_resources("AWS::IAM::Policy").items()
        if name.startswith("Administrators")
    ]
    (policy,) = policies
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"


def test_the_example_teams_parse() -> None:
    assert [team.name for team in TEAMS] == ["vision", "forecasting"]
