"""The OpenAPI document is the API's truth: generated from the handler, checked in, and complete."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import OPENAPI_DOCUMENT, undocumented_statuses
from tests.lambda_support import environment


@pytest.fixture(scope="module")
def live() -> dict[str, Any]:
    with environment({"TRAINFORGE_MODE": "local", "POWERTOOLS_TRACE_DISABLED": "true"}):
        from lambdas.api.openapi import document

        return dict(json.loads(document()))


def test_the_checked_in_document_is_what_the_handler_serves(live: dict[str, Any]) -> None:
    assert json.loads(OPENAPI_DOCUMENT.read_text()) == live, "stale: run `make openapi`"


def test_the_document_is_valid_openapi(live: dict[str, Any]) -> None:
    from openapi_spec_validator import validate

    validate(live)


def test_every_operation_has_a_tag_a_stable_id_and_the_real_error_body(live: dict[str, Any]) -> None:
    ids = []
    for item in live["paths"].values():
        for operation in item.values():
            ids.append(operation["operationId"])
            assert operation["tags"] and operation["tags"][0] in {
                "jobs",
                "datasets",
                "builds",
                "setup",
                "teams",
                "tuning",
                "capacity",
            }
            assert {"403", "422"} <= set(operation["responses"])
            for status, response in operation["responses"].items():
                schema = response["content"]["application/json"]["schema"]
                if int(status) >= 400:
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
                    assert response["content"]["application/json"]["examples"]
    assert len(ids) == len(set(ids)) and all("_" not in i for i in ids)
    assert not {"HTTPValidationError", "ResponseValidationError"} & set(live["components"]["schemas"])


def test_no_operation_promises_a_500(live: dict[str, Any]) -> None:
    assert all("500" not in op["responses"] for item in live["paths"].values() for op in item.values())


def test_request_examples_validate_against_their_own_models() -> None:
    from trainforge.models import api

    for model in (api.JobRequest, api.DatasetUploadRequest, api.BuildRequest, api.RoleRequest):
        for example in model.model_config.get("json_schema_extra", {}).get("examples", []):
            model.model_validate(example)


def test_an_undocumented_status_is_reported_and_a_documented_one_is_not(live: dict[str, Any]) -> None:
    observed = {
        ("GET", "/jobs/7", 404),
        ("GET", "/jobs/7", 409),
        ("DELETE", "/jobs/7", 405),
        ("GET", "/x", 404),
    }
    assert undocumented_statuses(observed, live) == ["GET /jobs/7 answered 409, not documented for getJob"]
