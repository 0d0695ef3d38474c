"""A SageMaker event's arrival to its team's webhook request, against one event delivery measured in the same run.

Real parts, as local mode runs them: moto's server (EventBridge rules to SQS queues, Secrets Manager), PostgreSQL,
the training_state and notifications handlers imported as Lambda imports them, local mode's router polling each
queue as an event source mapping does, and a webhook receiver over HTTP that checks each signature.

For each of N jobs (recorded Pending for a team whose webhook is the receiver), one "SageMaker Training Job State
Change" (Failed, as AWS sends it) is put on the bus, one at a time:

- **one event delivery** (the baseline): the put → the training_state function invoked with it (EventBridge →
  SQS → the function);
- **arrival → webhook** (measured): the function invoked → the webhook's request received. It holds applying the
  change, the outbox's relay (PutEvents right after the commit), the Trainforge event's own delivery to the
  notifications function, and the signed POST.

Target: the notice costs no more than the event delivery it needs (ratio <= 2.0: its own delivery and, within
the same time again, the handling before and after it).
"""

from __future__ import annotations

import importlib
import json
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from types import SimpleNamespace
from typing import Any

from sqlalchemy import create_engine

from bench.common import ROOT, Row, row
from local_mode.router import LocalRouter
from local_mode.webhook_receiver import WebhookReceiver
from trainforge.aws import client
from trainforge.connection import ConnectionParameters, NativeDatabase
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.jobs.records import accept_job_request
from trainforge.local.aws.emulator import LocalAws, environment
from trainforge.local.aws.resources import provision
from trainforge.local.postgres import scratch_database
from trainforge.schema import upgrade_to_head
from trainforge.settings import Settings
from trainforge.teams.management import save_team

SECRET_NAME = "trainforge/webhooks/bench"
SECRET = "bench-secret"
FAILED_EVENT = json.loads((ROOT / "tests" / "events" / "sagemaker_training_failed.json").read_text())
# Every function the router routes to (it provisions each route); only two of them are on the measured path.
HANDLERS = ("submissions", "training_state", "build_state", "notifications", "reconcile")


def notice_latency(server_url: str, jobs: int = 30) -> list[Row]:
    aws = LocalAws().start()
    try:
        with scratch_database(server_url, "trainforge_bench_notices") as url:
            values = {
                **aws.environ(), "DATABASE_URL": url, "TRAINFORGE_MODE": "local",
                "TRAINFORGE_TRAINING_ENVIRONMENT": "sagemaker", "TRAINFORGE_SAGEMAKER_CREATE_RATE": "50",
                "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_NAMESPACE": "Trainforge",
            }  # fmt: skip
            with environment(values):
                engine = create_engine(url)
                upgrade_to_head(engine)
                engine.dispose()
                settings = Settings.from_env()
                provision(settings)
                return _run(settings, url, jobs)
    finally:
        aws.stop()


def _run(settings: Settings, url: str, jobs: int) -> list[Row]:
    for name in HANDLERS:  # a cold start each: the modules read this run's settings at import
        sys.modules.pop(f"lambdas.{name}.handler", None)
    modules = {name: importlib.import_module(f"lambdas.{name}.handler") for name in HANDLERS}
    arrived: dict[str, float] = {}
    state = modules["training_state"]

    def timed(event: dict[str, Any], context: Any) -> Any:
        now = time.perf_counter()
        for record in event.get("Records", []):
            name = json.loads(record["body"]).get("detail", {}).get("TrainingJobName")
            arrived.setdefault(str(name), now)
        return state.handler(event, context)

    handlers = {**modules, "training_state": SimpleNamespace(handler=timed)}
    router = LocalRouter(settings, handlers)  # type: ignore[arg-type]
    router.provision()
    client("secretsmanager", settings.region).create_secret(Name=SECRET_NAME, SecretString=SECRET)
    received: dict[str, float] = {}
    notices: Counter[str] = Counter()  # per job: "each notice once" is counted, not assumed
    got = threading.Condition()

    def on_notice(event: dict[str, Any]) -> None:
        with got:
            name = str(event["detail"].get("job_name"))
            received.setdefault(name, time.perf_counter())
            notices[name] += 1
            got.notify_all()

    db = NativeDatabase(lambda: ConnectionParameters.from_url(url))
    put_at: dict[str, float] = {}
    with WebhookReceiver(SECRET, on_notice=on_notice) as receiver:
        team, _ = save_team(db, "bench", {
            "members": ["arn:aws:iam::123456789012:role/bench"], "notifications": [
                {"kind": "webhook", "target": receiver.url, "secret_name": SECRET_NAME, "statuses": ["Failed"]}],
        })  # fmt: skip
        names = [f"bench-notice-{n}-{uuid.uuid4().hex[:6]}" for n in range(jobs)]
        for name in names:
            config = TrainingConfig(job_name=name, instance_type="ml.m5.large", max_runtime_seconds=600,
                                    image_uri=f"{settings.ecr_repository_uri}:bench")  # fmt: skip
            accept_job_request(db, settings, config, "s3://trainforge-datasets/datasets/bench/", team=team)
        router.start()
        events = client("events", settings.region)
        for name in names:
            detail = {**FAILED_EVENT["detail"], "TrainingJobName": name,
                      "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"}  # fmt: skip
            put_at[name] = time.perf_counter()
            events.put_events(Entries=[{"Source": "aws.sagemaker", "DetailType": FAILED_EVENT["detail-type"],
                                        "Detail": json.dumps(detail), "Resources": [detail["TrainingJobArn"]]}])  # fmt: skip
            with got:
                got.wait_for(lambda n=name: n in received, timeout=30)  # type: ignore[misc]
        refused = receiver.refused
    router.stop()
    db.close()
    for module in modules.values():
        module.RUNTIME.close()
    done = [n for n in names if n in received and n in arrived]
    delivery = [arrived[n] - put_at[n] for n in done]
    notice = [received[n] - arrived[n] for n in done]
    twice = sum(count > 1 for count in notices.values())
    if len(done) < len(names) or refused or twice:
        return [row("notices: arrival → webhook", float("inf"), 1.0, "s", "<=", 2.0,
                    f"{len(names) - len(done)} of {len(names)} notices missing, {twice} sent twice, "
                    f"{refused} refused")]  # fmt: skip
    p95 = statistics.quantiles(notice, n=20)[-1] if len(notice) >= 20 else max(notice)
    return [
        row(
            "notices: arrival → webhook ÷ one event delivery (median)",
            statistics.median(notice) * 1000,
            statistics.median(delivery) * 1000,
            "ms",
            "<=",
            2.0,
            f"{len(done)} jobs, each notice once; p95 arrival → webhook {p95 * 1000:.0f} ms, "
            f"deliveries {min(delivery) * 1000:.0f}-{max(delivery) * 1000:.0f} ms",
        )
    ]


if __name__ == "__main__":  # python -m bench.notices
    import os

    from trainforge.local.postgres import postgres_server

    with postgres_server(os.environ.get("DATABASE_URL")) as server:
        for result in notice_latency(server, 10):
            print(result)
