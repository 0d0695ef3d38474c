from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import load_event
from tests.lambda_support import invoke, sqs_batch
from trainforge.models.database import ContainerBuild

pytestmark = pytest.mark.calendar  # its times are read against the clock (tests/clock.py)


def test_a_build_is_followed_to_success_with_its_image_and_digest(handlers: Any, db: Session) -> None:
    module = handlers("build_state")
    invoke(module, sqs_batch(load_event("codebuild_build_in_progress.json")))
    invoke(module, sqs_batch(load_event("codebuild_build_succeeded.json")))
    build = db.scalars(select(ContainerBuild)).one()
    assert build.build_id == "trainforge-image-builds:8745a7a9-c340-456a-9166-edf953571bec"
    assert (build.status, build.current_phase) == ("SUCCEEDED", "COMPLETED")
    assert build.image_uri and build.image_uri.endswith("trainforge-training:v1")
    assert build.image_digest and build.image_digest.startswith("sha256:")
    assert build.log_url and "cloudwatch" in build.log_url


def test_another_projects_build_is_ignored_and_the_log_says_why(handlers: Any, db: Session) -> None:
    module = handlers("build_state")
    seen: list[logging.LogRecord] = []
    listener = logging.Handler()
    listener.emit = seen.append  # type: ignore[method-assign]
    logging.getLogger("trainforge").addHandler(listener)  # Powertools' Logger(service="trainforge")
    try:
        event = load_event("codebuild_build_succeeded.json")
        event["detail"]["project-name"] = "someone-elses-builds"
        assert invoke(module, sqs_batch(event)) == {"batchItemFailures": []}
    finally:
        logging.getLogger("trainforge").removeHandler(listener)
    assert db.scalars(select(ContainerBuild)).all() == []
    ignored = [r for r in seen if r.getMessage() == "build event ignored"]
    assert (
        ignored
        and "'someone-elses-builds', not Trainforge's ('trainforge-image-builds')" in ignored[0].reason
    )


def test_a_late_in_progress_does_not_undo_success(handlers: Any, db: Session) -> None:
    module = handlers("build_state")
    invoke(module, load_event("codebuild_build_succeeded.json"))
    invoke(module, load_event("codebuild_build_in_progress.json"))
    assert db.scalars(select(ContainerBuild)).one().status == "SUCCEEDED"


def test_a_failed_build_keeps_the_reason(handlers: Any, db: Session) -> None:
    invoke(handlers("build_state"), load_event("codebuild_build_failed.json"))
    build = db.scalars(select(ContainerBuild)).one()
    assert build.status == "FAILED"
    assert (
        build.failure_reason
        and "phase BUILD FAILED" in build.failure_reason
        and "docker build" in build.failure_reason
    )


def test_a_build_started_by_trainforge_is_updated_in_place(
    handlers: Any, db: Session, database: Any, aws_resources: Any, tmp_path: Any
) -> None:
    from trainforge.builds.records import start_build
    from trainforge.services.sagemaker_training_service import SageMakerContainerBuilder

    row_id, started = start_build(
        database,
        SageMakerContainerBuilder(aws_resources),
        base_image="python:3.12-slim",
        tag="v9",
        files={"train.py": "print(1)"},
    )
    event = load_event("codebuild_build_succeeded.json")
    event["detail"]["build-id"] = f"arn:aws:codebuild:us-east-1:123456789012:build/{started.build_id}"
    invoke(handlers("build_state"), event)
    db.expire_all()
    build = db.get(ContainerBuild, row_id)
    assert build is not None and build.status == "SUCCEEDED" and build.base_image == "python:3.12-slim"


def test_a_build_event_without_its_id_is_poison(handlers: Any, db: Session) -> None:
    event = load_event("codebuild_build_succeeded.json")
    del event["detail"]["build-id"]
    batch = sqs_batch(event)
    assert invoke(handlers("build_state"), batch) == {
        "batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]
    }


def test_a_build_whose_events_arrive_before_trainforge_records_it_keeps_every_fact(
    handlers: Any, db: Session, database: Any, aws_resources: Any
) -> None:
    from trainforge.builds.records import start_build
    from trainforge.services.sagemaker_training_service import SageMakerContainerBuilder

    class EventsFirst(SageMakerContainerBuilder):
        """CodeBuild reports the build before start_build records it, as local mode's builder does."""

        def start_build(self, base_image: str, tag: str) -> Any:
            started = super().start_build(base_image, tag)
            for name in ("codebuild_build_in_progress.json", "codebuild_build_succeeded.json"):
                event = load_event(name)
                event["detail"]["build-id"] = (
                    f"arn:aws:codebuild:us-east-1:123456789012:build/{started.build_id}"
                )
                invoke(handlers("build_state"), event)
            return started

    row_id, started = start_build(
        database,
        EventsFirst(aws_resources),
        base_image="python:3.12-slim",
        tag="v9",
        files={"train.py": "print(1)"},
    )
    db.expire_all()
    build = db.get(ContainerBuild, row_id)
    assert build is not None and build.status == "SUCCEEDED"
    assert (build.base_image, build.source_uri) == ("python:3.12-slim", started.source_uri)
    assert build.image_digest and build.log_url
