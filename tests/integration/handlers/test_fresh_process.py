"""Each handler started in a fresh Python process, as Lambda starts one, and given its first real event: it
answers correctly, and neither SQLAlchemy (the schema's and the contract's tool) nor, for the event handlers,
pydantic is ever imported on the way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import load_event
from tests.lambda_support import api_request, sqs_batch

ROOT = Path(__file__).resolve().parents[3]
RUN_ONCE = """
import json, sys
import handler
class Context:
    function_name = "trainforge-test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:trainforge-test"
    aws_request_id = "fresh"
    @staticmethod
    def get_remaining_time_in_millis():
        return 30000
answer = handler.handler(json.load(open(sys.argv[1])), Context())
loaded = sorted({name.split(".")[0] for name in sys.modules} & {"sqlalchemy", "pydantic", "alembic"})
json.dump({"answer": answer, "loaded": loaded}, open(sys.argv[2], "w"))
"""


def run_fresh(name: str, event: dict[str, Any], env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    event_path, answer_path = tmp_path / f"{name}-event.json", tmp_path / f"{name}-answer.json"
    event_path.write_text(json.dumps(event))
    cwd = ROOT / "lambdas" / name
    result = subprocess.run(
        [sys.executable, "-c", RUN_ONCE, str(event_path), str(answer_path)],
        cwd=cwd,
        env={
            **os.environ,
            **env,
            "LAMBDA_TASK_ROOT": str(cwd),
            "AWS_LAMBDA_FUNCTION_NAME": f"trainforge-{name}",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found: dict[str, Any] = json.loads(answer_path.read_text())
    return found


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("training_state", "sagemaker_training_completed.json"),
        ("build_state", "codebuild_build_in_progress.json"),
    ],
)
def test_an_event_handler_answers_its_first_event_without_the_orm_or_pydantic(
    name: str, event: str, handler_env: dict[str, str], db: Session, tmp_path: Path
) -> None:
    outcome = run_fresh(name, sqs_batch(load_event(event)), handler_env, tmp_path)
    assert outcome["answer"] == {"batchItemFailures": []}
    assert outcome["loaded"] == []
    table = "training_jobs" if name == "training_state" else "container_builds"
    assert db.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1


def test_the_api_answers_its_first_request_without_the_orm(
    handler_env: dict[str, str], db: Session, tmp_path: Path
) -> None:
    outcome = run_fresh("api", api_request("GET", "/jobs"), handler_env, tmp_path)
    assert outcome["answer"]["statusCode"] == 200
    assert json.loads(outcome["answer"]["body"]) == {"jobs": [], "next_cursor": None}
    assert "sqlalchemy" not in outcome["loaded"] and "alembic" not in outcome["loaded"]
