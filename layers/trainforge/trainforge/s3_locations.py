"""S3 locations as Trainforge accepts them: folders, bucket and key, and why a URI is refused."""

from __future__ import annotations

from typing import Any

from trainforge.models.sagemaker_limits import S3_URI_PATTERN


def s3_folder(uri: str) -> str:
    """An S3 location as a folder (ending in '/'), so a prefix never matches a sibling (churn vs churn-v2)."""
    return uri if uri.endswith("/") else f"{uri}/"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` as (bucket, key)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def s3_uri_problem(uri: Any) -> str | None:
    """Why ``uri`` is not an S3 location Trainforge accepts, or None. Dot segments are refused, not resolved:
    S3 keys are literal, so ``a/../b`` would name an object no one meant (and may escape a granted prefix)."""
    if not isinstance(uri, str) or not S3_URI_PATTERN.fullmatch(uri):
        return "must be an s3://bucket/prefix URI"
    key = uri[len("s3://") :].partition("/")[2]
    segments = key.split("/")
    if any(segment in (".", "..") for segment in segments):
        return "must not contain '.' or '..' segments"
    if "" in segments[:-1]:
        return "must not contain empty segments ('//')"
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        return "must not contain control characters"
    return None
