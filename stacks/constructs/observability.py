"""Watching Trainforge: the alarm topic, one alarm for each signal that needs a person, and one dashboard.

Every alarm tells the topic when it fires and when it clears, and its description names the section of
docs/runbook.md that says what it means, where to look, how to fix it and how to redrive what waited. The
thresholds are argued there, beside each section; ``ALARM_RUNBOOK`` ties every alarm kind to its section, and a
test holds the runbook to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.constructs.chat_channels import ChatChannels

RUNBOOK = "docs/runbook.md"
FIVE_MINUTES = Duration.minutes(5)
NAMESPACE = "Trainforge"  # Powertools' namespace in every handler; each metric carries a `service` dimension

# Every alarm kind and its runbook section (its anchor in docs/runbook.md).
ALARM_RUNBOOK = {
    "DeadLetters": "dead-letters",
    "QueueAge": "queue-age",
    "FunctionErrors": "function-errors",
    "FunctionThrottles": "function-throttles",
    "FunctionDuration": "function-duration",
    "Api5xx": "api-5xx",
    "Api4xxRate": "api-4xx-rate",
    "ApiLatency": "api-latency",
    "DatabaseCapacity": "database-capacity",
    "DatabaseConnections": "database-connections",
    "BuildFailures": "build-failures",
    "SubmissionsFailed": "submissions-failed",
    "NotificationsFailed": "notifications-failed",
}


def trainforge_metric(
    name: str, service: str, statistic: str = "Sum", period: Duration = FIVE_MINUTES
) -> cloudwatch.Metric:
    return cloudwatch.Metric(namespace=NAMESPACE, metric_name=name, dimensions_map={"service": service},
                             statistic=statistic, period=period, label=name)  # fmt: skip


class TrainforgeObservability(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.stage = stage
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name=f"Trainforge {stage} alarms", master_key=key, enforce_ssl=True
        )
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self.kinds: dict[str, str] = {}  # alarm name → its kind (ALARM_RUNBOOK's key)

    def tell_chat(self, channel: str) -> None:
        """Alarms (and their recoveries) in a Slack or Microsoft Teams channel, through AWS Chatbot."""
        chat = ChatChannels(self, "AlarmChat", purpose="Trainforge's alarms")
        chat.add(channel, self.topic, f"trainforge-{self.stage}-alarms")

    def alarm(
        self, kind: str, name: str, metric: cloudwatch.IMetric, *, threshold: float, periods: int = 1,
        what: str,
    ) -> cloudwatch.Alarm:  # fmt: skip
        """``metric`` at or over ``threshold`` in each of ``periods`` periods in a row; missing data is fine (an
        idle service sends none)."""
        alarm = cloudwatch.Alarm(
            self, f"{name}Alarm", alarm_name=f"trainforge-{self.stage}-{name}", metric=metric, threshold=threshold,
            evaluation_periods=periods, datapoints_to_alarm=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"{what} Runbook: {RUNBOOK}#{ALARM_RUNBOOK[kind]}",
        )  # fmt: skip
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms[name] = alarm
        self.kinds[name] = kind
        return alarm

    def watch_dead_letters(self, name: str, queue: sqs.IQueue, holds: str) -> None:
        self.alarm("DeadLetters", f"{name}DeadLetters",
                   queue.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES, statistic="Maximum"),
                   threshold=1, what=f"{holds} are waiting in a dead-letter queue ({name}).")  # fmt: skip

    def watch_queue(self, name: str, queue: sqs.IQueue, max_age: Duration) -> None:
        self.alarm("QueueAge", f"{name}QueueAge",
                   queue.metric_approximate_age_of_oldest_message(period=FIVE_MINUTES, statistic="Maximum"),
                   threshold=max_age.to_seconds(), periods=3,
                   what=f"{name}'s oldest event has waited {max_age.to_human_string()} or more for 15 minutes.")  # fmt: skip

    def watch_function(self, name: str, function: lambda_.IFunction, timeout: Duration) -> None:
        self.alarm("FunctionErrors", f"{name}Errors", function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                   threshold=1, periods=2, what=f"The {name} function failed in 10 minutes in a row.")  # fmt: skip
        self.alarm("FunctionThrottles", f"{name}Throttles",
                   function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"), threshold=1, periods=3,
                   what=f"The {name} function was throttled for 15 minutes in a row.")  # fmt: skip
        self.alarm("FunctionDuration", f"{name}Duration",
                   function.metric_duration(period=FIVE_MINUTES, statistic="p99"),
                   threshold=timeout.to_milliseconds() * 0.8, periods=3,
                   what=f"The {name} function's p99 duration is over 80% of its timeout for 15 minutes.")  # fmt: skip

    def watch_api(self, api: apigw.RestApi) -> None:
        self.alarm("Api5xx", "Api5xx", api.metric_server_error(period=FIVE_MINUTES, statistic="Sum"),
                   threshold=5, periods=2, what="The API answered 5 or more 5xx in each of 10 minutes.")  # fmt: skip
        rate = cloudwatch.MathExpression(
            expression="IF(requests >= 20, 100 * errors / requests, 0)", period=FIVE_MINUTES, label="4xx %",
            using_metrics={"errors": api.metric_client_error(period=FIVE_MINUTES, statistic="Sum"),
                           "requests": api.metric_count(period=FIVE_MINUTES, statistic="Sum")},
        )  # fmt: skip
        self.alarm("Api4xxRate", "Api4xxRate", rate, threshold=25, periods=3,
                   what="A quarter or more of the API's requests were refused (4xx) for 15 minutes.")  # fmt: skip
        self.alarm("ApiLatency", "ApiLatency", api.metric_latency(period=FIVE_MINUTES, statistic="p99"),
                   threshold=3000, periods=3, what="The API's p99 latency is 3 s or more for 15 minutes.")  # fmt: skip

    def watch_database(self, cluster: rds.DatabaseCluster, connections: int) -> None:
        self.alarm("DatabaseCapacity", "DatabaseCapacity",
                   cluster.metric_acu_utilization(period=FIVE_MINUTES, statistic="Average"), threshold=90,
                   periods=3, what="Aurora is at 90% or more of its maximum capacity (ACUs) for 15 minutes.")  # fmt: skip
        self.alarm("DatabaseConnections", "DatabaseConnections",
                   cluster.metric_database_connections(period=FIVE_MINUTES, statistic="Maximum"),
                   threshold=connections, periods=3,
                   what=f"Aurora holds {connections} or more connections for 15 minutes.")  # fmt: skip

    def watch_builds(self, project: codebuild.IProject) -> None:
        self.alarm("BuildFailures", "BuildFailures",
                   project.metric_failed_builds(period=Duration.hours(1), statistic="Sum"), threshold=3,
                   what="Three or more image builds failed within an hour.")  # fmt: skip

    def watch_trainforge(self) -> None:
        self.alarm("SubmissionsFailed", "SubmissionsFailed", trainforge_metric("SubmissionsFailed", "submissions"),
                   threshold=1, what="SageMaker refused a job Trainforge had accepted (not the user's input).")  # fmt: skip
        self.alarm("NotificationsFailed", "NotificationsFailed",
                   trainforge_metric("NotificationsFailed", "notifications", period=Duration.minutes(15)),
                   threshold=5, what="Five or more team notices failed to send within 15 minutes.")  # fmt: skip

    def dashboard(
        self, *, functions: Mapping[str, lambda_.IFunction], queues: Mapping[str, sqs.IQueue],
        dead_letters: Mapping[str, sqs.IQueue], api: apigw.RestApi, cluster: rds.DatabaseCluster,
    ) -> cloudwatch.Dashboard:  # fmt: skip
        """Submissions, jobs by status, queue waits, the API, the functions, dead letters, the database and spend
        per team, with every alarm's state on top."""

        def graph(
            title: str, metrics: Sequence[cloudwatch.IMetric], width: int = 8, **options: object
        ) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=list(metrics), width=width, height=6, **options)  # type: ignore[arg-type]

        def each(metric: str, statistic: str = "Sum") -> list[cloudwatch.IMetric]:
            return [getattr(function, metric)(period=FIVE_MINUTES, statistic=statistic, label=name)
                    for name, function in functions.items()]  # fmt: skip

        spend = cloudwatch.MathExpression(
            expression=f"SEARCH('{{{NAMESPACE},service,team}} MetricName=\"SpendUsd\"', 'Sum', 86400)",
            label="", period=Duration.days(1),
        )  # fmt: skip
        submissions = [trainforge_metric("JobsRequested", "api")] + [
            trainforge_metric(name, "submissions")
            for name in (
                "JobsSubmitted",
                "JobsWaitingForCapacity",
                "SubmissionsRejected",
                "SubmissionsFailed",
            )
        ]
        ends = [
            trainforge_metric(name, "training_state")
            for name in ("JobsCompleted", "JobsFailed", "JobsStopped")
        ]
        waits = [
            queue.metric_approximate_age_of_oldest_message(
                period=FIVE_MINUTES, statistic="Maximum", label=name
            )
            for name, queue in queues.items()
        ]
        depths = [
            queue.metric_approximate_number_of_messages_visible(
                period=FIVE_MINUTES, statistic="Maximum", label=name
            )
            for name, queue in dead_letters.items()
        ]
        requests = [api.metric_count(period=FIVE_MINUTES, statistic="Sum"), api.metric_client_error(period=FIVE_MINUTES, statistic="Sum"),
                    api.metric_server_error(period=FIVE_MINUTES, statistic="Sum")]  # fmt: skip
        latency = [api.metric_latency(period=FIVE_MINUTES, statistic=s, label=s) for s in ("p50", "p99")]
        database = [
            cluster.metric_serverless_database_capacity(
                period=FIVE_MINUTES, statistic="Maximum", label="ACU"
            ),
            cluster.metric_acu_utilization(
                period=FIVE_MINUTES, statistic="Average", label="ACU utilization %"
            ),
        ]
        connections = [cluster.metric_database_connections(period=FIVE_MINUTES, statistic="Maximum")]
        status = cloudwatch.AlarmStatusWidget(
            title="Alarms (docs/runbook.md says what each means)",
            alarms=list(self.alarms.values()),
            width=24,
            height=4,
        )
        rows: list[list[cloudwatch.IWidget]] = [
            [status],
            [graph("Submissions", submissions), graph("Jobs by status (ends)", ends),
             graph("Spend per team (USD a day)", [spend])],
            [graph("Queue waits: oldest event (s)", waits), graph("Dead letters", depths),
             graph("API requests and errors", requests)],
            [graph("API latency (ms)", latency), graph("Function errors", each("metric_errors")),
             graph("Function throttles", each("metric_throttles"))],
            [graph("Function duration p99 (ms)", each("metric_duration", "p99")),
             graph("Database connections", connections), graph("Database capacity", database)],
        ]  # fmt: skip
        return cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"trainforge-{self.stage}", widgets=rows
        )
