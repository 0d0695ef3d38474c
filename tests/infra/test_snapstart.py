"""SnapStart, opt-in with ``-c snapstart=true``: versions published with SnapStart on, and every invoker (the API
integration, the queues' event source mappings, the reconcile schedule) calling the ``live`` alias, never
``$LATEST``; off by default; refused for a Python without SnapStart."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match, Template

SNAPSHOTTED = ("api", "submissions", "trainingstate", "buildstate", "notifications", "reconcile")


@pytest.fixture(scope="module")
def layer() -> None:
    """The layer, built if it changed (the default synthesis, and with it the check that SnapStart is off unless
    asked, is test_stack.py's: one synthesis fewer here)."""
    from stacks.layer_build import build

    build()


@pytest.fixture(scope="module")
def snapstart_stack(layer: None) -> Iterator[tuple[Any, Template]]:
    from app import build_app

    with tempfile.TemporaryDirectory(prefix="trainforge-cdk-snapstart-") as outdir:
        app, stack = build_app(outdir, context={"snapstart": "true"})
        app.synth()
        yield stack, Template.from_stack(stack)


def by_type(template: Template, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = template.find_resources(kind)
    return found


def logical_id(resources: dict[str, Any], prefix: str) -> str:
    (name,) = [n for n in resources if n.startswith(prefix)]
    return name


def test_eligible_functions_publish_snapstart_versions(snapstart_stack: tuple[Any, Template]) -> None:
    _, template = snapstart_stack
    functions = by_type(template, "AWS::Lambda::Function")
    for short in SNAPSHOTTED:
        props = functions[logical_id(functions, f"Functions{short}")]["Properties"]
        assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}, short
        assert props["Runtime"] >= "python3.12", short
    migrate = functions[logical_id(functions, "Functionsmigrate")]["Properties"]
    assert "SnapStart" not in migrate, "the deploy-time migration runs once: no snapshot to reuse"
    versions = by_type(template, "AWS::Lambda::Version")
    aliases = by_type(template, "AWS::Lambda::Alias")
    assert len(versions) == len(aliases) == len(SNAPSHOTTED)
    for alias in aliases.values():
        props = alias["Properties"]
        assert props["Name"] == "live"
        (version_id,) = [n for n in versions if props["FunctionVersion"] == {"Fn::GetAtt": [n, "Version"]}]
        assert versions[version_id]["Properties"]["FunctionName"] == props["FunctionName"]


def alias_refs(template: Template) -> set[str]:
    return set(by_type(template, "AWS::Lambda::Alias"))


def test_every_event_source_mapping_invokes_the_alias(snapstart_stack: tuple[Any, Template]) -> None:
    _, template = snapstart_stack
    aliases = alias_refs(template)
    mappings = by_type(template, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 4
    for name, mapping in mappings.items():
        target = mapping["Properties"]["FunctionName"]
        # CDK names an alias "<function name>:live" here: the function's name cut from its ARN, then ":live".
        qualified = isinstance(target, dict) and target.get("Fn::Join", [None, []])[1][-1:] == [":live"]
        assert target in [{"Ref": a} for a in aliases] or qualified, (name, target)


def test_the_api_and_the_schedule_invoke_the_alias(snapstart_stack: tuple[Any, Template]) -> None:
    _, template = snapstart_stack
    api_alias = logical_id(by_type(template, "AWS::Lambda::Alias"), "Functionsapilive")
    reconcile_alias = logical_id(by_type(template, "AWS::Lambda::Alias"), "Functionsreconcilelive")
    methods = by_type(template, "AWS::ApiGateway::Method")
    assert methods
    for name, method in methods.items():
        if method["Properties"]["HttpMethod"] == "OPTIONS":
            continue
        uri = str(method["Properties"]["Integration"]["Uri"])
        assert api_alias in uri, name
    permissions = by_type(template, "AWS::Lambda::Permission")
    api_grants = [
        p for p in permissions.values() if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    assert api_grants and all(p["Properties"]["FunctionName"] == {"Ref": api_alias} for p in api_grants)
    schedule = next(
        r for r in by_type(template, "AWS::Events::Rule").values() if "ScheduleExpression" in r["Properties"]
    )
    assert schedule["Properties"]["Targets"][0]["Arn"] == {"Ref": reconcile_alias}


def test_cdk_nag_passes_with_snapstart(snapstart_stack: tuple[Any, Template]) -> None:
    stack, _ = snapstart_stack
    annotations = Annotations.from_stack(stack)
    errors = annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    warnings = annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert [e.entry.data for e in errors + warnings] == []


def test_snapstart_is_refused_for_a_python_without_it(layer: None) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_ec2 as ec2

    from stacks.constructs.functions import FunctionSpec, TrainforgeFunctions
    from stacks.layer_build import OUTPUT

    stack = cdk.Stack(cdk.App(), "Probe")
    vpc = ec2.Vpc(stack, "Vpc", max_azs=1, nat_gateways=0)
    with pytest.raises(ValueError, match=r"SnapStart for Python needs Python 3\.12"):
        TrainforgeFunctions(
            stack,
            "Functions",
            specs=[FunctionSpec("api", "probe")],
            layer_dir=OUTPUT,
            python_version="3.11",
            vpc=vpc,
            environment={},
            snapstart=True,
        )
