"""Run inside a previous release's tree (copied there by tests/integration/test_rollback.py), with that release's
own code first on sys.path: its API and training_state handlers, invoked as Lambda invokes them, against the
database the newer release migrated. Prints what each call answered, as JSON. It uses only what every release
has: the handlers' Lambda interface and tests/lambda_support.py."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import trainforge
from tests.lambda_support import api_request, invoke, load_handler, sqs_batch

ADMIN = "arn:aws:iam::123456789012:user/ml-engineer"
VISION = "arn:aws:sts::123456789012:assumed-role/vision-engineers/alice"
HERE = Path(__file__).resolve().parent


def main() -> None:
    assert Path(trainforge.__file__).resolve().is_relative_to(HERE), "not the previous release's code"
    api = load_handler("api")
    answers: dict[str, Any] = {}

    def call(name: str, method: str, path: str, body: Any = None, principal: str = ADMIN) -> Any:
        response = invoke(api, api_request(method, path, body, principal=principal))
        answers[name] = {"status": response["statusCode"], "body": json.loads(response["body"] or "null")}
        return answers[name]["body"]

    call("put team", "PUT", "/teams/vision", {"members": ["arn:aws:iam::123456789012:role/vision-engineers"],
                                              "monthly_budget_usd": 100})  # fmt: skip
    job = call("submit", "POST", "/jobs", {"job_name": "rollback-1", "instance_type": "ml.m5.xlarge",
                                           "dataset_uri": "s3://trainforge-datasets/datasets/vision/d/",
                                           "max_runtime_seconds": 3600}, VISION)  # fmt: skip
    event = copy.deepcopy(
        json.loads((HERE / "tests" / "events" / "sagemaker_training_completed.json").read_text())
    )
    event["detail"].update({"TrainingJobName": "rollback-1", "LastModifiedTime": 1795867400000,
                            "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/rollback-1"})  # fmt: skip
    state = load_handler("training_state")
    answers["state change"] = {"status": 200, "body": invoke(state, sqs_batch(event))}
    call("status", "GET", f"/jobs/{job['id']}", principal=VISION)
    call("list", "GET", "/jobs", principal=VISION)
    call("usage", "GET", "/teams/vision/usage", principal=VISION)
    print(json.dumps(answers))


if __name__ == "__main__":
    main()
