"""The lean profile (-c profile=lean), synthesized with cdk-nag: a NAT instance instead of NAT gateways, reachable
only over HTTPS from the VPC, its volume encrypted; no RDS Proxy, the functions let into the cluster itself and
pointed at its endpoint, so the writer can pause at 0 ACU; everything else as the standard profile."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match, Template

TEAMS_CHANNEL = "msteams:a1b2c3d4-0000-4000-8000-000000000001/b2c3d4e5-0000-4000-8000-000000000002/19%3Aalarms%40thread.tacv2"


@pytest.fixture(scope="module")
def lean() -> Iterator[tuple[Any, Any]]:
    from app import build_app

    with tempfile.TemporaryDirectory(prefix="trainforge-cdk-lean-") as outdir:
        # with the alarms in a Microsoft Teams channel too (any profile takes one)
        app, stack = build_app(outdir, context={"profile": "lean", "alarm_channel": TEAMS_CHANNEL})
        app.synth()
        yield stack, Template.from_stack(stack)


def test_the_lean_profile_trades_the_nat_gateway_and_the_proxy_for_idle_cost(lean: tuple[Any, Any]) -> None:
    stack, template = lean
    assert template.find_resources("AWS::EC2::NatGateway") == {}
    assert template.find_resources("AWS::RDS::DBProxy") == {}
    (nat,) = template.find_resources("AWS::EC2::Instance").values()
    props = nat["Properties"]
    assert props["InstanceType"] == "t4g.nano" and props["SourceDestCheck"] is False
    assert props["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    groups = template.find_resources("AWS::EC2::SecurityGroup")
    (nat_group,) = [g for name, g in groups.items() if name.startswith("NetworkVpcNatSecurityGroup")]
    ingress = nat_group["Properties"]["SecurityGroupIngress"]
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in ingress] == [("tcp", 443, 443)]
    assert "Fn::GetAtt" in ingress[0]["CidrIp"]  # the VPC's own CIDR, not the internet
    (cluster,) = template.find_resources("AWS::RDS::DBCluster").values()
    assert cluster["Properties"]["ServerlessV2ScalingConfiguration"]["MinCapacity"] == 0
    functions = [
        f
        for name, f in template.find_resources("AWS::Lambda::Function").items()
        if name.startswith("Functions")
    ]
    hosts = {json.dumps(f["Properties"]["Environment"]["Variables"]["DATABASE_HOST"]) for f in functions}
    assert hosts == {json.dumps({"Fn::GetAtt": [cluster_name(template), "Endpoint.Address"]})}
    (schedule,) = [
        r
        for name, r in template.find_resources("AWS::Events::Rule").items()
        if name.startswith("ReconcileSchedule")
    ]
    assert schedule["Properties"]["ScheduleExpression"] == "rate(1 hour)"  # runs that let the database pause
    annotations = Annotations.from_stack(stack)
    assert [
        e.entry.data for e in annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    ] == []
    assert [w.entry.data for w in annotations.find_warning("*", Match.string_like_regexp(".*"))
            if "AwsSolutions" in str(w.entry.data) or "CdkNag" in str(w.entry.data)] == []  # fmt: skip


def cluster_name(template: Any) -> str:
    (name,) = template.find_resources("AWS::RDS::DBCluster")
    return str(name)


def test_an_unknown_profile_is_refused_by_name() -> None:
    from app import build_app

    with (
        tempfile.TemporaryDirectory() as outdir,
        pytest.raises(SystemExit, match="profiles are standard and lean"),
    ):
        build_app(outdir, context={"profile": "tiny"})


def test_alarms_reach_a_chat_channel_that_can_do_nothing_else(lean: tuple[Any, Any]) -> None:
    _, template = lean
    (channel,) = template.find_resources("AWS::Chatbot::MicrosoftTeamsChannelConfiguration").values()
    props = channel["Properties"]
    assert props["ConfigurationName"] == "trainforge-dev-alarms"
    (topic,) = [
        n for n in template.find_resources("AWS::SNS::Topic") if n.startswith("ObservabilityAlarmTopic")
    ]
    assert props["SnsTopicArns"] == [{"Ref": topic}]
    assert props["GuardrailPolicies"] == ["arn:aws:iam::aws:policy/AWSDenyAll"]
