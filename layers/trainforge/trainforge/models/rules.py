"""Every pattern a request is checked against, said in words: a person reads "1 to 63 letters, digits or
hyphens", never the regular expression. ``tests/unit/test_rules_in_words.py`` fails when the API checks a pattern
that has no words here."""

from __future__ import annotations

from typing import Any

from trainforge.inputs import IDEMPOTENCY_KEY_PATTERN
from trainforge.models.sagemaker_limits import (
    CHANNEL_NAME_PATTERN,
    INSTANCE_TYPE_PATTERN,
    JOB_NAME_PATTERN,
    KMS_KEY_PATTERN,
    S3_LOCATION,
    TUNING_JOB_NAME_PATTERN,
    VPC_ID_PATTERN,
)
from trainforge.models.team_definitions import CHAT_CHANNEL, SECRET_NAME, TEAM_NAME_PATTERN

MONTH = r"^(?P<year>20\d\d)-(?P<month>0[1-9]|1[0-2])$"
PAGE_TOKEN = r"^[A-Za-z0-9_-]+$"  # noqa: S105 - the pattern of a paging token, not a secret
NO_SPACES = r"^\S+$"
SHA256 = r"^[0-9a-f]{64}$"
IAM_NAME = r"^[A-Za-z0-9_+=,.@-]+$"
DATASET_NAME = r"^[a-z0-9][a-z0-9._-]{0,99}$"
INSTANCE_NAME = r"^algo-[1-9][0-9]{0,3}$"
HYPERPARAMETER_NAME = r"^[\w.:-]+$"
IMAGE_TAG = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"  # Docker's and ECR's

PATTERN_RULES: dict[str, str] = {
    JOB_NAME_PATTERN.pattern: "must be 1 to 63 letters, digits or hyphens, starting and ending with a letter or "
    "digit",
    TUNING_JOB_NAME_PATTERN.pattern: "must be 1 to 32 letters, digits or hyphens, starting and ending with a "
    "letter or digit",
    S3_LOCATION: "must be an s3:// URI such as s3://trainforge-datasets/datasets/churn/ (a bucket of lowercase "
    "letters, digits, '.' or '-', then a key)",
    NO_SPACES: "must have no spaces",
    CHANNEL_NAME_PATTERN.pattern: "must be 1 to 64 letters, digits, '.', '-' or '_'",
    VPC_ID_PATTERN.pattern: "must be an id of 1 to 32 letters, digits or '-', such as subnet-0abc or sg-0abc",
    KMS_KEY_PATTERN.pattern: "must be a KMS key id, alias or ARN (letters, digits and ':', '/', '_', '-')",
    INSTANCE_TYPE_PATTERN.pattern: "must be an instance type such as ml.m5.large",
    TEAM_NAME_PATTERN.pattern: "must be 1 to 40 lowercase letters, digits or hyphens, starting and ending with a "
    "letter or digit",
    SECRET_NAME.pattern: "must be the name of a Secrets Manager secret under trainforge/webhooks/ (letters, digits "
    "and '/', '_', '+', '=', '.', '@', '-')",
    CHAT_CHANNEL.pattern: "must be slack:<workspace id>/<channel id> or msteams:<tenant id>/<team id>/<channel id> "
    "(the channel id URL-encoded, as 19%3a...%40thread.tacv2)",
    IDEMPOTENCY_KEY_PATTERN.pattern: "must be 1 to 255 visible ASCII characters",
    MONTH: "must be a month as YYYY-MM, such as 2026-11",
    PAGE_TOKEN: "must be the next_cursor (or next_token) of the previous page, as it was given",
    SHA256: "must be a SHA-256 digest: 64 lowercase hexadecimal digits",
    IAM_NAME: "must be an IAM name: letters, digits and '_', '+', '=', ',', '.', '@', '-'",
    DATASET_NAME: "must be 1 to 100 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
    INSTANCE_NAME: "must be an instance's name: algo-1, algo-2, ...",
    HYPERPARAMETER_NAME: "must be letters, digits, '_', '.', ':' or '-'",
    IMAGE_TAG: "must be an image tag: 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'",
}

# Pydantic's words where they are not already a person's.
_TYPES = {
    "missing": "is required",
    "extra_forbidden": "is not a field this request takes",
    "json_invalid": "is not valid JSON",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "model_type": "must be an object",
}


def rule_in_words(error: dict[str, Any]) -> str:
    """One of pydantic's validation errors as the rule it broke, in words."""
    kind, context = str(error.get("type", "")), error.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        return PATTERN_RULES.get(str(context.get("pattern")), "is not in the expected form")
    if kind in _TYPES:
        return _TYPES[kind]
    message = str(error.get("msg", "is not valid"))
    # "Input should be greater than or equal to 1" → "must be greater than or equal to 1"
    for prefix in ("Input should be ", "Value should be ", "String should have ", "List should have "):
        if message.startswith(prefix):
            rest = message.removeprefix(prefix)
            return f"must be {rest}" if prefix.endswith("be ") else f"must have {rest}"
    return message
