"""What the console's tests look at, made through the public API of a running local mode: two teams, a build,
finished jobs with metric curves, a failed job, a job waiting for capacity behind one that holds the pool, a
tuning job's trials, and a job that keeps training (and printing) until it is stopped."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Call = Callable[..., tuple[int, Any]]

VISION_MEMBER = "arn:aws:sts::123456789012:assumed-role/vision-engineers/ada"
NLP_MEMBER = "arn:aws:sts::123456789012:assumed-role/nlp-engineers/lin"
# One image for every job: it trains for --steps steps, printing each step's loss and accuracy, or fails.
SCRIPT = """
import argparse, math, sys, time
parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=12)
parser.add_argument("--every", type=float, default=0.05)
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--fail", default="")
args, _ = parser.parse_known_args()
if args.fail:
    print("loading the dataset from /opt/ml/input/data/train", flush=True)
    print(f"ValueError: {args.fail}", file=sys.stderr, flush=True)
    sys.exit(3)
for step in range(1, args.steps + 1):
    loss = 2.0 * math.exp(-step * args.lr) + 0.05
    accuracy = 1 - loss / 2.2
    print(f"step={step} loss={loss:.4f} accuracy={accuracy:.4f}", flush=True)
    time.sleep(args.every)
print(f"final accuracy={accuracy:.4f}", flush=True)
"""
METRICS = [
    {"Name": "loss", "Regex": r"loss=([0-9.]+)"},
    {"Name": "accuracy", "Regex": r"loss=[0-9.]+ accuracy=([0-9.]+)"},  # the steps' lines, not the final one
]
DATASET = "s3://trainforge-datasets/datasets/{team}/none/"


@dataclass
class ConsoleData:
    build_id: str
    image: str
    completed: dict[str, Any]
    failed: dict[str, Any]
    holding: dict[str, Any]  # holds the one ml.m5.xlarge until it is stopped
    waiting: dict[str, Any]  # waits for it
    running: dict[str, Any]  # trains slowly, printing, until stopped
    nlp_job: dict[str, Any]
    tuning: dict[str, Any]


def _ok(answer: tuple[int, Any], *statuses: int) -> Any:
    status, body = answer
    assert status in statuses, (status, body)
    return body


def job(
    team: str, name: str, image: str, instance_type: str = "ml.m5.large", **hyperparameters: str
) -> dict[str, Any]:
    return {"job_name": name, "dataset_uri": DATASET.format(team=team), "image_uri": image, "team": team,
            "instance_type": instance_type, "max_runtime_seconds": 600, "hyperparameters": hyperparameters,
            "metric_definitions": METRICS}  # fmt: skip


def wait_for(call: Call, path: str, done: Callable[[Any], bool], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        answer = _ok(call("GET", path), 200)
        if done(answer):
            return answer
        assert time.monotonic() < deadline, f"{path} never got there: {answer}"
        time.sleep(0.2)


def seed(call: Call) -> ConsoleData:
    """``call(method, path, body=None, headers=None) -> (status, answer)`` against local mode (as its admin)."""
    for team, member, budget in (("vision", VISION_MEMBER, 250.0), ("nlp", NLP_MEMBER, 40.0)):
        role = member.rsplit("/", 1)[0].replace(":sts:", ":iam:").replace("assumed-role", "role")
        _ok(call("PUT", f"/teams/{team}", {"members": [role], "monthly_budget_usd": budget}), 200, 201)
    build = _ok(call("POST", "/builds", {"base_image": "python:3.12-slim", "tag": "console",
                                         "files": {"train.py": SCRIPT}}), 202)  # fmt: skip
    build = wait_for(call, f"/builds/{build['id']}", lambda b: b["status"] == "SUCCEEDED")
    image = build["image_uri"]

    def submit(body: dict[str, Any]) -> dict[str, Any]:
        return dict(_ok(call("POST", "/jobs", body), 202))

    completed = submit(job("vision", "resnet-baseline", image, steps="30"))
    failed = submit(job("vision", "resnet-bad-data", image, fail="could not read image 0007.png: truncated"))
    nlp_job = submit(job("nlp", "bert-finetune", image, steps="20"))
    holding = submit(job("vision", "detector-long", image, "ml.m5.xlarge", steps="100000", every="1"))
    wait_for(call, f"/jobs/{holding['id']}", lambda j: j["status"] == "InProgress")
    waiting = submit(job("nlp", "bert-large", image, "ml.m5.xlarge", steps="5"))
    running = submit(job("vision", "resnet-follow", image, steps="100000", every="0.5"))
    tuning = dict(_ok(call("POST", "/tuning-jobs", {
        "tuning_job_name": "resnet-lr-search", "dataset_uri": DATASET.format(team="vision"), "image_uri": image,
        "team": "vision", "objective_metric": "accuracy", "objective_type": "Maximize", "strategy": "Grid",
        "max_parallel_jobs": 2,
        "parameter_ranges": [{"name": "lr", "kind": "categorical", "values": ["0.02", "0.05", "0.1", "0.3"]}],
        "training": {"instance_type": "ml.m5.large", "max_runtime_seconds": 120,
                     "hyperparameters": {"steps": "6", "every": "0.01"}, "metric_definitions": METRICS},
    }), 202))  # fmt: skip
    for each in (completed, nlp_job):
        wait_for(call, f"/jobs/{each['id']}", lambda j: j["status"] == "Completed")
    wait_for(call, f"/jobs/{failed['id']}", lambda j: j["status"] == "Failed")
    wait_for(call, f"/jobs/{waiting['id']}", lambda j: j["status"] == "WaitingForCapacity")
    wait_for(call, f"/jobs/{running['id']}", lambda j: j["status"] == "InProgress")
    wait_for(call, f"/tuning-jobs/{tuning['id']}", lambda t: t["status"] == "Completed", timeout=90)
    return ConsoleData(
        build["build_id"], image, completed, failed, holding, waiting, running, nlp_job, tuning
    )
