"""A person reads the rule they broke, never a regular expression: every pattern the API checks has its words
(trainforge.models.rules), and pydantic's other messages are turned into rules too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trainforge.models.rules import PATTERN_RULES, rule_in_words

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def patterns(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
        return found.union(*(patterns(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(patterns(v) for v in node))
    return set()


def test_every_pattern_the_api_checks_has_its_rule_in_words() -> None:
    checked = patterns(json.loads(DOCUMENT.read_text()))
    assert len(checked) >= 15
    assert checked - set(PATTERN_RULES) == set()


@pytest.mark.parametrize(
    ("error", "words"),
    [
        ({"type": "string_pattern_mismatch", "msg": "String should match pattern '^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$'",
          "ctx": {"pattern": "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"}},
         "must be 1 to 63 letters, digits or hyphens, starting and ending with a letter or digit"),
        ({"type": "greater_than_equal", "msg": "Input should be greater than or equal to 1", "ctx": {"ge": 1}},
         "must be greater than or equal to 1"),
        ({"type": "extra_forbidden", "msg": "Extra inputs are not permitted"}, "is not a field this request takes"),
        ({"type": "missing", "msg": "Field required"}, "is required"),
        ({"type": "string_too_long", "msg": "String should have at most 63 characters"},
         "must have at most 63 characters"),
    ],
)  # fmt: skip
def test_pydantics_errors_read_as_rules(error: dict[str, Any], words: str) -> None:
    assert rule_in_words(error) == words
