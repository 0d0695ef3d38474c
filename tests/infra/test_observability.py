"""Watching the synthesized stack: every alarm reaches the topic when it fires and when it clears and names its
runbook section (which exists); every dead-letter queue, function, route queue, the API, the database, builds and
Trainforge's own failures have one; reconcile's asynchronous failures land in a watched queue; the dashboard
shows what the issue lists; the topic is an output."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from stacks.constructs.observability import ALARM_RUNBOOK
from stacks.trainforge_stack import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = (ROOT / "docs" / "runbook.md").read_text()


def resources(template: Any, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = template.find_resources(kind)
    return found


def alarms(template: Any) -> dict[str, dict[str, Any]]:
    """Every alarm's properties by its name without the ``trainforge-<stage>-`` prefix."""
    found = (r["Properties"] for r in resources(template, "AWS::CloudWatch::Alarm").values())
    return {props["AlarmName"].split("-", 2)[-1]: props for props in found}


def topic_of(template: Any) -> str:
    (name,) = [n for n in resources(template, "AWS::SNS::Topic") if n.startswith("ObservabilityAlarmTopic")]
    return name


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the document's headings."""
    return {re.sub(r"[^a-z0-9 -]", "", h.lower()).strip().replace(" ", "-")
            for h in re.findall(r"^#{2,3} (.+)$", markdown, re.MULTILINE)}  # fmt: skip


def test_every_alarm_tells_the_topic_both_ways_and_names_its_runbook_section(template: Any) -> None:
    topic = topic_of(template)
    found = alarms(template)
    assert len(found) >= 30
    sections = anchors(RUNBOOK)
    for name, props in found.items():
        for actions in ("AlarmActions", "OKActions"):
            assert props[actions] == [{"Ref": topic}], (name, actions)
        section = props["AlarmDescription"].split("docs/runbook.md#")[1]
        assert section in sections, f"{name}: no section #{section} in docs/runbook.md"
        assert props["TreatMissingData"] == "notBreaching", name  # an idle service sends no data
    assert set(ALARM_RUNBOOK.values()) <= sections  # every kind has its section
    assert {section.split("#")[1] for section in (p["AlarmDescription"] for p in found.values())} == set(
        ALARM_RUNBOOK.values()
    )  # and every kind is used


def test_every_runbook_section_says_what_it_means_and_how_to_fix_it() -> None:
    for section in re.split(r"^## ", RUNBOOK, flags=re.MULTILINE)[1:]:
        title = section.splitlines()[0]
        assert "**Means**" in section and "**Fix**" in section, title


def test_each_signal_the_issue_lists_has_its_alarm(template: Any) -> None:
    names = set(alarms(template))
    titles = ["".join(part.title() for part in spec.handler.split("_")) for spec in FUNCTIONS]
    for title in titles:  # the API and the migration (invoked synchronously) included
        assert {f"{title}Errors", f"{title}Throttles", f"{title}Duration"} <= names, title
    for route in ("Submissions", "TrainingState", "BuildState", "Notifications"):
        assert {f"{route}DeadLetters", f"{route}QueueAge"} <= names, route
    assert {"RuleDeliveryDeadLetters", "ReconcileDeadLetters", "Api5xx", "Api4xxRate", "ApiLatency",
            "DatabaseCapacity", "DatabaseConnections", "BuildFailures", "SubmissionsFailed",
            "NotificationsFailed"} <= names  # fmt: skip


def test_every_dead_letter_queue_is_watched(template: Any) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    dead_letters = {name for name, q in queues.items() if "RedrivePolicy" not in q["Properties"]}
    watched = {
        dimension["Value"]["Fn::GetAtt"][0]
        for props in alarms(template).values()
        if props.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        for dimension in props["Dimensions"]
    }
    assert dead_letters and dead_letters <= watched, dead_letters - watched


def test_reconciles_asynchronous_failures_reach_a_watched_queue(template: Any) -> None:
    (config,) = resources(template, "AWS::Lambda::EventInvokeConfig").values()
    props = config["Properties"]
    assert props["MaximumRetryAttempts"] == 2
    destination = props["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert destination.startswith("ReconcileInvocationFailures")
    reconcile = [
        n for n in resources(template, "AWS::Lambda::Function") if n.startswith("Functionsreconcile")
    ]
    assert props["FunctionName"] == {"Ref": reconcile[0]}
    assert "ReconcileDeadLetters" in alarms(template)


def test_the_dashboard_shows_what_the_issue_lists(template: Any) -> None:
    (dashboard,) = resources(template, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in ("Submissions", "Jobs by status", "Queue waits", "API requests and errors", "API latency",
                  "Function errors", "Function throttles", "Function duration", "Dead letters",
                  "Database connections", "Database capacity", "Spend per team", "Alarms"):  # fmt: skip
        assert title in body, title
    for metric in ("ApproximateAgeOfOldestMessage", "5XXError", "4XXError", "p99", "p50", "ACUUtilization",
                   "ServerlessDatabaseCapacity", "DatabaseConnections", "SpendUsd", "JobsSubmitted", "Throttles"):  # fmt: skip
        assert metric in body, metric


def test_the_alarm_topic_is_an_output(template: Any) -> None:
    outputs = template.to_json()["Outputs"]
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": topic_of(template)}
    assert "DashboardName" in outputs
