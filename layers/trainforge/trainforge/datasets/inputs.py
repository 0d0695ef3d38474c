"""A job's input, resolved when it is submitted: exactly the files its dataset's manifest validated.

When the job's input folder holds a Trainforge manifest, the manifest is read back (the very version that
started the job, on a versioned bucket), every file it names is checked in S3 (present, same size, same sha256
where the upload stored one), and each channel becomes a SageMaker ``ManifestFile`` source listing exactly those
keys. So a job never reads the manifest, the metadata file, another dataset's files, or files that changed since
they were validated. A folder without a manifest is read as it is (``S3Prefix``).

A dataset is also described by name (``GET /datasets/{name}``): complete once its manifest arrived.
"""

from __future__ import annotations

import json
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from trainforge.aws import error_code
from trainforge.datasets.preparation import (
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    DatasetManifest,
    DatasetPreparationService,
    ManifestFile,
)
from trainforge.datasets.uploads import dataset_prefix, stored_sha256
from trainforge.errors import DatasetIncompleteError, DatasetNotFoundError, DatasetValidationError, Problem
from trainforge.job_settings.channels import InputChannel, channel_options
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.s3_locations import s3_folder, split_s3_uri
from trainforge.settings import Settings

MAX_LISTED_PROBLEMS = 10


class DatasetRejectedError(DatasetValidationError):
    """The dataset can never feed this job (files still missing past the wait, a channel it lacks)."""

    code = "dataset_rejected"


@dataclass(frozen=True)
class DatasetSource:
    """A manifest found in S3, with the moment it arrived (the wait for its files counts from then)."""

    manifest: DatasetManifest
    arrived_at: datetime


def read_manifest(s3: Any, input_uri: str, source_uri: str | None = None) -> DatasetSource | None:
    """The manifest in the input folder, or None when there is none. When the job was started by a manifest
    version (``source_uri`` carries ``?versionId=``), that version is read, not whatever came after it."""
    bucket, folder = split_s3_uri(s3_folder(input_uri))
    extra: dict[str, Any] = {}
    if source_uri and source_uri.startswith(f"s3://{bucket}/{folder}{MANIFEST_NAME}?"):
        version = parse_qs(source_uri.partition("?")[2]).get("versionId")
        extra = {"VersionId": version[0]} if version else {}
    try:
        response = s3.get_object(Bucket=bucket, Key=f"{folder}{MANIFEST_NAME}", **extra)
    except Exception as exc:
        if error_code(exc) in ("NoSuchKey", "404", "NoSuchVersion", "NoSuchBucket", "AccessDenied", "403"):
            return None  # no manifest Trainforge can read: the folder is read as it is
        raise
    body: bytes = response["Body"].read(MAX_MANIFEST_BYTES + 1)
    manifest = DatasetPreparationService().parse_manifest(body)
    arrived = response.get("LastModified") or datetime.now(UTC)
    return DatasetSource(manifest, arrived)


