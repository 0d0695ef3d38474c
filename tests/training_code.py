"""Training code as script mode ships it: one entry point in a ``sourcedir.tar.gz`` on S3 (the emulator's)."""

from __future__ import annotations

import io
import tarfile

import boto3


def upload_code(name: str, source: str, entry: str = "train.py") -> str:
    """``source`` as ``entry`` in ``s3://trainforge-artifacts/code/<name>.tar.gz``; that URI."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(entry)
        info.size = len(source.encode())
        tar.addfile(info, io.BytesIO(source.encode()))
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket="trainforge-artifacts", Key=f"code/{name}.tar.gz", Body=buffer.getvalue()
    )
    return f"s3://trainforge-artifacts/code/{name}.tar.gz"
