"""Property-based fuzzing: the REST API from its own OpenAPI document, and the event handlers with malformed
events. Zero 5xx, zero unhandled exceptions; every rejection is a clear 4xx or a dead-lettered record."""

from __future__ import annotations

import copy
import json
import os
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import load_event
from tests.lambda_support import api_request, invoke, sqs_batch
from trainforge.delivery import PoisonEventError

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=6)
    ),
    max_leaves=25,
)
# Derandomized, so CI replays the same examples; `FUZZ_EXAMPLES=2000 pytest tests/reliability` explores further.
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "120")),
    derandomize=os.environ.get("FUZZ_EXAMPLES") is None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def api_module(handlers: Any) -> Any:
    return handlers("api")


@pytest.fixture
def routes(api_module: Any) -> list[tuple[str, str]]:
    document = json.loads(invoke(api_module, api_request("GET", "/openapi.json"))["body"])
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


def fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _match: value, path)


def test_the_api_never_answers_5xx(api_module: Any, routes: list[tuple[str, str]]) -> None:
    job_fields = st.fixed_dictionaries(
        {}, optional={k: JSON for k in ("job_name", "dataset_uri", "instance_type", "instance_count", "hyperparameters",
                                        "metric_definitions", "environment_variables", "max_wait_seconds")}
    )  # fmt: skip

    @FUZZ
    @given(
        route=st.sampled_from(routes),
        segment=st.one_of(st.integers(-5, 10**20).map(str), st.text(min_size=1, max_size=12).map(lambda t: t.replace("/", "_"))),
        body=st.one_of(st.none(), JSON, job_fields, st.text(max_size=60)),
        query=st.dictionaries(st.sampled_from(["limit", "cursor", "status", "created_after", "job_name", "x"]),
                              st.text(max_size=20), max_size=3),
    )  # fmt: skip
    def check(route: tuple[str, str], segment: str, body: Any, query: dict[str, str]) -> None:
        method, path = route
        raw = body if isinstance(body, str) else None
        event = api_request(
            method, fill(path, segment), None if raw is not None else body, query=query, raw_body=raw
        )
        response = invoke(api_module, event)
        assert response["statusCode"] < 500, (method, path, body, response["body"][:300])
        if response["statusCode"] >= 400:
            error = json.loads(response["body"])["error"]
            assert error["code"] and error["message"]

    check()


def mutations(event: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A real event with one part deleted or replaced by anything."""
    paths: list[tuple[str, ...]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append((*path, key))
                walk(value, (*path, key))

    walk(event, ())

    def mutate(path: tuple[str, ...], replacement: Any, delete: bool) -> dict[str, Any]:
        copied = copy.deepcopy(event)
        node = copied
        for key in path[:-1]:
            node = node[key]
        if delete:
            del node[path[-1]]
        else:
            node[path[-1]] = replacement
        return copied

    return st.builds(mutate, st.sampled_from(paths), JSON, st.booleans())


@pytest.mark.parametrize(
    ("handler", "fixture"),
    [
        ("training_state", "sagemaker_training_completed.json"),
        ("build_state", "codebuild_build_succeeded.json"),
        ("submissions", "s3_object_created.json"),
    ],
)
def test_event_handlers_never_crash_on_malformed_events(handlers: Any, handler: str, fixture: str) -> None:
    module = handlers(handler)
    real = load_event(fixture)

    @FUZZ
    @given(event=st.one_of(mutations(real), JSON), raw=st.text(max_size=30))
    def check(event: Any, raw: str) -> None:
        batch = sqs_batch(*([event] if isinstance(event, dict) else []), raw_bodies=(raw, json.dumps(event)))
        result = invoke(module, batch)
        ids = {r["messageId"] for r in batch["Records"]}
        assert {f["itemIdentifier"] for f in result["batchItemFailures"]} <= ids
        if isinstance(event, dict):
            try:
                invoke(module, event)
            except PoisonEventError as exc:
                assert exc.reason

    check()
