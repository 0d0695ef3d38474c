"""A local job's folders, and its checkpoints kept in step with S3 as SageMaker keeps them.

SageMaker copies ``CheckpointConfig.S3Uri`` into the container's checkpoint folder when a job (or a restart of it
after a spot interruption) starts, and copies what the script writes there back to S3. Locally the folder is the
job's ``checkpoints/``, given to the script as ``SM_CHECKPOINT_DIR`` (``/opt/ml/checkpoints`` is a container's
path, not this machine's), restored at the start of every attempt and saved at the end of every attempt.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trainforge.local.sagemaker.job import LocalJob
from trainforge.local.training.data import channel_objects
from trainforge.local.training.toolkit import input_data_config, resource_config
from trainforge.s3_locations import split_s3_uri

CHECKPOINT_ENV = "SM_CHECKPOINT_DIR"


def lay_out(job: LocalJob, root: Path) -> dict[str, Path]:
    """The ``/opt/ml``-style folders of one attempt, and the toolkit's config files in them."""
    paths = {
        "root": root,
        "input": root / "input",
        "config": root / "input" / "config",
        "model": root / "model",
        "output": root / "output",
        "output_data": root / "output" / "data",
        "intermediate": root / "output" / "intermediate",
        "checkpoints": root / "checkpoints",
    }
    for path in paths.values():
        path.mkdir(parents=True, exist_ok=True)
    instance_type = str(job.request.get("ResourceConfig", {}).get("InstanceType", "local"))
    files = {
        "hyperparameters.json": job.request.get("HyperParameters", {}),
        "resourceconfig.json": resource_config(instance_type),
        "inputdataconfig.json": input_data_config(
            job.request.get("InputDataConfig", []),
            job.request.get("AlgorithmSpecification", {}).get("TrainingInputMode", "File"),
        ),
    }
    for name, content in files.items():
        (paths["config"] / name).write_text(json.dumps(content))
    return paths


def checkpoint_uri(job: LocalJob) -> str | None:
    uri = (job.request.get("CheckpointConfig") or {}).get("S3Uri")
    return str(uri) if uri else None


def restore_checkpoints(s3: Any, job: LocalJob, folder: Path) -> int:
    """What the job's checkpoint location holds, into ``folder``; how many files."""
    uri = checkpoint_uri(job)
    if uri is None:
        return 0
    objects = channel_objects(s3, {"S3Uri": uri.rstrip("/") + "/", "S3DataType": "S3Prefix"})
    for bucket, key, relative in objects:
        if relative and ".." not in relative.split("/"):
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(target))
    return len(objects)


def save_checkpoints(s3: Any, job: LocalJob, folder: Path) -> int:
    """What the script wrote in ``folder``, to the job's checkpoint location; how many files."""
    uri = checkpoint_uri(job)
    if uri is None or not folder.is_dir():
        return 0
    bucket, prefix = split_s3_uri(uri.rstrip("/") + "/")
    files = [path for path in sorted(folder.rglob("*")) if path.is_file()]
    for path in files:
        s3.upload_file(str(path), bucket, f"{prefix}{path.relative_to(folder).as_posix()}")
    return len(files)
