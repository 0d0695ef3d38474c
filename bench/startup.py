"""Start-up: a handler's import alone, and its init plus a real first event, each in a fresh process with
Lambda's environment, ÷ a bare ``import boto3`` measured in the same run."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from bench.common import ROOT, Row, row

HANDLERS = ("api", "submissions", "training_state", "build_state", "reconcile", "migrate")
IMPORT_TARGETS = {"api": 2.2, "migrate": 2.0}  # event handlers: 1.5
FIRST_EVENT_TARGETS = {"training_state": 1.8, "build_state": 1.8, "submissions": 3.0, "reconcile": 3.0,
                       "api": 2.2}  # fmt: skip

# What Lambda's Python runtime sets before init (LAMBDA_TASK_ROOT matters: the X-Ray SDK takes its Lambda path,
# a local sampler, only when it is set), plus the stack's settings.
LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "trainforge-bench",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",  # UDP to a closed local port: segments are sent, not kept
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    "_HANDLER": "handler.handler",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "TRAINFORGE_MODE": "aws",
    "DATABASE_URL": "postgresql+pg8000://bench@127.0.0.1:1/bench",  # never connected: init must not touch it
    "TRAINFORGE_DATASETS_BUCKET": "d",
    "TRAINFORGE_ARTIFACTS_BUCKET": "a",
    "TRAINFORGE_EXECUTION_ROLE_ARN": "arn:aws:iam::111122223333:role/exec",
    "TRAINFORGE_ECR_REPOSITORY_URI": "111122223333.dkr.ecr.us-east-1.amazonaws.com/training",
    "TRAINFORGE_CODEBUILD_PROJECT": "builds",
    # The principal of the API events the benchmark sends (tests/lambda_support.api_request's).
    "TRAINFORGE_ADMIN_PRINCIPALS": "arn:aws:iam::123456789012:user/ml-engineer",
    "POWERTOOLS_SERVICE_NAME": "trainforge",
    "POWERTOOLS_METRICS_NAMESPACE": "Trainforge",
}
CSV = b"x,y\n1,2\n"
TIMER = "import sys,time;t=time.perf_counter();import {module};sys.stdout.write(repr(time.perf_counter()-t))"
# Init and the first event, timed inside the fresh process; the answer goes to a file (Powertools logs to stdout).
FIRST_EVENT = """
import json, sys, time
started = time.perf_counter()
import handler
class Context:
    function_name = "trainforge-bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:trainforge-bench"
    aws_request_id = "bench"
    @staticmethod
    def get_remaining_time_in_millis():
        return 30000
import botocore.httpsession
waited = [0.0]
send = botocore.httpsession.URLLib3Session.send
def timed_send(self, request):
    sent = time.perf_counter()
    try:
        return send(self, request)
    finally:
        waited[0] += time.perf_counter() - sent
botocore.httpsession.URLLib3Session.send = timed_send
event = json.load(open(sys.argv[1]))
answer = handler.handler(event, Context())
seconds = time.perf_counter() - started
json.dump({"seconds": seconds, "answer": answer, "sqlalchemy": "sqlalchemy" in sys.modules, "aws": waited[0]},
          open(sys.argv[2], "w"))
