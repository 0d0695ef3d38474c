"""What local mode keeps across a stop and a start, piece by piece: the emulator's services (saved, moto emptied,
loaded again), local SageMaker's record (a second instance on the same folder describes the same jobs), and what a
stop or a killed run leaves for the next start to end."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pickle
import time
from pathlib import Path
from typing import Any

import boto3
from moto.core.base_backend import BackendDict
from sqlalchemy import text
from sqlalchemy.orm import Session

from local_mode.state_check import check_saved_state
from tests.integration.test_local_runner import TRAIN, local_sagemaker, request, wait_until
from tests.training_code import upload_code
from trainforge.connection import NativeDatabase
from trainforge.local.aws import state as emulator_state
from trainforge.local.aws.emulator import LocalAws
from trainforge.local.sagemaker.lifecycle import (
    ENDED_WITH_LOCAL_MODE,
    LOST_BY_LOCAL_MODE,
    STOPPED_WITH_LOCAL_MODE,
)
from trainforge.local.sagemaker.runner import LocalSageMaker
from trainforge.settings import Settings

SLEEPS = TRAIN.replace('for epoch in range(int(hps["epochs"])):', "for epoch in range(10**6):")


def test_the_emulators_services_are_loaded_as_they_were_saved(aws: LocalAws, tmp_path: Path) -> None:
    s3, sqs, logs = (boto3.client(name, region_name="us-east-1") for name in ("s3", "sqs", "logs"))
    events, ecr = (
        boto3.client("events", region_name="us-east-1"),
        boto3.client("ecr", region_name="us-east-1"),
    )
    s3.create_bucket(Bucket="kept-bucket")
    s3.put_object(Bucket="kept-bucket", Key="in/a file ü.json", Body=b'{"rows": 3}')
    queue = sqs.create_queue(QueueName="kept-queue")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="waiting")
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="kept-rule", EventPattern=json.dumps({"source": ["kept"]}))
    events.put_targets(Rule="kept-rule", Targets=[{"Id": "queue", "Arn": arn}])
    logs.create_log_group(logGroupName="kept-group")
    logs.create_log_stream(logGroupName="kept-group", logStreamName="job/algo-1")
    logs.put_log_events(logGroupName="kept-group", logStreamName="job/algo-1",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "epoch=1"}])  # fmt: skip
    ecr.create_repository(repositoryName="kept-repo")
    saved = emulator_state.save_services(tmp_path)
    assert {"s3", "sqs", "events", "logs", "ecr"} <= set(saved)

    BackendDict.reset()  # as a new process finds moto: empty
    assert "kept-bucket" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    loaded, problems = emulator_state.load_services(tmp_path)
    assert problems == [] and set(saved) <= set(loaded)

    assert s3.get_object(Bucket="kept-bucket", Key="in/a file ü.json")["Body"].read() == b'{"rows": 3}'
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):  # as provisioning does at every start
        s3.create_bucket(Bucket="kept-bucket")
    assert (
        s3.list_objects_v2(Bucket="kept-bucket")["KeyCount"] == 1
    )  # the bucket's owner was kept: not replaced
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=queue)["Messages"]] == ["waiting"]
    events.put_events(
        Entries=[{"Source": "kept", "DetailType": "kept", "Detail": "{}"}]
    )  # rule and target kept
    assert (
        json.loads(sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]["Body"])["source"]
        == "kept"
    )
    lines = logs.get_log_events(logGroupName="kept-group", logStreamName="job/algo-1")["events"]
    assert [e["message"] for e in lines] == ["epoch=1"]
    assert ecr.describe_repositories()["repositories"][0]["repositoryName"] == "kept-repo"


def test_a_file_saved_by_another_moto_is_named_not_loaded(aws: LocalAws, tmp_path: Path) -> None:
    (tmp_path / f"s3{emulator_state.SUFFIX}").write_bytes(
        pickle.dumps({"format": emulator_state.FORMAT, "moto": "0.0.1", "service": "s3", "state": {}})
    )
    (tmp_path / f"sqs{emulator_state.SUFFIX}").write_bytes(b"not a pickle")
    loaded, problems = emulator_state.load_services(tmp_path)
    assert loaded == []
    assert any("s3.state: saved by moto 0.0.1" in p for p in problems)
    assert any(p.startswith("sqs.state: unreadable") for p in problems)


def test_a_second_local_sagemaker_on_the_same_folder_describes_the_same_jobs(
    aws_resources: Settings, tmp_path: Path
) -> None:
    first, _ = local_sagemaker(aws_resources, tmp_path)
    first.create_training_job(**request("kept-job"))
    before = wait_until(first, "kept-job", ("Completed", "Failed"))
    assert before["TrainingJobStatus"] == "Completed", before.get("FailureReason")
    first.wait()
    first.register_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/trainforge-training:kept", tmp_path)
    second = LocalSageMaker(dataclasses.replace(aws_resources, local_work_dir=str(tmp_path)))
    assert second.describe_training_job(TrainingJobName="kept-job") == first.describe_training_job(
        TrainingJobName="kept-job"
    )
    assert second.can_run("123456789012.dkr.ecr.us-east-1.amazonaws.com/trainforge-training:kept")


def test_shutdown_stops_running_jobs_saying_why_and_their_processes_go(
    aws_resources: Settings, tmp_path: Path
) -> None:
    runner, events = local_sagemaker(aws_resources, tmp_path)
    upload_code("sourcedir", SLEEPS)  # trains until stopped
    runner.create_training_job(**request("stopped-with-it", SLEEP="0.05"))
    deadline = time.monotonic() + 30
    while not runner.processes.folder.is_dir() or not list(runner.processes.folder.glob("*.json")):
        assert time.monotonic() < deadline, "the job never started its process"
        time.sleep(0.05)
    (entry,) = runner.processes.folder.glob("*.json")
    pid = json.loads(entry.read_text())["pid"]
    runner.shutdown()
    described = runner.describe_training_job(TrainingJobName="stopped-with-it")
    assert described["TrainingJobStatus"] == "Stopped"
    messages = [t["StatusMessage"] for t in described["SecondaryStatusTransitions"]]
    assert messages[-2:] == [STOPPED_WITH_LOCAL_MODE, STOPPED_WITH_LOCAL_MODE]
    assert events[-1]["detail"]["TrainingJobStatus"] == "Stopped"
    assert not Path(f"/proc/{pid}").exists() and list(runner.processes.folder.glob("*.json")) == []


def saved_job(tmp_path: Path, name: str, **changes: Any) -> None:
    folder = tmp_path / "sagemaker" / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    now = "2026-12-03T08:00:00+00:00"
    document = {"request": {"TrainingJobName": name}, "arn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
                "created": now, "modified": now, "started": now, "ended": None, "status": "InProgress",
                "secondary": "Training", "transitions": [], **changes}  # fmt: skip
    (folder / f"{name}.json").write_text(json.dumps(document))


def test_a_start_after_a_killed_run_ends_what_it_left_running(
    aws_resources: Settings, tmp_path: Path
) -> None:
    saved_job(tmp_path, "was-training")
    saved_job(tmp_path, "was-stopping", status="Stopping", secondary="Stopping")
    saved_job(tmp_path, "kept-its-pool", status="Completed", secondary="Completed", ended="2026-12-03T08:01:00+00:00",
              warm_pool={"Status": "Available", "ResourceRetainedBillableTimeInSeconds": 0})  # fmt: skip
    saved_job(
        tmp_path, "long-done", status="Completed", secondary="Completed", ended="2026-12-03T08:01:00+00:00"
    )
    events: list[dict[str, Any]] = []
    runner = LocalSageMaker(
        dataclasses.replace(aws_resources, local_work_dir=str(tmp_path)), emit=events.append
    )
    done = runner.recover()
    assert sorted(e["detail"]["TrainingJobName"] for e in events) == [
        "kept-its-pool",
        "was-stopping",
        "was-training",
    ]
    failed = runner.describe_training_job(TrainingJobName="was-training")
    assert (failed["TrainingJobStatus"], failed["FailureReason"]) == ("Failed", ENDED_WITH_LOCAL_MODE)
    assert runner.describe_training_job(TrainingJobName="was-stopping")["TrainingJobStatus"] == "Stopped"
    assert (
        runner.describe_training_job(TrainingJobName="kept-its-pool")["WarmPoolStatus"]["Status"]
        == "Terminated"
    )
    assert len(done) == 3 and runner.recover() == []  # once


def test_the_saved_state_is_held_against_the_database(
    aws_resources: Settings, tmp_path: Path, db: Session, database: NativeDatabase
) -> None:
    db.execute(text(
        "INSERT INTO training_jobs (job_name, environment, status, status_rank, sagemaker_arn, started_at) VALUES "
        "('lost-running', 'local', 'InProgress', 1, 'arn:aws:sagemaker:us-east-1:123456789012:training-job/lost-running', now()),"
        "('done-without-logs', 'local', 'Completed', 3, NULL, now())"
    ))  # fmt: skip
    db.execute(text(
        "INSERT INTO training_reports (job_id, model_artifacts_uri) SELECT id, 's3://trainforge-artifacts/output/gone/model.tar.gz' "
        "FROM training_jobs WHERE job_name = 'done-without-logs'"
    ))  # fmt: skip
    db.execute(text(
        "INSERT INTO container_builds (build_id, project_name, status, status_rank, image_uri) VALUES "
        "('b-1', 'trainforge-image-builder', 'SUCCEEDED', 3, '123456789012.dkr.ecr.us-east-1.amazonaws.com/trainforge-training:gone')"
    ))  # fmt: skip
    db.commit()
    events: list[dict[str, Any]] = []
    runner = LocalSageMaker(
        dataclasses.replace(aws_resources, local_work_dir=str(tmp_path)), emit=events.append
    )
    found = check_saved_state(
        database,
        runner,
        boto3.client("s3", region_name="us-east-1"),
        boto3.client("logs", region_name="us-east-1"),
    )
    assert found.ended == ["lost-running"]
    assert events[0]["detail"]["TrainingJobStatus"] == "Failed"
    assert events[0]["detail"]["FailureReason"] == LOST_BY_LOCAL_MODE
    assert found.images == ["123456789012.dkr.ecr.us-east-1.amazonaws.com/trainforge-training:gone"]
    assert found.artifacts == ["done-without-logs"]
    assert sorted(found.logs) == ["done-without-logs", "lost-running"]
    lines = found.lines()
    assert len(lines) == 4 and lines[0].startswith("1 running in the database but unknown to local SageMaker")
