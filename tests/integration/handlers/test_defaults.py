from __future__ import annotations

import os
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import load_event
from tests.lambda_support import api_request, environment, invoke, load_handler
from trainforge.local.aws.emulator import LocalAws
from trainforge.models.database import TrainingJob


def test_every_handler_runs_with_only_a_database_an_endpoint_and_a_region(
    aws: LocalAws, database_url: str, db: Session, tmp_path: Any
) -> None:
    kept = {k: v for k, v in os.environ.items() if k.startswith(("TRAINFORGE_", "POWERTOOLS_"))}
    for key in kept:
        del os.environ[key]
    minimal = {
        "DATABASE_URL": database_url,
        "AWS_ENDPOINT_URL": aws.endpoint_url,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    try:
        with environment(minimal):
            modules = {
                name: load_handler(name)
                for name in (
                    "api",
                    "submissions",
                    "training_state",
                    "build_state",
                    "reconcile",
                    "migrate",
                )
            }
            response = invoke(modules["api"], api_request("GET", "/health", principal=None))
            assert response["statusCode"] == 200
            assert invoke(modules["training_state"], load_event("sagemaker_training_in_progress.json")) == {
                "batchItemFailures": []
            }
            assert invoke(modules["build_state"], load_event("codebuild_build_in_progress.json")) == {
                "batchItemFailures": []
            }
            assert invoke(modules["reconcile"], {})["errors"] == 0
            assert invoke(modules["migrate"], {"RequestType": "Update"})["Data"]["Revision"]
            assert modules["submissions"].RUNTIME.settings.training_environment == "local"
            for module in modules.values():
                runtime = getattr(module, "RUNTIME", None)
                if runtime is not None:
                    runtime.close()
    finally:
        os.environ.update(kept)
    assert db.scalars(select(TrainingJob)).one().origin == "trainforge"  # the event carries Trainforge's tag
