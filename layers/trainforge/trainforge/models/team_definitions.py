"""Team definitions as a file or a request gives them: validated, and the rules for who a principal is.

Pure Python (no database, no AWS): the stack reads the same definitions (``teams.json``) to generate the S3
permissions, and the API validates ``PUT /teams/{name}`` with them, so both agree on every rule.

A member is an IAM principal as API Gateway reports it in ``requestContext.identity.userArn``:

- a role ARN, ``arn:aws:iam::123456789012:role/ml-vision``, matches every session of that role
  (``arn:aws:sts::123456789012:assumed-role/ml-vision/<any session>``);
- a user ARN matches that user;
- a pattern over assumed-role sessions, ``arn:aws:sts::123456789012:assumed-role/ml-shared/alice-*``, matches
  the sessions it names (``*`` and ``?`` only in the session part).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from trainforge.errors import Problem, SageMakerConfigurationError
from trainforge.models.events import DETAIL_TYPES
from trainforge.models.sagemaker_limits import INSTANCE_TYPE_PATTERN, MAX_RUNTIME_LIMIT_SECONDS

TEAM_NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
_ACCOUNT = r"\d{12}"
_PARTITION = r"aws(?:-[a-z]+)*"
ROLE_ARN = re.compile(
    rf"^arn:{_PARTITION}:iam::{_ACCOUNT}:role/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]{{1,64}})$"
)
USER_ARN = re.compile(rf"^arn:{_PARTITION}:iam::{_ACCOUNT}:user/(?:[\w+=,.@-]+/)*[\w+=,.@-]{{1,64}}$")
SESSION_PATTERN = re.compile(
    rf"^arn:(?P<partition>{_PARTITION}):sts::(?P<account>{_ACCOUNT}):assumed-role/(?P<role>[\w+=,.@-]{{1,64}})"
    r"/(?P<session>[\w+=,.@*?-]{1,64})$"
)
MAX_MEMBERS = 100
MAX_BUDGET_USD = Decimal("1000000000")
MAX_INSTANCES = 10000
FIELDS = (
    "name",
    "members",
    "monthly_budget_usd",
    "max_instances_in_flight",
    "allowed_instance_types",
    "max_runtime_seconds",
    "notifications",
)
MAX_SUBSCRIPTIONS = 20
SUBSCRIPTION_KINDS = ("webhook", "email", "chatbot")
SUBSCRIPTION_FIELDS = ("kind", "target", "events", "statuses", "secret_name", "channel")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[A-Za-z]{2,}$")
# Notices go only where Trainforge's function may send them: its teams' topics, and secrets under its prefix.
CHAT_TOPIC_ARN = re.compile(
    rf"^arn:{_PARTITION}:sns:[a-z0-9-]+:{_ACCOUNT}:trainforge-team-[A-Za-z0-9_-]{{1,200}}$"
)


def email_topic_name(team: str) -> str:
    """A team's email topic: the stack makes it (and subscribes the addresses), the notifications function
    publishes to it."""
    return f"trainforge-team-{team}"


# The chat channel an AWS Chatbot configuration (made by the stack from teams.json) posts a chat topic's notices
# to: slack:<workspace id>/<channel id> or msteams:<tenant id>/<team id>/<channel id> (URL-encoded, as
# Microsoft Teams copies it: 19%3a...%40thread.tacv2).
CHAT_CHANNEL = re.compile(
    r"^(?:slack:(?P<workspace>[A-Z0-9]{1,32})/(?P<slack_channel>[A-Za-z0-9]{1,64})"
    r"|msteams:(?P<tenant>[0-9a-f-]{36})/(?P<team>[0-9a-f-]{36})"
    r"/(?P<teams_channel>[A-Za-z0-9_=+.,-]{1,80}%3[aA][A-Za-z0-9_=+.,-]{1,80}%40[A-Za-z0-9_=+.,-]{1,80}))$"
)
# ASCII only: pydantic-core compiles a Unicode \w into a regex too large to build
SECRET_NAME = re.compile(r"^trainforge/webhooks/[A-Za-z0-9/_+=.@-]{1,400}$")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class Subscription:
    """Where a team hears of its events: an HTTPS webhook (signed with the named secret), an email address (SNS),
    or a chat channel (the SNS topic an AWS Chatbot channel configuration listens to; ``channel`` names the Slack
    or Microsoft Teams channel, for the stack to configure). ``events``: detail-types, none meaning all;
    ``statuses``: only events whose new status is one of these, none meaning all."""

    kind: str
    target: str
    events: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    secret_name: str | None = None
    channel: str | None = None

    @property
    def key(self) -> str:
        """What a delivery is recorded against: the same target twice is one subscription."""
        return f"{self.kind}:{self.target}"

    def wants(self, detail_type: str, detail: dict[str, Any]) -> bool:
        if self.events and detail_type not in self.events:
            return False
        return not (self.statuses and "new_status" in detail and detail["new_status"] not in self.statuses)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Subscription:
        """A subscription as :meth:`to_dict` stored it (validated when its team was saved)."""
        return cls(values["kind"], values["target"], tuple(values.get("events") or ()),
                   tuple(values.get("statuses") or ()), values.get("secret_name"), values.get("channel"))  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "events": list(self.events),
            "statuses": list(self.statuses),
            "secret_name": self.secret_name,
            "channel": self.channel,
        }


def _strings(
    value: Any, field: str, problems: list[Problem], allowed: tuple[str, ...] | None = None
) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(Problem(field, "must be a list of names, or absent for all"))
        return ()
    for index, item in enumerate(value):
        if allowed is not None and item not in allowed:
            problems.append(Problem(f"{field}.{index}", f"must be one of: {', '.join(allowed)}"))
    return tuple(dict.fromkeys(value))


def parse_subscription(values: Any, field: str, problems: list[Problem]) -> Subscription | None:
    """One of a team's notifications, or None with its problems added."""
    if not isinstance(values, dict):
        problems.append(Problem(field, "must be an object: {kind, target, events?, statuses?, secret_name?}"))
        return None
    found = len(problems)
    problems += [
        Problem(f"{field}.{key}", f"is not a notification setting (known: {', '.join(SUBSCRIPTION_FIELDS)})")
        for key in sorted(set(values) - set(SUBSCRIPTION_FIELDS))
    ]
    kind, target, secret = values.get("kind"), values.get("target"), values.get("secret_name")
    if kind not in SUBSCRIPTION_KINDS:
        problems.append(Problem(f"{field}.kind", f"must be one of: {', '.join(SUBSCRIPTION_KINDS)}"))
    elif not isinstance(target, str):
        problems.append(
            Problem(f"{field}.target", "is required: the webhook's URL, the email address or the topic ARN")
        )
    elif kind == "webhook":
        host = target.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0] if "://" in target else ""
        if not (target.startswith("https://") or (target.startswith("http://") and host in LOOPBACK_HOSTS)):
            problems.append(
                Problem(f"{field}.target", "must be an https:// URL (http:// only to this machine)")
            )
        if not isinstance(secret, str) or not SECRET_NAME.fullmatch(secret):
            problems.append(
                Problem(f"{field}.secret_name", "is required for a webhook: the Secrets Manager secret that signs its "
                        "requests (HMAC-SHA256 over timestamp and body)")
            )  # fmt: skip
    elif kind == "email" and not EMAIL.fullmatch(target):
        problems.append(Problem(f"{field}.target", "must be an email address"))
    elif kind == "chatbot" and not CHAT_TOPIC_ARN.fullmatch(target):
        problems.append(
            Problem(
                f"{field}.target",
                "must be the ARN of an SNS topic named trainforge-team-..., which an AWS Chatbot channel "
                "configuration listens to",
            )
        )
    if kind != "webhook" and secret is not None:
        problems.append(Problem(f"{field}.secret_name", "is for webhooks only"))
    channel = values.get("channel")
    if channel is not None and kind != "chatbot":
        problems.append(Problem(f"{field}.channel", "is for chatbot subscriptions only"))
    elif channel is not None and not (isinstance(channel, str) and CHAT_CHANNEL.fullmatch(channel)):
        problems.append(
            Problem(f"{field}.channel", "must be slack:<workspace id>/<channel id> or "
                    "msteams:<tenant id>/<team id>/<channel id>")
        )  # fmt: skip
    events = _strings(values.get("events"), f"{field}.events", problems, DETAIL_TYPES)
    statuses = _strings(values.get("statuses"), f"{field}.statuses", problems)
    if len(problems) > found:
        return None
    return Subscription(
        str(kind), str(target), events, statuses, secret if kind == "webhook" else None, channel
    )