"""


def clean_environment() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "TRAINFORGE_", "POWERTOOLS_", "DATABASE_", "_X_AMZN"))
    }


def time_import(module: str, cwd: Path) -> float:
    env = {**clean_environment(), **LAMBDA_ENV, "LAMBDA_TASK_ROOT": str(cwd)}
    result = subprocess.run([sys.executable, "-c", TIMER.format(module=module)], cwd=cwd, env=env,
                            capture_output=True, text=True, check=True)  # fmt: skip
    return float(result.stdout)


def compile_all() -> None:
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "lambdas"), str(ROOT / "layers")], check=True
    )


def import_only(runs: int) -> list[Row]:
    """Rounds of a bare ``import boto3`` and every handler's import, interleaved: a machine that slows down for a
    while slows the baseline with the handlers, not only one of them."""
    times: dict[str, list[float]] = {name: [] for name in ("boto3", *HANDLERS)}
    for _ in range(runs):
        times["boto3"].append(time_import("boto3", ROOT))
        for name in HANDLERS:
            times[name].append(time_import("handler", ROOT / "lambdas" / name))
    baseline = statistics.median(times["boto3"])
    return [
        row(f"import only: {name}", statistics.median(times[name]) * 1000, baseline * 1000, "ms", "<=",
            IMPORT_TARGETS.get(name, 1.5))
        for name in HANDLERS
    ]  # fmt: skip


def first_event(name: str, event: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    cwd = ROOT / "lambdas" / name
    with tempfile.TemporaryDirectory(prefix="trainforge-bench-") as scratch:
        event_path, answer_path = Path(scratch) / "event.json", Path(scratch) / "answer.json"
        event_path.write_text(json.dumps(event))
        subprocess.run([sys.executable, "-c", FIRST_EVENT, str(event_path), str(answer_path)], cwd=cwd,
                       env={**env, "LAMBDA_TASK_ROOT": str(cwd)}, capture_output=True, text=True, check=True)  # fmt: skip
        found: dict[str, Any] = json.loads(answer_path.read_text())
        return found


def succeeded(name: str, answer: Any) -> bool:
    if name == "api":
        return isinstance(answer, dict) and answer.get("statusCode") == 200
    if name == "reconcile":
        return isinstance(answer, dict) and answer.get("errors") == 0 and answer.get("described", 0) >= 1
    return answer == {"batchItemFailures": []}


def init_and_first_event(runs: int, server_url: str) -> list[Row]:
    """Each handler started in a fresh process against a real PostgreSQL and the AWS emulator, given the event
    it exists for; rounds interleaved with the baseline, as for imports."""
    from tests.lambda_support import api_request, sqs_batch
    from trainforge.datasets.preparation import MANIFEST_FORMAT
    from trainforge.local.aws.emulator import LocalAws, environment
    from trainforge.local.aws.resources import provision
    from trainforge.local.postgres import scratch_database
    from trainforge.settings import Settings

    events = json.loads((ROOT / "tests" / "events" / "sagemaker_training_in_progress.json").read_text())
    build = json.loads((ROOT / "tests" / "events" / "codebuild_build_in_progress.json").read_text())
    dropped = json.loads((ROOT / "tests" / "events" / "s3_object_created.json").read_text())
    aws = LocalAws().start()
    rows = []
    try:
        with environment(aws.environ()), scratch_database(server_url, "trainforge_bench_first") as url:
            import boto3
            from sqlalchemy import create_engine, text

            from trainforge.schema import upgrade_to_head

            settings = Settings.from_env({**aws.environ(), "DATABASE_URL": url})
            provision(settings)
            engine = create_engine(url)
            upgrade_to_head(engine)
            with engine.begin() as connection:  # one silent job for the reconciler to describe
                connection.execute(text(
                    "INSERT INTO training_jobs (job_name, origin, status, status_rank, updated_at) "
                    "VALUES ('bench-silent', 'trainforge', 'InProgress', 1, now() - interval '1 hour')"))  # fmt: skip
            engine.dispose()
            # The sweep reads quotas hourly and prices daily: a scheduled run is rarely the one that is due. Seeded
            # as a deployment that read them recently (moto implements neither API: its 500s would be retried with
            # backoff, measuring the emulator's gap, not the reconciler).
            from trainforge import repository
            from trainforge.connection import ConnectionParameters, NativeDatabase

            seeded = NativeDatabase(lambda: ConnectionParameters.from_url(url))
            repository.store_quotas(seeded, [{"pool": "ml.m5.xlarge", "instance_type": "ml.m5.xlarge",
                                              "spot": False, "quota": 8}])  # fmt: skip
            repository.store_prices(seeded, settings.region, [{"instance_type": "ml.m5.xlarge", "usd_per_hour": 0.23,
                                                               "sku": "bench", "effective_at": "2026-11-01T00:00:00Z"}], "bench")  # fmt: skip
            seeded.close()
            s3 = boto3.client("s3", region_name=settings.region)
            # The local server has no TLS: local mode's settings, but SageMaker (the emulator's), not the runner.
            env = {**clean_environment(), **LAMBDA_ENV, **aws.environ(), "DATABASE_URL": url,
                   "TRAINFORGE_MODE": "local", "TRAINFORGE_TRAINING_ENVIRONMENT": "sagemaker",
                   "TRAINFORGE_DATASETS_BUCKET": settings.datasets_bucket,
                   "TRAINFORGE_ARTIFACTS_BUCKET": settings.artifacts_bucket,
                   "TRAINFORGE_EXECUTION_ROLE_ARN": settings.execution_role_arn,
                   "TRAINFORGE_ECR_REPOSITORY_URI": settings.ecr_repository_uri,
                   "TRAINFORGE_CODEBUILD_PROJECT": settings.codebuild_project}  # fmt: skip

            def training_state() -> dict[str, Any]:
                event = copy.deepcopy(events)
                event["detail"]["TrainingJobName"] = f"bench-{uuid.uuid4().hex[:12]}"
                return sqs_batch(event)

            def build_state() -> dict[str, Any]:
                event = copy.deepcopy(build)
                event["detail"]["build-id"] = (
                    event["detail"]["build-id"].rsplit(":", 1)[0] + f":{uuid.uuid4()}"
                )
                return sqs_batch(event)

            def submissions() -> dict[str, Any]:
                folder = f"{settings.dataset_prefix}bench-{uuid.uuid4().hex[:8]}"
                s3.put_object(Bucket=settings.datasets_bucket, Key=f"{folder}/a.csv", Body=CSV)
                manifest = {"format": MANIFEST_FORMAT, "metadata_file": "metadata.csv",
                            "files": [{"path": "a.csv", "size": 8, "sha256": hashlib.sha256(CSV).hexdigest()}],
                            "training": {}}  # fmt: skip
                key = f"{folder}/manifest.json"
                etag = s3.put_object(
                    Bucket=settings.datasets_bucket, Key=key, Body=json.dumps(manifest).encode()
                )
                event = copy.deepcopy(dropped)
                event["detail"]["bucket"]["name"] = settings.datasets_bucket
                event["detail"]["object"].update(
                    {"key": quote_plus(key, safe="/"), "etag": etag["ETag"].strip('"')}
                )
                event["detail"]["object"].pop("version-id", None)
                return sqs_batch(event)

            makers: dict[str, Callable[[], dict[str, Any]]] = {
                "training_state": training_state,
                "build_state": build_state,
                "submissions": submissions,
                "reconcile": lambda: {
                    "version": "0",
                    "detail-type": "Scheduled Event",
                    "source": "aws.events",
                    "detail": {},
                },
                "api": lambda: api_request("GET", "/jobs"),
            }
            answered: dict[str, list[dict[str, Any]]] = {name: [] for name in makers}
            baselines = []
            for _ in range(runs):
                baselines.append(time_import("boto3", ROOT))
                for name, make in makers.items():
                    answered[name].append(first_event(name, make(), env))
            baseline = statistics.median(baselines)
            for name, answers in answered.items():
                failed = [a["answer"] for a in answers if not succeeded(name, a["answer"])]
                seconds = sorted(a["seconds"] for a in answers)[len(answers) // 2]
                problems = "; ".join(
                    ([f"{len(failed)} runs failed: {str(failed[0])[:200]}"] if failed else [])
                    + (["SQLAlchemy was loaded"] if any(a["sqlalchemy"] for a in answers) else [])
                )
                waited = statistics.median(a["aws"] for a in answers)
                note = problems or (
                    f"of which {waited * 1000:.0f} ms waiting on the AWS emulator" if waited else ""
                )
                result = row(f"init + first event: {name}", seconds * 1000, baseline * 1000, "ms", "<=",
                             FIRST_EVENT_TARGETS[name], note=note)  # fmt: skip
                result["met"] = result["met"] and not problems
                rows.append(result)
    finally:
        aws.stop()
    return rows


def startup(runs: int, server_url: str) -> list[Row]:
    compile_all()
    return import_only(runs) + init_and_first_event(max(3, runs - 2), server_url)
