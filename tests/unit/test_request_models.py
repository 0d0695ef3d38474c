"""Nothing a client sends is silently dropped: every object a request body can hold (followed through $ref,
lists, unions and nested objects) refuses fields it does not know, so a misplaced setting is a 422 naming it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DOCUMENT = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        found: dict[str, Any] = DOCUMENT
        for part in ref.removeprefix("#/").split("/"):
            found = found[part]
        return found
    return schema


def objects(schema: dict[str, Any], where: str, seen: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """Every object schema with named properties reachable from ``schema``."""
    key = json.dumps(schema, sort_keys=True)
    if key in seen:
        return []
    seen.add(key)
    schema = resolve(schema)
    found = [(where, schema)] if "properties" in schema else []
    for name, sub in schema.get("properties", {}).items():
        found += objects(sub, f"{where}.{name}", seen)
    for keyword in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(keyword, []):
            found += objects(sub, where, seen)
    if isinstance(schema.get("items"), dict):
        found += objects(schema["items"], f"{where}[]", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        found += objects(schema["additionalProperties"], f"{where}.*", seen)
    return found


def request_bodies() -> list[tuple[str, dict[str, Any]]]:
    bodies = []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                bodies.append((f"{method.upper()} {path}", media["schema"]))
    return bodies


def test_every_object_of_every_request_body_refuses_unknown_fields() -> None:
    checked, open_objects = 0, []
    for operation, schema in request_bodies():
        for where, found in objects(schema, "body", set()):
            checked += 1
            if found.get("additionalProperties") is not False:
                open_objects.append(f"{operation} {where}")
    assert checked >= 10 and open_objects == []


def test_a_tuning_jobs_trials_take_a_jobs_settings_and_refuse_the_image() -> None:
    trial = resolve(DOCUMENT["components"]["schemas"]["TuningRequest"]["properties"]["training"])
    assert "image_uri" not in trial["properties"] and "instance_type" in trial["properties"]
    assert trial["additionalProperties"] is False
