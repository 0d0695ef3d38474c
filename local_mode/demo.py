"""The demo: a dataset dropped through upload_training_data starts a job through the S3 event path; the job is
followed through the API to its end; then a second job is submitted through POST /jobs, cancelled, and seen
Stopped; then two jobs share a pool of one instance, and the second waits for capacity and trains when the first
ends; then two teams: one is refused over its budget, the other cannot see its job and hears of its end through a
webhook the demo receives; then a tuning job of six trials, two at a time, names its best. Exit code 0 only when
all of that happened."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from local_mode.environment import LocalMode, LocalModeError
from local_mode.housekeeping import fresh_database, fresh_folder
from local_mode.webhook_receiver import WebhookReceiver, headline
from trainforge.aws import client
from trainforge.cli.charts import terminal_charts
from trainforge.cli.output import dollars
from trainforge.local.sagemaker.runner import local_sagemaker
from trainforge.services.sagemaker_training_service import SageMakerTrainingService

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "churn"
TERMINAL = ("Completed", "Failed", "Stopped", "Rejected")
# The demo's capacity scene: a pool of one instance, which local SageMaker enforces as an account's quota would.
CAPACITY_TYPE = "ml.m5.xlarge"
os.environ.setdefault("TRAINFORGE_LOCAL_INSTANCE_QUOTAS", f"{CAPACITY_TYPE}=1")
DEMO_DATABASE = "trainforge_demo"


class DemoFailed(Exception):
    pass


def say(*parts: object) -> None:
    # After SIGHUP the terminal may be gone: writing to it must not stop the stop that follows.
    with contextlib.suppress(OSError, ValueError):
        print(*parts, flush=True)


def call(
    api: str, method: str, path: str, body: Any = None, *, principal: str | None = None
) -> tuple[int, Any]:
    """A request to the local API; ``principal``: as that IAM principal (the header only local mode honours),
    otherwise as the local developer, an administrator."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {
        "Content-Type": "application/json",
        **({"X-Trainforge-Principal": principal} if principal else {}),
    }
    request = urllib.request.Request(f"{api}{path}", data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def build_image(api: str) -> str:
    """The training image through POST /builds: CodeBuild's path (locally: validated and recorded, no Docker)."""
    code = EXAMPLE / "code"
    files = {p.name: p.read_text() for p in sorted(code.glob("*.py"))}
    status, build = call(
        api, "POST", "/builds", {"base_image": "python:3.12-slim", "tag": "churn", "files": files}
    )
    if status != 202:
        raise DemoFailed(f"POST /builds answered {status}: {build}")
    deadline = time.monotonic() + 30
    while build["status"] != "SUCCEEDED" and time.monotonic() < deadline:
        time.sleep(0.2)
        _, build = call(api, "GET", f"/builds/{build['id']}")
    if build["status"] != "SUCCEEDED":
        raise DemoFailed(f"the image build ended {build['status']}: {build.get('failure_reason')}")
    return f"{build['image_uri']} ({build['image_digest']})"


def follow(api: str, job_id: int, timeout: float) -> dict[str, Any]:
    """Print each status change as it arrives; return the job when it ends."""
    deadline = time.monotonic() + timeout
    seen: tuple[str, str | None] | None = None
    while time.monotonic() < deadline:
        status, job = call(api, "GET", f"/jobs/{job_id}")
        if status != 200:
            raise DemoFailed(f"GET /jobs/{job_id} answered {status}: {job}")
        current = (job["status"], job["secondary_status"])
        if current != seen:
            say(f"  {job['job_name']}: {current[0]}" + (f" / {current[1]}" if current[1] else ""))
            seen = current
        if job["status"] in TERMINAL:
            return dict(job)
        time.sleep(0.2)
    raise DemoFailed(f"job {job_id} did not finish within {timeout:.0f}s")


def job_ids(api: str) -> set[int]:
    _, page = call(api, "GET", "/jobs?limit=200")
    return {job["id"] for job in page["jobs"]}


def wait_for_dataset_job(api: str, dataset_uri: str, known: set[int], timeout: float) -> dict[str, Any]:
    """The job the dataset's manifest started; a refusal is a failure that says why."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, page = call(api, "GET", "/jobs?limit=20")
        for job in page["jobs"]:
            if job["id"] in known:
                continue
            if job["input_uri"] == dataset_uri or (job["status"] == "Rejected" and job["input_uri"] is None):
                if job["status"] == "Rejected":
                    raise DemoFailed(
                        f"the dataset's job {job['job_name']} was Rejected: {job['failure_reason']}"
                    )
                return dict(job)
        time.sleep(0.2)
    raise DemoFailed(
        f"the manifest's arrival started no job within {timeout:.0f} s (S3 → EventBridge → queue → "
        "submissions): the dead-letter queue and the handler's log say why"
    )


def run(mode: LocalMode, *, epochs: int | None = None) -> None:
    settings = mode.settings
    api = mode.api.url if mode.api else ""
    assert settings is not None
    say(f"\n1. training image through POST /builds → {build_image(api)}")
    say("2. dataset → S3 (validated, files first, manifest last)")
    service = SageMakerTrainingService(settings)
    dataset = EXAMPLE / "dataset"
    uploaded: dict[str, int] = {}
    known = job_ids(api)

    def progress(path: str, sent: int) -> None:
        uploaded[path] = uploaded.get(path, 0) + sent
        say(f"   {path}: {uploaded[path]:,} bytes")

    # One dataset folder per run: the same folder and files again would (rightly) be "already trained", and the
    # embedded PostgreSQL keeps its jobs between runs.
    run = time.strftime("%Y%m%d-%H%M%S")
    dataset_uri = service.upload_training_data(
        str(dataset), str(dataset / "metadata.csv"), settings.datasets_bucket, f"{settings.dataset_prefix}churn-demo-{run}",
        progress=progress,
    )  # fmt: skip
    say(f"   {dataset_uri}")
    say("3. the manifest's arrival starts a job; following it through the API")
    job = wait_for_dataset_job(api, dataset_uri, known, timeout=60)
    finished = follow(api, job["id"], timeout=120)
    if finished["status"] != "Completed":
        raise DemoFailed(f"the training job ended {finished['status']}: {finished['failure_reason']}")
    report = finished["report"] or {}
    say(f"\n   job {finished['id']} {finished['job_name']}: {finished['status']}")
    for entry in finished["history"]:
        say(f"     {entry['at']}  {entry['status']:<10} {entry['secondary_status'] or ''}")
    status, logs = call(api, "GET", f"/jobs/{finished['id']}/logs?limit=1000")
    lines = logs["events"] if status == 200 else []
    if not lines:
        raise DemoFailed(f"the job's log lines were not readable through the API: {status} {logs}")
    say(f"   its log ({len(lines)} lines, from CloudWatch Logs as SageMaker writes them), first and last:")
    for event in [*lines[:3], *lines[-2:]]:
        say(f"     {event['timestamp'][11:19]}  {event['instance']}  {event['message']}")
    status, curves = call(api, "GET", f"/jobs/{finished['id']}/metrics")
    points = (curves.get("series") or {}).get("train:loss") if status == 200 else None
    loss = (curves.get("steps") or {}).get("train:loss") if status == 200 else None
    if not points or not loss:
        raise DemoFailed(f"the job's loss curve was not readable through the API: {status} {curves}")
    say(
        f"   its loss curve ({len(loss)} steps as the job printed them; CloudWatch holds {len(points)} points of "
        f"{curves['period_seconds']} s):"
    )
    for line in terminal_charts({"train:loss": loss}, width=64, height=12).splitlines():
        say(f"     {line}")
    say(f"   metrics: {json.dumps(report.get('final_metrics'))}")
    say(f"   model:   {report.get('model_artifacts_uri')}")
    say(
        f"   billable seconds: {report.get('billable_seconds')}, estimated cost: {dollars(report.get('estimated_cost_usd'), billed_seconds=report.get('billable_seconds'))}"
    )
    accuracy = (report.get("final_metrics") or {}).get("validation:accuracy")
    if accuracy is None or accuracy < 0.7 or not report.get("model_artifacts_uri"):
        raise DemoFailed(f"the report lacks what training should produce: {report}")
    bucket, _, key = report["model_artifacts_uri"].removeprefix("s3://").partition("/")
    with tarfile.open(
        fileobj=io.BytesIO(client("s3", settings.region).get_object(Bucket=bucket, Key=key)["Body"].read())
    ) as tar:
        model = json.load(tar.extractfile("model.json"))  # type: ignore[arg-type]
    say(f"   model.tar.gz holds weights for {', '.join(model['features'])}")
    output_key = key.replace("model.tar.gz", "output.tar.gz")
    with tarfile.open(
        fileobj=io.BytesIO(
            client("s3", settings.region).get_object(Bucket=bucket, Key=output_key)["Body"].read()
        )
    ) as tar:
        evaluation = json.load(tar.extractfile("evaluation.json"))  # type: ignore[arg-type]
    say(f"   output.tar.gz holds its evaluation: {json.dumps(evaluation)}")
    channels = local_sagemaker(settings).describe_training_job(TrainingJobName=finished["job_name"])[
        "InputDataConfig"
    ]
    for channel in channels:
        source = channel["DataSource"]["S3DataSource"]
        m_bucket, _, m_key = source["S3Uri"].removeprefix("s3://").partition("/")
        listing = json.loads(
            client("s3", settings.region).get_object(Bucket=m_bucket, Key=m_key)["Body"].read()
        )
        say(
            f"   channel {channel['ChannelName']}: {source['S3DataType']} of exactly {listing[1:]} under {listing[0]['prefix']}"
        )
    if sorted(c["ChannelName"] for c in channels) != ["train", "validation"]:
        raise DemoFailed(f"the job should read a train and a validation channel, not {channels}")
    for note in finished.get("notes") or []:
        say(f"   note: {note}")

    say("\n4. a second job through POST /jobs, then cancelled")
    spec = json.loads((dataset / "trainforge.json").read_text())
    spec["hyperparameters"].update({"epochs": epochs or 100000, "sleep_per_epoch": 0.05})
    status, second = call(
        api,
        "POST",
        "/jobs",
        {"job_name": f"churn-cancel-{int(time.time())}", "dataset_uri": dataset_uri, **spec},
    )
    if status != 202:
        raise DemoFailed(f"POST /jobs answered {status}: {second}")
    say(f"   POST /jobs → {status} {second['job_name']} ({second['status']})")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        _, current = call(api, "GET", f"/jobs/{second['id']}")
        if current["secondary_status"] == "Training":
            break
        time.sleep(0.2)
    else:
        raise DemoFailed("the second job never started training")
    status, cancelled = call(api, "POST", f"/jobs/{second['id']}/cancel")
    say(f"   POST /jobs/{second['id']}/cancel → {status} cancelled={cancelled.get('cancelled')}")
    stopped = follow(api, second["id"], timeout=60)
    if not cancelled.get("cancelled") or stopped["status"] != "Stopped":
        raise DemoFailed(f"the cancelled job ended {stopped['status']}")
    capacity_scene(api, dataset_uri, spec)
    teams_scene(api, spec, settings.region)
    tuning_scene(api, dataset_uri, spec)
    say(
        "\nDemo complete: dataset → job → report, a cancelled job Stopped, a job that waited for capacity "
        "and then trained, a team refused over its budget and a team that cannot see another's jobs but hears of "
        "its own job's end through its webhook, and a tuning job whose six trials ran two at a time and named the "
        "best."
    )


def capacity_scene(api: str, dataset_uri: str, spec: dict[str, Any]) -> None:
    """Two jobs for a pool of one instance: the second waits, with its reason, and trains when the first ends."""
    say(
        f"\n5. two jobs for {CAPACITY_TYPE}, whose quota here is 1 instance (TRAINFORGE_LOCAL_INSTANCE_QUOTAS)"
    )
    stamp = int(time.time())
    jobs = []
    for n in (1, 2):
        body = {
            **spec,
            "job_name": f"churn-capacity-{n}-{stamp}",
            "dataset_uri": dataset_uri,
            "instance_type": CAPACITY_TYPE,
            "max_runtime_seconds": 600,
            "hyperparameters": {**spec["hyperparameters"], "epochs": 20, "sleep_per_epoch": 0.1},
        }
        status, job = call(api, "POST", "/jobs", body)
        if status != 202:
            raise DemoFailed(f"POST /jobs answered {status}: {job}")
        say(f"   POST /jobs → {status} {job['job_name']}, cost ceiling {dollars(job['cost_ceiling_usd'])} "
            f"({job['price']['source'] if job.get('price') else 'unpriced'})")  # fmt: skip
        jobs.append(job)
    deadline = time.monotonic() + 30
    second: dict[str, Any] = {}
    while time.monotonic() < deadline:
        _, second = call(api, "GET", f"/jobs/{jobs[1]['id']}")
        if second["status"] == "WaitingForCapacity":
            break
        time.sleep(0.2)
    else:
        raise DemoFailed(f"the second job should wait for capacity, it is {second.get('status')}")
    reason = next(h["detail"] for h in second["history"] if h["status"] == "WaitingForCapacity")
    say(f"   {second['job_name']}: WaitingForCapacity, position {second['queue']['position']}: {reason}")
    first = follow(api, jobs[0]["id"], timeout=120)
    finished = follow(api, jobs[1]["id"], timeout=120)
    if first["status"] != "Completed" or finished["status"] != "Completed":
        raise DemoFailed(f"the capacity jobs ended {first['status']} and {finished['status']}")
    say(f"   {finished['job_name']}'s history:")
    for entry in finished["history"]:
        say(f"     {entry['at']}  {entry['status']:<18} {entry['secondary_status'] or ''}")
    admitted = next(h["at"] for h in finished["history"] if h["secondary_status"] == "Admitted")
    say(f"   {first['job_name']} ended {first['ended_at']}; the waiting job was admitted {admitted}")


VISION = "arn:aws:sts::123456789012:assumed-role/vision-engineers/alice"
WEBHOOK_SECRET_NAME = "trainforge/webhooks/vision"  # noqa: S105 - a name, not a secret
WEBHOOK_SECRET = "demo-secret"  # noqa: S105 - the demo's own receiver, on this machine only
FORECAST = "arn:aws:sts::123456789012:assumed-role/forecasting-engineers/bob"


def teams_scene(api: str, spec: dict[str, Any], region: str) -> None:
    """Two teams: one refused over its budget (with the figures), one unable to see the other's job; vision hears
    of its job's end through a webhook the demo receives."""
    with WebhookReceiver(WEBHOOK_SECRET) as receiver:
        _teams_scene(api, spec, region, receiver)


def _teams_scene(api: str, spec: dict[str, Any], region: str, receiver: WebhookReceiver) -> None:
    say("\n6. teams: vision ($5 a month) and forecasting ($0.10 a month), defined by the administrator")
    secrets = client("secretsmanager", region)
    with contextlib.suppress(secrets.exceptions.ResourceExistsException):
        secrets.create_secret(Name=WEBHOOK_SECRET_NAME, SecretString=WEBHOOK_SECRET)
    webhook = {"kind": "webhook", "target": receiver.url, "secret_name": WEBHOOK_SECRET_NAME,
               "statuses": ["Completed", "Failed", "Stopped"]}  # fmt: skip
    for name, role, budget in (
        ("vision", "vision-engineers", 5),
        ("forecasting", "forecasting-engineers", 0.1),
    ):
        body = {"members": [f"arn:aws:iam::123456789012:role/{role}"], "monthly_budget_usd": budget,
                "notifications": [webhook] if name == "vision" else []}  # fmt: skip
        status, team = call(api, "PUT", f"/teams/{name}", body)
        if status not in (200, 201):
            raise DemoFailed(f"PUT /teams/{name} answered {status}: {team}")
        say(
            f"   PUT /teams/{name} → {status}: members {team['members']}, datasets under {team['dataset_prefix']}"
        )
    stamp = int(time.time())
    job = {**spec, "instance_type": "ml.m5.xlarge", "max_runtime_seconds": 3600}
    over = {
        **job,
        "job_name": f"forecast-{stamp}",
        "dataset_uri": "s3://trainforge-datasets/datasets/forecasting/x/",
    }
    status, refused = call(api, "POST", "/jobs", over, principal=FORECAST)
    if status != 422 or refused["error"]["code"] != "budget_exceeded":
        raise DemoFailed(f"forecasting's job should be refused over its budget, got {status}: {refused}")
    say(f"   as {FORECAST}: POST /jobs → 422 budget_exceeded: {refused['error']['message']}")
    mine = {
        **job,
        "job_name": f"vision-{stamp}",
        "dataset_uri": "s3://trainforge-datasets/datasets/vision/x/",
    }
    status, created = call(api, "POST", "/jobs", mine, principal=VISION)
    if status != 202 or created["team"] != "vision":
        raise DemoFailed(f"vision's job should be accepted for vision, got {status}: {created}")
    say(f"   as {VISION}: POST /jobs → 202 job {created['id']} for team {created['team']}")
    status, hidden = call(api, "GET", f"/jobs/{created['id']}", principal=FORECAST)
    _, listed = call(api, "GET", "/jobs", principal=FORECAST)
    if status != 404 or any(j["id"] == created["id"] for j in listed["jobs"]):
        raise DemoFailed(f"forecasting should not see vision's job, got {status}")
    say(f"   as {FORECAST}: GET /jobs/{created['id']} → 404 ({hidden['error']['message']}); GET /jobs lists "
        f"{len(listed['jobs'])} job(s)")  # fmt: skip
    status, _ = call(api, "POST", f"/jobs/{created['id']}/cancel", principal=VISION)
    say(f"   as {VISION}: POST /jobs/{created['id']}/cancel → {status} (its own team's job)")
    notice = receiver.wait_for(
        lambda e: e["detail"].get("job_id") == created["id"] and e["detail"].get("new_status") == "Stopped",
        30,
    )
    if notice is None:
        raise DemoFailed(f"vision's webhook heard nothing of its stopped job; it got {receiver.received}")
    say(f"   vision's webhook at {receiver.url} got, signature checked: {headline(notice)}")
    for line in json.dumps(notice["detail"], indent=2, sort_keys=True).splitlines():
        say(f"     {line}")


def tuning_scene(api: str, dataset_uri: str, spec: dict[str, Any]) -> None:
    """A grid of six learning rates, two trials at a time, each a real local training job; the best is named."""
    rates = ["0.01", "0.03", "0.1", "0.3", "1.0", "3.0"]
    say(
        f"\n7. a tuning job: Grid over learning_rate {rates}, 2 trials at a time, maximizing validation:accuracy"
    )
    body = {
        "tuning_job_name": f"churn-tune-{int(time.time()) % 1000000}",
        "dataset_uri": dataset_uri,
        "image_uri": spec["image_uri"],
        "objective_metric": "validation:accuracy",
        "strategy": "Grid",
        "max_parallel_jobs": 2,
        "parameter_ranges": [{"name": "learning_rate", "kind": "categorical", "values": rates}],
        "training": {
            "instance_type": spec["instance_type"],
            "max_runtime_seconds": 600,
            "hyperparameters": {"epochs": 40, "sleep_per_epoch": 0.005},
            "metric_definitions": spec["metric_definitions"],
        },
    }
    status, tuning = call(api, "POST", "/tuning-jobs", body)
    if status != 202:
        raise DemoFailed(f"POST /tuning-jobs answered {status}: {tuning}")
    say(
        f"   POST /tuning-jobs → {status} {tuning['tuning_job_name']} ({tuning['status']}, {tuning['max_jobs']} trials)"
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        _, tuning = call(api, "GET", f"/tuning-jobs/{tuning['id']}")
        if tuning["status"] in TERMINAL:
            break
        time.sleep(0.3)
    trials = tuning.get("trials", [])
    if tuning["status"] != "Completed" or len(trials) != 6 or not tuning.get("best_training_job"):
        raise DemoFailed(f"the tuning job ended {tuning['status']} with {len(trials)} trials: {tuning}")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(tuning["training_counts"].items()) if v)
    say(f"   {tuning['tuning_job_name']}: {tuning['status']}, trials: {counts}")
    for trial in trials:
        say(f"     {trial['job_name']:<32} learning_rate={trial['hyperparameters'].get('learning_rate'):<5} "
            f"validation:accuracy={trial['objective_value']}")  # fmt: skip
    say(f"   best: {tuning['best_training_job']} (validation:accuracy = {tuning['best_objective_value']})")


def main(work_dir: Path, *, epochs: int | None = None) -> int:
    """The demo in a state of its own, new each time: its folder emptied and, with ``DATABASE_URL`` set, a
    database of its own on that server."""
    try:
        fresh_folder(work_dir, say)
        say(
            f"The demo runs in a state of its own, new each time: {work_dir} (`make local`'s state is untouched)"
        )
        server = os.environ.get("DATABASE_URL")
        database = fresh_database(server, DEMO_DATABASE) if server else None
        with LocalMode(work_dir, database_url=database, log=say) as mode:
            run(mode, epochs=epochs)
    except (DemoFailed, LocalModeError) as failure:
        say(f"\nDemo FAILED: {failure}")
        return 1
    return 0
