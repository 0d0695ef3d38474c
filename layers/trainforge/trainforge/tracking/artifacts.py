"""What a finished job produced, to fetch: its model (``model.tar.gz``, SageMaker's ModelArtifacts) and its
output (``output.tar.gz`` beside it: what the script wrote to SM_OUTPUT_DATA_DIR), each as a presigned download
link that lasts an hour. Only what exists is offered; a job's artifacts are seen by whoever may see the job."""

from __future__ import annotations

from typing import Any

from trainforge import repository
from trainforge.aws import error_code
from trainforge.connection import Database
from trainforge.s3_locations import split_s3_uri
from trainforge.tracking.queries import Visible, job_by_id

LINK_SECONDS = 3600


def job_artifacts(db: Database, s3: Any, job_id: int, visible: Visible = None) -> dict[str, Any]:
    job = job_by_id(db, job_id, visible)
    report = repository.report_of(db, job.id)
    model = report.model_artifacts_uri if report else None
    found: dict[str, Any] = {"job_id": job.id, "job_name": job.job_name, "status": job.status,
                             "expires_in_seconds": LINK_SECONDS}  # fmt: skip
    output = model.rsplit("/", 1)[0] + "/output.tar.gz" if model and model.endswith("/model.tar.gz") else None
    for part, uri in (("model", model), ("output", output)):
        found[part] = _link(s3, uri) if uri else None
    return found


def _link(s3: Any, uri: str) -> dict[str, Any] | None:
    bucket, key = split_s3_uri(uri)
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=LINK_SECONDS
    )
    return {"uri": uri, "url": str(url), "size": int(head.get("ContentLength", 0))}
