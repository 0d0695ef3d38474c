"""The API's shapes for teams: a team's definition (what an administrator sends), the team as the API shows it,
and a month's usage against its budget."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from trainforge.models.api.base import Model, Strict
from trainforge.models.events import DETAIL_TYPES
from trainforge.models.sagemaker_limits import INSTANCE_TYPE_PATTERN, MAX_RUNTIME_LIMIT_SECONDS
from trainforge.models.team_definitions import (
    CHAT_CHANNEL,
    MAX_INSTANCES,
    MAX_MEMBERS,
    MAX_SUBSCRIPTIONS,
    SECRET_NAME,
    TEAM_NAME_PATTERN,
)

TEAM_FIELD = Field(
    default=None,
    pattern=TEAM_NAME_PATTERN.pattern,
    description="administrators only: the team this is for (a member's is always their own team)",
)
MEMBER = Annotated[str, Field(min_length=20, max_length=2048)]
DetailType = Literal[DETAIL_TYPES]  # type: ignore[valid-type]


class Subscription(Strict):
    kind: Literal["webhook", "email", "chatbot"] = Field(
        description="webhook: an HTTPS POST signed with HMAC-SHA256; email: through SNS; chatbot: the SNS topic an "
        "AWS Chatbot channel configuration (Slack, Microsoft Teams) listens to"
    )
    target: str = Field(
        min_length=3, max_length=2048, description="the webhook's URL, the email address, or the topic's ARN"
    )
    events: list[DetailType] | None = Field(default=None, description="only these detail-types (none: all)")
    statuses: list[Annotated[str, Field(min_length=1, max_length=32)]] | None = Field(
        default=None, description="only events whose new status is one of these, such as Failed (none: all)"
    )
    secret_name: str | None = Field(
        default=None,
        pattern=SECRET_NAME.pattern,
        description="webhooks: the Secrets Manager secret whose value signs each request (Trainforge-Signature: "
        "t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.<body>'>)",
    )
    channel: str | None = Field(
        default=None,
        pattern=CHAT_CHANNEL.pattern,
        description="chatbot: the channel the stack's AWS Chatbot configuration posts the topic's notices to, "
        "slack:<workspace id>/<channel id> or msteams:<tenant id>/<team id>/<channel id> (read from teams.json "
        "at deployment)",
    )


class TeamDefinition(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "members": [
                        "arn:aws:iam::123456789012:role/vision-engineers",
                        "arn:aws:sts::123456789012:assumed-role/shared-ml/vision-*",
                    ],
                    "monthly_budget_usd": 2500,
                    "max_instances_in_flight": 8,
                    "allowed_instance_types": ["ml.m5.xlarge", "ml.g5.2xlarge"],
                    "max_runtime_seconds": 86400,
                }
            ]
        },
    )

    name: str | None = Field(
        default=None, pattern=TEAM_NAME_PATTERN.pattern, description="the path's, if sent"
    )
    members: list[MEMBER] = Field(
        default_factory=list,
        max_length=MAX_MEMBERS,
        description="role ARNs (every session of the role), user ARNs, or assumed-role session patterns",
    )
    monthly_budget_usd: float | None = Field(default=None, ge=0, le=1e9, description="null: no budget")
    max_instances_in_flight: int | None = Field(
        default=None,
        ge=1,
        le=MAX_INSTANCES,
        description="instances the team's jobs may hold at once; more wait for capacity; null: no limit",
    )
    allowed_instance_types: list[Annotated[str, Field(pattern=INSTANCE_TYPE_PATTERN.pattern)]] | None = Field(
        default=None, min_length=1, max_length=200, description="null: any training instance type"
    )
    max_runtime_seconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_RUNTIME_LIMIT_SECONDS,
        description="the longest a team's job may ask to run",
    )
    notifications: list[Subscription] | None = Field(
        default=None,
        max_length=MAX_SUBSCRIPTIONS,
        description="where the team hears of its jobs, tuning jobs, builds and budget (none: nowhere)",
    )


class MonthSpend(Model):
    month: str = Field(description="YYYY-MM")
    spent_usd: float = Field(description="what the month's finished jobs cost")
    committed_usd: float = Field(description="the projected ceilings of the month's jobs still in flight")
    remaining_usd: float | None = Field(description="budget - spent - committed; null without a budget")


class Team(Model):
    name: str
    dataset_prefix: str = Field(description="where the team's datasets go, and the only place it may write")
    members: list[str]
    monthly_budget_usd: float | None
    max_instances_in_flight: int | None
    allowed_instance_types: list[str] | None
    max_runtime_seconds: int | None
    notifications: list[Subscription]
    instances_in_flight: int
    this_month: MonthSpend


class Caller(Model):
    principal: str = Field(description="the IAM principal the request was signed as")
    admin: bool = Field(description="an administrator sees and defines every team")
    team: str | None = Field(description="the caller's team; null for an administrator of no team")


class TeamList(Model):
    teams: list[Team]


class DaySpend(Model):
    day: str
    usd: float
    jobs: int


class TypeSpend(Model):
    instance_type: str
    usd: float
    jobs: int


class TeamUsage(Model):
    team: str
    month: str
    monthly_budget_usd: float | None
    spent_usd: float
    committed_usd: float
    by_day: list[DaySpend] = Field(description="finished jobs' cost by the day they ended")
    by_instance_type: list[TypeSpend]
    jobs_by_outcome: dict[str, int] = Field(description="the month's jobs by status")


class NotificationDelivery(Model):
    event_id: str = Field(description="the event's stable id (detail.event_id)")
    subscription: str = Field(description="kind:target")
    detail_type: str
    status: Literal["sending", "delivered", "failed", "logged"] = Field(
        description="logged: local mode wrote it to its log instead of sending it"
    )
    attempts: int
    response_status: int | None = Field(description="a webhook's HTTP answer")
    last_error: str | None
    created_at: str
    updated_at: str
    delivered_at: str | None


class NotificationDeliveries(Model):
    team: str
    subscriptions: int = Field(description="how many subscriptions the team has")
    deliveries: list[NotificationDelivery] = Field(description="the most recent first")


class NotificationTest(Model):
    event_id: str = Field(description="the test event's id: its deliveries are listed under it")
    subscriptions: int = Field(
        description="how many subscriptions it goes to (each one's filters permitting)"
    )
