"""``trainforge.train``: from a folder of training code and a folder of data to a finished job in one call, as the
SageMaker SDK's ``ModelTrainer.train()`` does. The image is built by CodeBuild (once per content of the code: a
build of the same code is reused), the dataset uploaded (files already there with the same sha256 are skipped, so
an interrupted upload resumes), the job submitted, and, with ``wait``, followed to its end."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from trainforge.cli.builds import DEFAULT_BASE_IMAGE, entry_point_of, source_files, wait_for_build
from trainforge.cli.client import ApiError
from trainforge.cli.context import CliError
from trainforge.cli.datasets import default_metadata
from trainforge.cli.uploads import Uploader
from trainforge.client.errors import InvalidRequest, TrainforgeError, from_api_error
from trainforge.client.jobs import Client, Job


def train(
    *, source_dir: str | Path, data: str | Path, entry_point: str | None = None,
    hyperparameters: Mapping[str, Any] | None = None, instance_type: str = "ml.m5.large", instance_count: int = 1,
    max_runtime_seconds: int = 3600, job_name: str | None = None, dataset_name: str | None = None,
    base_image: str = DEFAULT_BASE_IMAGE, wait: bool = True, logs: bool = True, client: Client | None = None,
    out: IO[str] | None = None, **job: Any,
) -> Job:  # fmt: skip
    """Build, upload, submit and (with ``wait``) follow a training job; the job, finished when ``wait``. Any other
    keyword is a field of the job request (``metric_definitions``, ``spot``, ``team``...). The dataset is named
    ``dataset_name`` (default: the job's name): the same name again uploads only what changed."""
    tf = client or Client()
    source, dataset = Path(source_dir), Path(data)
    try:
        files = source_files(source)
        entry = entry_point_of(files, entry_point)
        metadata = default_metadata(dataset)
    except CliError as refused:
        raise InvalidRequest(400, refused.code, refused.message) from None
    image = built_image(tf, files, entry, base_image)
    name = job_name or f"{source.resolve().name}-{time.strftime('%Y%m%d-%H%M%S')}".lower().replace("_", "-")
    try:
        uploaded = Uploader(tf.http).run(dataset, metadata, dataset_name or name, show_progress=False)
    except ApiError as refused:
        raise from_api_error(refused) from None
    submitted = tf.jobs.submit({
        "job_name": name, "dataset_uri": uploaded["dataset_uri"], "image_uri": image, "instance_type": instance_type,
        "instance_count": instance_count, "max_runtime_seconds": max_runtime_seconds,
        "hyperparameters": {k: str(v) for k, v in (hyperparameters or {}).items()}, **job,
    })  # fmt: skip
    submitted.upload = uploaded  # what the upload sent and skipped (files already there with the same sha256)
    return submitted.wait(logs=logs, out=out) if wait else submitted


def built_image(
    tf: Client, files: dict[str, str], entry_point: str, base_image: str, poll: float = 2.0
) -> str:
    """The image of this code: a succeeded build of the same content is reused; else CodeBuild builds it."""
    content = json.dumps(
        {"files": files, "entry_point": entry_point, "base_image": base_image}, sort_keys=True
    )
    tag = "code-" + hashlib.sha256(content.encode()).hexdigest()[:16]
    done = tf.request("GET", "/builds", query={"tag": tag, "status": "SUCCEEDED", "limit": 1})["builds"]
    if done:
        return str(done[0]["image_uri"])
    build = tf.request("POST", "/builds", {"base_image": base_image, "tag": tag, "entry_point": entry_point,
                                           "files": files})  # fmt: skip
    build = wait_for_build(tf.request, build, poll)
    if build["status"] != "SUCCEEDED":
        raise TrainforgeError(422, "build_failed", f"the image build {build['build_id']} ended {build['status']}: "
                              f"{build.get('failure_reason') or 'see its log'} ({build.get('log_url')})")  # fmt: skip
    return str(build["image_uri"])
