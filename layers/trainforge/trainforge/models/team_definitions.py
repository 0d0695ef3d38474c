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
)


@dataclass(frozen=True)
class TeamDefinition:
    name: str
    members: tuple[str, ...]
    monthly_budget_usd: Decimal | None = None
    max_instances_in_flight: int | None = None
    allowed_instance_types: tuple[str, ...] | None = None
    max_runtime_seconds: int | None = None

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
    if problems:
        raise SageMakerConfigurationError.from_problems(problems, "team")
    return TeamDefinition(
        name=str(team_name),
        members=tuple(dict.fromkeys(members)),
        monthly_budget_usd=budget,
        max_instances_in_flight=instances,
        allowed_instance_types=types,
        max_runtime_seconds=runtime,
    )


def load_teams_file(path: str | Path) -> list[TeamDefinition]:
    """``teams.json``: ``{"teams": [...]}`` or a list; names must be unique."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    entries = document.get("teams") if isinstance(document, dict) else document
    if not isinstance(entries, list):
        raise SageMakerConfigurationError(f'{path}: expected a list of teams or {{"teams": [...]}}')
    teams = [parse_team(entry) for entry in entries]
    names = [team.name for team in teams]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SageMakerConfigurationError(f"{path}: team names must be unique: {', '.join(duplicates)}")
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