@dataclass(frozen=True)
class TeamDefinition:
    name: str
    members: tuple[str, ...]
    monthly_budget_usd: Decimal | None = None
    max_instances_in_flight: int | None = None
    allowed_instance_types: tuple[str, ...] | None = None
    max_runtime_seconds: int | None = None
    notifications: tuple[Subscription, ...] = ()

    def dataset_prefix(self, datasets_prefix: str = "datasets/") -> str:
        """Where the team's datasets go, and the only place its members may write them."""
        return f"{datasets_prefix}{self.name}/"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "members": list(self.members),
            "monthly_budget_usd": self.monthly_budget_usd,
            "max_instances_in_flight": self.max_instances_in_flight,
            "allowed_instance_types": (
                list(self.allowed_instance_types) if self.allowed_instance_types is not None else None
            ),
            "max_runtime_seconds": self.max_runtime_seconds,
            "notifications": [n.to_dict() for n in self.notifications],
        }


def member_problem(pattern: Any) -> str | None:
    """Why ``pattern`` is not a member this module can match, or None."""
    if not isinstance(pattern, str):
        return "must be a string"
    if ROLE_ARN.fullmatch(pattern) or USER_ARN.fullmatch(pattern) or SESSION_PATTERN.fullmatch(pattern):
        return None
    return (
        "must be a role ARN (arn:aws:iam::<account>:role/<name>), a user ARN, or an assumed-role session pattern "
        "(arn:aws:sts::<account>:assumed-role/<role>/<session, * and ? allowed>)"
    )


