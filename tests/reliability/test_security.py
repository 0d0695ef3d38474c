"""Requests without a principal are refused; hostile S3 keys never reach a job name or a path; SQL is built only
with bound parameters."""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import load_event
from tests.lambda_support import api_request, invoke, sqs_batch
from trainforge.job_settings.training_config import JOB_NAME_PATTERN
from trainforge.models.database import TrainingJob

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "trainforge" / "trainforge"


def test_every_route_refuses_a_request_without_a_principal(handlers: Any) -> None:
    api = handlers("api")
    document = json.loads(invoke(api, api_request("GET", "/openapi.json"))["body"])
    for path, item in document["paths"].items():
        for method in item:
            response = invoke(api, api_request(method.upper(), path.replace("{job_id}", "1").replace("{build_id}", "1"),
                                               {}, principal=None))  # fmt: skip
            assert response["statusCode"] == 403, (method, path)


HOSTILE = st.one_of(
    st.builds(lambda a, b: f"datasets/{a}/../{b}/manifest.json", st.text(max_size=8), st.text(max_size=8)),
    st.builds(lambda a: f"/datasets/{a}/manifest.json", st.text(max_size=8)),
    st.builds(
        lambda a, c: f"datasets/{a}{c}x/manifest.json",
        st.text(max_size=8),
        st.sampled_from(["\x00", "\x07", "\n", "\x1b"]),
    ),
    st.builds(lambda a: f"datasets/{a}/manifest.json", st.text(max_size=20)),
)


def test_hostile_keys_never_reach_a_job_name_or_a_path(handlers: Any, db: Session) -> None:
    module = handlers("submissions")

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(key=HOSTILE)
    def check(key: str) -> None:
        event = copy.deepcopy(load_event("s3_object_created.json"))
        event["detail"]["object"]["key"] = quote_plus(key, safe="/")
        assert invoke(module, sqs_batch(event)) == {"batchItemFailures": []}

    check()
    for job in db.scalars(select(TrainingJob)):
        assert JOB_NAME_PATTERN.fullmatch(job.job_name)
        for uri in (job.input_uri or "", job.source_uri or ""):
            assert ".." not in uri.split("/") and not any(ord(c) < 32 for c in uri)


def test_injection_in_a_job_name_is_refused_and_harmless(handlers: Any, db: Session) -> None:
    api = handlers("api")
    body = {
        "job_name": "x'; DROP TABLE training_jobs; --",
        "dataset_uri": "s3://trainforge-datasets/datasets/a/",
    }
    response = invoke(api, api_request("POST", "/jobs", body))
    assert response["statusCode"] == 422
    response = invoke(api, api_request("GET", "/jobs", query={"job_name": "x' OR '1'='1"}))
    assert response["statusCode"] == 200 and json.loads(response["body"])["jobs"] == []
    assert db.scalars(select(TrainingJob)).all() == []


def sql_strings_built_from_values() -> list[str]:
    """text(...) or execute(...) whose SQL is an f-string, a concatenation or a %-format."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if "local" in path.relative_to(PACKAGE).parts:
            continue  # local mode's scratch-database helper names a database it generated itself
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "text",
                "execute",
            ):
                for argument in node.args[:1]:
                    if isinstance(argument, ast.JoinedStr | ast.BinOp):
                        found.append(f"{path.name}:{node.lineno}")
    return found


def test_sql_is_built_only_with_bound_parameters() -> None:
    assert sql_strings_built_from_values() == []
    # Names cannot be bound: the ledger's COPY statements take only the schema's own, quoted by the dialect.
    from trainforge.ledger import LedgerError, named

    assert named("SELECT count(*) FROM {}", "training_jobs") == "SELECT count(*) FROM training_jobs"
    with pytest.raises(LedgerError, match="not a name of this schema"):
        named("SELECT count(*) FROM {}", 'training_jobs"; DROP TABLE teams; --')
    statements = "".join(p.read_text() for p in (PACKAGE / "repository").glob("*.py"))
    assert re.search(r":\w+", statements)  # the statements there do use named bound parameters