def file_problems(s3: Any, input_uri: str, files: list[ManifestFile]) -> list[str]:
    """What S3 holds that differs from what the manifest promised: missing files, other sizes, other sha256."""
    bucket, folder = split_s3_uri(s3_folder(input_uri))
    sizes: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder):
        sizes.update({item["Key"]: int(item["Size"]) for item in page.get("Contents", [])})
    problems = []
    present = []
    for entry in files:
        size = sizes.get(f"{folder}{entry.path}")
        if size is None:
            problems.append(f"{entry.path} is missing")
        elif size != entry.size:
            problems.append(f"{entry.path} has {size} bytes, the manifest says {entry.size}")
        else:
            present.append(entry)

    def checksum(entry: ManifestFile) -> str | None:
        stored = stored_sha256(s3, bucket, f"{folder}{entry.path}")
        return (
            None if stored in (None, entry.sha256) else f"{entry.path} has another sha256 than the manifest's"
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        problems += [p for p in pool.map(checksum, present) if p]
    return problems


def check_complete(s3: Any, input_uri: str, source: DatasetSource, wait_seconds: float) -> None:
    """Raise :class:`DatasetIncompleteError` while files are missing or differ within the wait (they may still
    be arriving), :class:`DatasetRejectedError` naming them once the wait is over."""
    problems = file_problems(s3, input_uri, source.manifest.files)
    if not problems:
        return
    shown = "; ".join(problems[:MAX_LISTED_PROBLEMS]) + (
        f"; and {len(problems) - MAX_LISTED_PROBLEMS} more" if len(problems) > MAX_LISTED_PROBLEMS else ""
    )
    waited = (datetime.now(UTC) - source.arrived_at).total_seconds()
    if waited < wait_seconds:
        raise DatasetIncompleteError(
            f"the dataset is not complete yet ({shown}); the submission waits up to {wait_seconds:.0f}s "
            f"after the manifest arrived ({waited:.0f}s so far)"
        )
    raise DatasetRejectedError(
        f"the dataset's files did not match its manifest within {wait_seconds:.0f}s: {shown}", field="dataset"
    )


def channel_listings(input_uri: str, manifest: DatasetManifest) -> dict[str, tuple[str, list[str]]]:
    """Per channel, a SageMaker manifest's prefix and keys: the channel's folder when all its files are in
    it (so ``train/a.csv`` is ``a.csv`` in the ``train`` channel), else the dataset folder."""
    folder = s3_folder(input_uri)
    by_channel: dict[str, list[str]] = defaultdict(list)
    for entry in manifest.files:
        by_channel[entry.channel].append(entry.path)
    listings = {}
    for channel, paths in sorted(by_channel.items()):
        inside = f"{channel}/"
        if all(p.startswith(inside) for p in paths):
            listings[channel] = (f"{folder}{inside}", sorted(p[len(inside) :] for p in paths))
        else:
            listings[channel] = (folder, sorted(paths))
    return listings


def dataset_channels(
    s3: Any, config: TrainingConfig, input_uri: str, output_uri: str, manifest: DatasetManifest
) -> list[InputChannel]:
    """The job's channels from its dataset: one ``ManifestFile`` source per channel, written beside the job's
    output (where the execution role may read), plus any configured channel with an ``s3_uri`` of its own.
    A configured channel the dataset lacks is refused, naming what the dataset has."""
    listings = channel_listings(input_uri, manifest)
    configured = {c["name"]: c for c in config.channels}
    problems = [
        Problem(f"channels.{name}", f"the dataset has no files for it (it has {', '.join(listings)})")
        for name, channel in configured.items()
        if not channel.get("s3_uri") and name not in listings
    ]
    if problems:
        raise DatasetRejectedError.from_problems(problems, "job input")
    bucket, key = split_s3_uri(s3_folder(output_uri))
    channels = []
    for name, (prefix, keys) in listings.items():
        if configured.get(name, {}).get("s3_uri"):
            continue
        manifest_key = f"{key}{config.job_name}/input/{name}.manifest"
        body = json.dumps([{"prefix": prefix}, *keys]).encode()
        s3.put_object(Bucket=bucket, Key=manifest_key, Body=body, ContentType="application/json")
        options = channel_options(configured.get(name, {}))
        channels.append(InputChannel(name, f"s3://{bucket}/{manifest_key}", "ManifestFile", **options))
    channels += [
        InputChannel(name, str(c["s3_uri"]), **channel_options(c))
        for name, c in configured.items()
        if c.get("s3_uri")
    ]
    return channels


def describe_dataset(settings: Settings, s3: Any, name: str, team: str | None = None) -> dict[str, Any]:
    """An uploaded dataset by name: its URI, whether it is complete (its manifest arrived) and, when it is,
    its files, channels and training settings. A name with nothing under it is a :class:`DatasetNotFoundError`."""
    prefix = dataset_prefix(settings, name, team)
    uri = f"s3://{settings.datasets_bucket}/{prefix}/"
    source = read_manifest(s3, uri)
    if source is None:
        listed = s3.list_objects_v2(Bucket=settings.datasets_bucket, Prefix=f"{prefix}/", MaxKeys=1)
        if not listed.get("KeyCount"):
            raise DatasetNotFoundError(
                f"no dataset {name!r} at {uri}: upload it first (trainforge upload DATASET_DIR --prefix {name})",
                field="name",
            )
        return {"name": name, "dataset_uri": uri, "complete": False, "files": 0, "bytes": 0, "channels": [],
                "training": None, "uploaded_at": None}  # fmt: skip
    manifest = source.manifest
    return {
        "name": name,
        "dataset_uri": uri,
        "complete": True,
        "files": len(manifest.files),
        "bytes": manifest.total_bytes,
        "channels": sorted({f.channel for f in manifest.files}),
        "training": manifest.training,
        "uploaded_at": source.arrived_at,
    }
