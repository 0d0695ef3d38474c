"""A local job's data: each channel's objects laid out in ``input/data/<channel>`` as SageMaker lays them out, and
its model and output archived where SageMaker puts them."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

from trainforge.local.sagemaker.job import LocalJob
from trainforge.s3_locations import split_s3_uri


def download_channels(s3: Any, channels: list[dict[str, Any]], data_root: Path) -> None:
    """Each channel's objects into ``input/data/<channel>``: everything under an ``S3Prefix``, exactly the
    keys a ``ManifestFile`` lists (relative to its prefix), as SageMaker lays them out."""
    for channel in channels:
        source = channel["DataSource"]["S3DataSource"]
        target = data_root / channel["ChannelName"]
        target.mkdir(parents=True, exist_ok=True)
        for bucket, key, relative in channel_objects(s3, source):
            if not relative or ".." in relative.split("/"):
                continue
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(destination))


def channel_objects(s3: Any, source: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(bucket, key, path in the channel) of every object a channel's source names."""
    bucket, prefix = split_s3_uri(str(source["S3Uri"]))
    if source.get("S3DataType") == "ManifestFile":
        listing = json.loads(s3.get_object(Bucket=bucket, Key=prefix)["Body"].read())
        base = str(listing[0]["prefix"])
        base_bucket, base_key = split_s3_uri(base)
        return [(base_bucket, f"{base_key}{entry}", str(entry)) for entry in listing[1:]]
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [
            (bucket, item["Key"], item["Key"][len(prefix) :].lstrip("/")) for item in page.get("Contents", [])
        ]
    return found


def upload_tar(s3: Any, job: LocalJob, folder: Path, name: str) -> str:
    """``model/`` as model.tar.gz and ``output/data/`` as output.tar.gz, where SageMaker puts them."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    output = job.request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
    bucket, prefix = split_s3_uri(output)
    key = "/".join(p for p in (prefix, job.name, "output", name) if p)
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
    return f"s3://{bucket}/{key}"
