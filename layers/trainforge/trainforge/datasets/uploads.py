"""Datasets into S3, files first and the manifest last: uploaded from a folder here (the contract's
``upload_training_data``), or through presigned URLs for a client that holds them (``POST /datasets``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from trainforge.aws import error_code, error_message
from trainforge.datasets.preparation import (
    MANIFEST_NAME,
    DatasetManifest,
    DatasetPreparationService,
    ManifestFile,
)
from trainforge.errors import Problem, SageMakerConfigurationError, SageMakerError
from trainforge.inputs import check_relative_path, normalise_path
from trainforge.job_settings.training_config import config_from_dataset_settings
from trainforge.settings import Settings

URL_LIFETIME_SECONDS = 3600
MULTIPART_THRESHOLD = 16 * 1024 * 1024


def stored_sha256(s3: Any, bucket: str, key: str) -> str | None:
    """The sha256 an earlier upload recorded on the object, or None when there is no such object."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    value = head.get("Metadata", {}).get("sha256")
    return str(value) if value else None


def dataset_prefix(settings: Settings, name: str, team: str | None) -> str:
    """Where a dataset's files go: under its team's folder when the caller has a team."""
    return f"{settings.dataset_prefix}{team}/{name}" if team else f"{settings.dataset_prefix}{name}"


def presign_dataset_upload(
    settings: Settings,
    s3: Any,
    *,
    name: str,
    metadata_file: str,
    files: Sequence[ManifestFile],
    training: dict[str, Any] | None = None,
    team: str | None = None,
) -> dict[str, Any]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, entry in enumerate(files):
        reason = check_relative_path(entry.path)
        if reason:
            problems.append(Problem(f"files[{index}].path", reason))
        elif normalise_path(entry.path) in seen:
            problems.append(Problem(f"files[{index}].path", "is listed twice"))
        elif normalise_path(entry.path) == MANIFEST_NAME:
            problems.append(Problem(f"files[{index}].path", f"{MANIFEST_NAME} is Trainforge's own file"))
        seen.add(normalise_path(entry.path))
    if check_relative_path(metadata_file) or "/" in metadata_file:
        problems.append(Problem("metadata_file", "must be a file name"))
    try:  # refused now, not after the whole upload
        config_from_dataset_settings(
            training, job_name="dataset-check", default_instance_type=settings.default_instance_type
        )
    except SageMakerConfigurationError as exc:
        problems += [Problem(f"training.{p.field}", p.message) for p in exc.problems]
    if problems:
        raise SageMakerConfigurationError.from_problems(problems, "dataset upload")
    prefix = dataset_prefix(settings, name, team)
    normalised = [ManifestFile(normalise_path(f.path), f.size, f.sha256, f.channel) for f in files]
    manifest = DatasetManifest(metadata_file=metadata_file, files=normalised, training=training)

    def url(key: str, sha256: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": settings.datasets_bucket, "Key": key}
        if sha256:
            params["Metadata"] = {"sha256": sha256}  # signed in: the client must send x-amz-meta-sha256
        return str(s3.generate_presigned_url("put_object", Params=params, ExpiresIn=URL_LIFETIME_SECONDS))

    def upload(path: str, sha256: str | None) -> dict[str, Any]:
        key = f"{prefix}/{path}"
        present = sha256 is not None and stored_sha256(s3, settings.datasets_bucket, key) == sha256
        return {
            "path": path,
            "key": key,
            "url": url(key, sha256),
            "headers": {"x-amz-meta-sha256": sha256} if sha256 else {},
            "already_uploaded": present,
        }

    uploads = [upload(f.path, f.sha256) for f in normalised]
    if metadata_file not in seen:
        uploads.append(upload(metadata_file, None))
    manifest_key = f"{prefix}/{MANIFEST_NAME}"
    return {
        "dataset_uri": f"s3://{settings.datasets_bucket}/{prefix}/",
        "uploads": uploads,
        "manifest": {"key": manifest_key, "url": url(manifest_key), "body": manifest.to_json()},
        "expires_in_seconds": URL_LIFETIME_SECONDS,
    }


def upload_dataset_folder(
    s3: Any,
    datasets: DatasetPreparationService,
    dataset_folder: str,
    metadata_file: str,
    s3_bucket: str,
    s3_prefix: str,
    *,
    progress: Callable[[str, int], None] | None = None,
) -> str:
    """Upload training data to S3.

    Validates the folder against its metadata file, uploads every referenced file (multipart when large;
    a file already there with the same sha256 is skipped, so an interrupted upload resumes), then the
    metadata file, then the manifest: its arrival means the dataset is complete.

    Returns:
        S3 URI of uploaded data (``s3://bucket/prefix/``)

    Raises:
        SageMakerError: If upload fails (``DatasetValidationError`` listing every problem when invalid)
    """
    prefix = s3_prefix.strip("/")
    reason = check_relative_path(prefix)
    if reason:
        raise SageMakerConfigurationError(f"s3_prefix {reason}", field="s3_prefix")
    manifest = datasets.prepare(dataset_folder, metadata_file)
    # boto3's transfer manager only for an upload from this machine
    from boto3.s3.transfer import TransferConfig

    transfer = TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD
    )
    folder = Path(dataset_folder)
    try:
        for entry in manifest.files:
            key = f"{prefix}/{entry.path}"
            if stored_sha256(s3, s3_bucket, key) == entry.sha256:
                if progress:
                    progress(entry.path, entry.size)
                continue
            callback = (lambda sent, path=entry.path: progress(path, sent)) if progress else None
            s3.upload_file(
                str(folder / entry.path), s3_bucket, key,
                ExtraArgs={"Metadata": {"sha256": entry.sha256}}, Config=transfer, Callback=callback,
            )  # fmt: skip
        s3.upload_file(str(metadata_file), s3_bucket, f"{prefix}/{manifest.metadata_file}", Config=transfer)
        s3.put_object(
            Bucket=s3_bucket,
            Key=f"{prefix}/{MANIFEST_NAME}",
            Body=manifest.to_json().encode(),
            ContentType="application/json",
        )
    except Exception as exc:
        if isinstance(exc, SageMakerError):
            raise
        raise SageMakerError(
            f"upload to s3://{s3_bucket}/{prefix}/ failed: {error_code(exc) or type(exc).__name__}: "
            f"{error_message(exc)}; run it again: files already uploaded are skipped"
        ) from exc
    return f"s3://{s3_bucket}/{prefix}/"
