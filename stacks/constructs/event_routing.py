"""Event routing: each route of ``trainforge.routing`` becomes an EventBridge rule that feeds its handler through
an SQS queue. Every queue has a dead-letter queue; every rule target has its own dead-letter queue (EventBridge's
retries cover only the hand-off). The stack's observability watches them all (``queues``, ``dead_letters``)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from trainforge.routing import Route

RETENTION = Duration.days(14)


class TrainforgeEventRouting(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.rule_dead_letters = self._queue("RuleDeliveryFailures", dead_letter=None)
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letters: dict[str, sqs.Queue] = {}
        self.rules: dict[str, events.Rule] = {}

    def _queue(
        self,
        name: str,
        *,
        dead_letter: sqs.IQueue | None,
        visibility: Duration | None = None,
        receives: int = 5,
    ) -> sqs.Queue:
        return sqs.Queue(
            self,
            name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=RETENTION,
            visibility_timeout=visibility,
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letter, max_receive_count=receives)
            if dead_letter
            else None,
        )

    def route(
        self,
        route: Route,
        function: lambda_.Function,
        *,
        batch_size: int,
        max_concurrency: int | None,
        entry_point: lambda_.IFunction | None = None,
    ) -> None:
        """Rule → queue (with DLQ) → function (or its ``entry_point``, a SnapStart alias), with per-record
        failures reported back to SQS."""
        name = "".join(part.title() for part in route.handler.split("_"))
        dead_letter = self._queue(f"{name}DeadLetters", dead_letter=None)
        timeout = function.timeout or Duration.seconds(30)
        queue = self._queue(
            f"{name}Events",
            dead_letter=dead_letter,
            visibility=Duration.seconds(timeout.to_seconds() * 6),
            # Throttled submissions come back: give them room before the dead-letter queue.
            receives=10 if route.handler == "submissions" else 5,
        )
        for index, pattern in enumerate(route.patterns):
            rule = events.Rule(
                self,
                f"{name}Rule{index}",
                description=route.description,
                event_pattern=events.EventPattern(
                    source=pattern["source"], detail_type=pattern["detail-type"], detail=pattern.get("detail")
                ),
            )
            rule.add_target(
                targets.SqsQueue(queue, dead_letter_queue=self.rule_dead_letters, retry_attempts=185)
            )
            self.rules[f"{route.handler}:{index}"] = rule
        (entry_point or function).add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=batch_size,
                report_batch_item_failures=True,
                max_concurrency=max_concurrency,
            )
        )
        dead_letter.grant_send_messages(function)
        function.add_environment("TRAINFORGE_DEAD_LETTER_QUEUE_URL", dead_letter.queue_url)
        self.queues[route.handler] = queue
        self.dead_letters[route.handler] = dead_letter