def _whole(value: Any, field: str, low: int, high: int, problems: list[Problem]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(Problem(field, f"must be a whole number from {low} to {high}, or null for no limit"))
        return None
    return value


def parse_team(values: Any, *, name: str | None = None) -> TeamDefinition:
    """A team from a JSON object, or :class:`SageMakerConfigurationError` naming every problem. ``name`` (the
    path's) wins over the body's, which must then agree or be absent."""
    if not isinstance(values, dict):
        raise SageMakerConfigurationError("a team is a JSON object", field="body")
    problems: list[Problem] = []
    unknown = sorted(set(values) - set(FIELDS))
    problems += [Problem(key, f"is not a team setting (known: {', '.join(FIELDS)})") for key in unknown]
    team_name = name if name is not None else values.get("name")
    if name is not None and values.get("name") not in (None, name):
        problems.append(Problem("name", f"differs from the path's team ({name})"))
    if not isinstance(team_name, str) or not TEAM_NAME_PATTERN.fullmatch(team_name):
        problems.append(
            Problem("name", "must be 1-40 lowercase letters, digits and hyphens, not at either end")
        )
    members = values.get("members", [])
    if not isinstance(members, list) or len(members) > MAX_MEMBERS:
        problems.append(Problem("members", f"must be a list of up to {MAX_MEMBERS} IAM principals"))
        members = []
    for index, member in enumerate(members):
        why = member_problem(member)
        if why:
            problems.append(Problem(f"members.{index}", why))
    budget_raw = values.get("monthly_budget_usd")
    budget: Decimal | None = None
    if budget_raw is not None:
        try:
            if isinstance(budget_raw, bool) or not isinstance(budget_raw, (int, float, str)):
                raise InvalidOperation
            budget = Decimal(str(budget_raw))
            if not budget.is_finite() or not Decimal(0) <= budget <= MAX_BUDGET_USD:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            problems.append(
                Problem("monthly_budget_usd", f"must be a number of dollars from 0 to {MAX_BUDGET_USD}")
            )
            budget = None
        if budget is not None and budget != budget.quantize(Decimal("0.01")):
            # Budgets are kept in cents: say so rather than store another figure than the one given.
            problems.append(
                Problem(
                    "monthly_budget_usd",
                    f"must be whole cents (at most 2 decimal places): {budget_raw} would be kept as "
                    f"{budget.quantize(Decimal('0.01'))}",
                )
            )
            budget = None
    instances = _whole(
        values.get("max_instances_in_flight"), "max_instances_in_flight", 1, MAX_INSTANCES, problems
    )
    runtime = _whole(
        values.get("max_runtime_seconds"), "max_runtime_seconds", 1, MAX_RUNTIME_LIMIT_SECONDS, problems
    )
    types_raw = values.get("allowed_instance_types")
    types: tuple[str, ...] | None = None
    if types_raw is not None:
        if not isinstance(types_raw, list) or not types_raw:
            problems.append(
                Problem("allowed_instance_types", "must be a non-empty list, or null for any type")
            )
        else:
            for index, kind in enumerate(types_raw):
                if not isinstance(kind, str) or not INSTANCE_TYPE_PATTERN.fullmatch(kind):
                    problems.append(
                        Problem(
                            f"allowed_instance_types.{index}", "must be an instance type like ml.m5.large"
                        )
                    )
            types = tuple(sorted({k for k in types_raw if isinstance(k, str)}))
    notifications_raw = values.get("notifications") or []
    notifications: list[Subscription] = []
    if not isinstance(notifications_raw, list) or len(notifications_raw) > MAX_SUBSCRIPTIONS:
        problems.append(
            Problem("notifications", f"must be a list of up to {MAX_SUBSCRIPTIONS} subscriptions")
        )
    else:
        for index, entry in enumerate(notifications_raw):
            subscription = parse_subscription(entry, f"notifications.{index}", problems)
            if subscription is not None:
                notifications.append(subscription)
    if problems:
        raise SageMakerConfigurationError.from_problems(problems, "team")
    return TeamDefinition(
        name=str(team_name),
        members=tuple(dict.fromkeys(members)),
        monthly_budget_usd=budget,
        max_instances_in_flight=instances,
        allowed_instance_types=types,
        max_runtime_seconds=runtime,
        notifications=tuple({n.key: n for n in notifications}.values()),
    )


def load_teams_file(path: str | Path) -> list[TeamDefinition]:
    """``teams.json``: ``{"teams": [...]}``, a list, or one team (an object with its ``name``); names must be
    unique."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(document, dict) and "teams" not in document and "name" in document:
        document = [document]
    entries = document.get("teams") if isinstance(document, dict) else document
    if not isinstance(entries, list):
        raise SageMakerConfigurationError(
            'expected {"teams": [...]}, a list of teams, or one team (an object with its "name")'
        )
    teams = [parse_team(entry) for entry in entries]
    names = [team.name for team in teams]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SageMakerConfigurationError(f"team names must be unique: {', '.join(duplicates)}")
    return teams


def principal_matches(pattern: str, principal: str) -> bool:
    """Whether the caller ``principal`` (API Gateway's ``userArn``) is the member ``pattern``."""
    if pattern == principal:
        return True
    role = ROLE_ARN.fullmatch(pattern)
    if role:
        partition, account = pattern.split(":")[1], pattern.split(":")[4]
        prefix = f"arn:{partition}:sts::{account}:assumed-role/{role.group('name')}/"
        return principal.startswith(prefix) and "/" not in principal[len(prefix) :]
    if SESSION_PATTERN.fullmatch(pattern):
        return fnmatchcase(principal, pattern.replace("[", "[[]"))
    return False


def role_of(pattern: str) -> str | None:
    """The IAM role a member pattern stands for (what S3's ``aws:PrincipalArn`` reports for its sessions), or
    None for an IAM user (whose ARN is its own principal)."""
    if ROLE_ARN.fullmatch(pattern):
        return pattern
    session = SESSION_PATTERN.fullmatch(pattern)
    if session:
        return f"arn:{session['partition']}:iam::{session['account']}:role/{session['role']}"
    return None


def s3_principal(pattern: str) -> str:
    """How a bucket policy's ``aws:PrincipalArn`` names this member (its role, or the user)."""
    return role_of(pattern) or pattern
