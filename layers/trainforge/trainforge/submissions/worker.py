"""Submissions: the one path by which training jobs reach SageMaker.

A dataset manifest or a job spec dropped in S3, or a job requested through the API, arrives here through a queue
whose consumer runs one at a time, so ``CreateTrainingJob`` calls stay near SageMaker's account-wide rate
(about one a second) and throttling is waited out, never turned into a failed job.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from trainforge import repository
from trainforge.aws import client, error_code
from trainforge.connection import Database
from trainforge.datasets.preparation import (
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    DatasetPreparationService,
    dataset_job_name,
)
from trainforge.delivery import PoisonEventError
from trainforge.errors import (
    JobConflictError,
    RetryableSubmissionError,
    SageMakerConfigurationError,
    SageMakerError,
    SageMakerJobError,
)
from trainforge.inputs import MalformedJsonError, check_relative_path, parse_json, printable
from trainforge.job_settings.training_config import TrainingConfig, config_from_dataset_settings
from trainforge.jobs.records import accept_job_request
from trainforge.models.rows import TeamRow
from trainforge.models.sagemaker_limits import JOB_NAME_PATTERN
from trainforge.models.status import JobStatus
from trainforge.routing import JOB_REQUESTED, S3_OBJECT_CREATED, TRAINFORGE_SOURCE
from trainforge.s3_locations import s3_uri_problem
from trainforge.services.sagemaker_training_service import SageMakerTrainingService
from trainforge.settings import Settings

MAX_SPEC_BYTES = 256 * 1024


@dataclass(frozen=True)
class DroppedObject:
    """An object S3 reported as created; ``key`` as S3 sent it (URL-encoded)."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What handling one event did, for the log and the metrics."""

    kind: str  # submitted, waiting, duplicate, rejected, ignored, failed
    detail: str
    job_id: int | None = None
    job_name: str | None = None


def dropped_objects(event: Mapping[str, Any]) -> list[DroppedObject]:
    """The objects in an EventBridge "Object Created" event or a classic S3 notification (which may be the
    ``s3:TestEvent`` S3 sends when notifications are saved: no records, nothing to do)."""
    if event.get("detail-type") == S3_OBJECT_CREATED:
        detail = event.get("detail")
        if not isinstance(detail, Mapping):
            raise PoisonEventError("Object Created event has no detail")
        bucket, obj = detail.get("bucket"), detail.get("object")
        if not isinstance(bucket, Mapping) or not isinstance(obj, Mapping):
            raise PoisonEventError("Object Created event lacks detail.bucket or detail.object")
        name, key = bucket.get("name"), obj.get("key")
        if not isinstance(name, str) or not isinstance(key, str) or not key:
            raise PoisonEventError("Object Created event lacks detail.bucket.name or detail.object.key")
        return [DroppedObject(name, key, _opt_str(obj.get("version-id")), _opt_str(obj.get("etag")))]
    if event.get("Event") == "s3:TestEvent":
        return []
    records = event.get("Records")
    if isinstance(records, list):
        found = []
        for record in records:
            s3 = record.get("s3") if isinstance(record, Mapping) else None
            if not isinstance(s3, Mapping) or not str(record.get("eventName", "")).startswith(
                "ObjectCreated"
            ):
                continue
            bucket, obj = s3.get("bucket") or {}, s3.get("object") or {}
            if not isinstance(bucket.get("name"), str) or not isinstance(obj.get("key"), str):
                raise PoisonEventError("S3 notification record lacks s3.bucket.name or s3.object.key")
            found.append(
                DroppedObject(
                    bucket["name"], obj["key"], _opt_str(obj.get("versionId")), _opt_str(obj.get("eTag"))
                )
            )
        return found
    raise PoisonEventError(f"not an S3 object-created event (detail-type {event.get('detail-type')!r})")


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def slug(text: str, limit: int) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return cleaned[:limit].strip("-") or "dataset"


def job_name_for(kind: str, stem: str, obj: DroppedObject, key: str) -> str:
    """Deterministic: the same object version always names the same job, so redeliveries collapse."""
    identity = f"{obj.bucket}/{key}@{obj.version_id or obj.etag or ''}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:10]
    return f"{kind}-{slug(stem, 63 - len(kind) - 12)}-{digest}"


class SubmissionWorker:
    """Handles the events of the submission queue; one instance per process."""

    def __init__(
        self, settings: Settings, service: SageMakerTrainingService, s3_client: Any | None = None
    ) -> None:
        self.settings = settings
        self.service = service
        self._s3 = s3_client
        self.datasets = DatasetPreparationService()

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = client("s3", self.settings.region)
        return self._s3

    def handle(self, event: Mapping[str, Any], db: Database) -> list[Outcome]:
        if event.get("source") == TRAINFORGE_SOURCE and event.get("detail-type") == JOB_REQUESTED:
            detail = event.get("detail")
            tuning_id = detail.get("tuning_job_id") if isinstance(detail, Mapping) else None
            if isinstance(tuning_id, int) and not isinstance(tuning_id, bool):
                return [self.submit_tuning(db, tuning_id)]
            job_id = detail.get("job_id") if isinstance(detail, Mapping) else None
            if not isinstance(job_id, int) or isinstance(job_id, bool):
                raise PoisonEventError("Training Job Requested event needs an integer detail.job_id")
            return [self.submit(db, job_id)]
        return [self.handle_object(obj, db) for obj in dropped_objects(event)]

    def submit_tuning(self, db: Database, tuning_id: int) -> Outcome:
        sent = self._send(lambda: self.service.submit_pending_tuning_job(tuning_id, db), None)
        if isinstance(sent, Outcome):
            return sent
        return Outcome("submitted" if sent else "duplicate", f"tuning job {tuning_id}")

    def submit(self, db: Database, job_id: int) -> Outcome:
        sent = self._send(lambda: self.service.submit_pending_job(job_id, db), job_id)
        if isinstance(sent, Outcome):
            return sent
        if sent:
            return Outcome("submitted", "sent to SageMaker", job_id)
        job = repository.get_job(db, job_id)
        if job is not None and job.status == JobStatus.WAITING_FOR_CAPACITY:
            return Outcome("waiting", f"waiting for capacity in {job.capacity_pool}", job_id)
        return Outcome("duplicate", "already sent", job_id)

    @staticmethod
    def _send(send: Callable[[], bool], job_id: int | None) -> bool | Outcome:
        """What ``send`` answered, or the outcome SageMaker's refusal makes of the record. A record that does
        not exist is a poison event; SageMaker busy (or the dataset still arriving) is raised, so the record is
        delivered again."""
        try:
            return send()
        except SageMakerJobError as exc:
            if exc.code == "not_found":
                raise PoisonEventError(exc.message) from exc
            if isinstance(exc, RetryableSubmissionError):
                raise
            kind = "rejected" if isinstance(exc, SageMakerConfigurationError) else "failed"
            return Outcome(kind, exc.message, job_id)
        except SageMakerConfigurationError as exc:
            return Outcome("rejected", exc.message, job_id)

    def handle_object(self, obj: DroppedObject, db: Database) -> Outcome:
        if obj.bucket != self.settings.datasets_bucket:
            return Outcome("ignored", f"bucket {obj.bucket} is not the datasets bucket")
        decoded = unquote_plus(obj.key)
        manifest = (
            decoded.startswith(self.settings.dataset_prefix) and posixpath.basename(decoded) == MANIFEST_NAME
        )
        spec = decoded.startswith(self.settings.jobs_prefix) and decoded.endswith(".json")
        if not (manifest or spec):
            # Read nothing: outside these prefixes the worker has no permission, and no business.
            return Outcome(
                "ignored", f"key {printable(decoded)!r} is neither a dataset manifest nor a job spec"
            )
        reason = check_relative_path(decoded)
        if manifest and not reason and posixpath.dirname(decoded) + "/" == self.settings.dataset_prefix:
            reason = f"is at the root of {self.settings.dataset_prefix}, so its job would read every dataset: put it in {self.settings.dataset_prefix}<name>/"
        team = None
        if not reason:
            team, reason = self._team_of(db, decoded, manifest)
        if reason:
            # Never silence: the refusal is recorded where the user looks for the job. The key is kept only
            # inside the reason, escaped (ascii()), never as a location.
            name = job_name_for("ds" if manifest else "job", "refused", obj, obj.key)
            return self._reject(db, name, None, f"key {ascii(decoded)[:600]} {reason}", team)
        key, body = self._read(obj)
        if manifest:
            return self._dataset_job(obj, key, body, db, team)
        return self._spec_job(obj, key, body, db, team)

    def _team_of(self, db: Database, key: str, manifest: bool) -> tuple[TeamRow | None, str | None]:
        """The team whose prefix holds the key (datasets/<team>/..., jobs/<team>/...), or why none does. With no
        teams defined, the deployment is its administrators' alone and a drop belongs to no team."""
        teams = repository.list_teams(db)
        if not teams:
            return None, None
        prefix = self.settings.dataset_prefix if manifest else self.settings.jobs_prefix
        segment, _, rest = key[len(prefix) :].partition("/")
        team = next((t for t in teams if t.name == segment), None)
        if team is None or not rest:
            names = ", ".join(t.name for t in teams[:20])
            return None, f"is outside every team's prefix ({prefix}<team>/ for {names})"
        if manifest and "/" not in rest:
            where = f"{prefix}{team.name}/"
            return (
                team,
                f"is at the root of {where}, so its job would read all the team's datasets: put it in {where}<name>/",
            )
        return team, None

    def _read(self, obj: DroppedObject) -> tuple[str, bytes | None]:
        """Decode the key (form-URL-encoded by S3) and read the object; a raw key that happens to contain
        '+' or '%' is tried as sent when the decoded one does not exist."""
        candidates = [unquote_plus(obj.key)]
        if obj.key not in candidates:
            candidates.append(obj.key)
        for key in candidates:
            if check_relative_path(key) or not key.endswith(".json"):
                return key, None
            try:
                extra = {"VersionId": obj.version_id} if obj.version_id else {}
                response = self.s3.get_object(Bucket=obj.bucket, Key=key, **extra)
            except Exception as exc:
                if error_code(exc) in ("NoSuchKey", "404", "NoSuchVersion", "InvalidArgument"):
                    continue
                raise
            body: bytes = response["Body"].read(MAX_MANIFEST_BYTES + 1)
            return key, body
        return candidates[0], None

    def _dataset_job(
        self, obj: DroppedObject, key: str, body: bytes | None, db: Database, team: TeamRow | None
    ) -> Outcome:
        folder = posixpath.dirname(key)
        source = _source_uri(obj, key)
        # Until the manifest is read, its content is unknown: a refusal is named for the object itself.
        unread = job_name_for("ds", posixpath.basename(folder), obj, key)
        if body is None:
            return self._reject(
                db, unread, source, f"manifest s3://{obj.bucket}/{key} could not be read", team
            )
        try:
            manifest = self.datasets.parse_manifest(body)
        except SageMakerConfigurationError as exc:
            return self._reject(db, unread, source, exc.message, team)
        if manifest.training is None:
            # Data without training settings (no trainforge.json): stored, ready for a job that names it.
            return Outcome(
                "ignored",
                f"dataset s3://{obj.bucket}/{folder}/ is ready: it carries no training settings, so it starts no "
                "job of its own (submit one that names it)",
            )
        # One dataset content, one job: the same files and settings again (a re-upload rewrites the manifest's
        # time and etag) name the same job and start nothing.
        name = dataset_job_name(f"s3://{obj.bucket}/{folder}/", manifest)
        try:
            config, image_uri = config_from_dataset_settings(
                manifest.training, job_name=name, default_instance_type=self.settings.default_instance_type
            )
        except SageMakerConfigurationError as exc:
            return self._reject(db, name, source, exc.message, team)
        image = image_uri or self.settings.default_image_uri
        return self._record_and_submit(db, config, f"s3://{obj.bucket}/{folder}/", image, source, team)

    def _spec_job(
        self, obj: DroppedObject, key: str, body: bytes | None, db: Database, team: TeamRow | None
    ) -> Outcome:
        stem = posixpath.splitext(posixpath.basename(key))[0]
        source = _source_uri(obj, key)
        derived = job_name_for("job", stem, obj, key)
        if body is None or len(body) > MAX_SPEC_BYTES:
            return self._reject(
                db, derived, source, "job spec could not be read or is larger than 256 KiB", team
            )
        try:
            spec = parse_json(body)
        except MalformedJsonError as exc:
            return self._reject(db, derived, source, f"job spec: {exc.message}", team)
        if not isinstance(spec, dict):
            return self._reject(db, derived, source, "job spec must be a JSON object", team)
        dataset_uri = spec.pop("dataset_uri", None)
        image_uri = spec.pop("image_uri", None) or self.settings.default_image_uri
        spec.setdefault("job_name", derived)
        spec.setdefault("instance_type", self.settings.default_instance_type)
        wanted = spec["job_name"]
        name = wanted if isinstance(wanted, str) and JOB_NAME_PATTERN.fullmatch(wanted) else derived
        allowed = f"s3://{self.settings.datasets_bucket}/{self.settings.dataset_prefix}"
        if (
            not isinstance(dataset_uri, str)
            or not dataset_uri.startswith(allowed)
            or s3_uri_problem(dataset_uri)
        ):
            return self._reject(db, name, source, f"dataset_uri must name a dataset under {allowed}", team)
        try:
            config = TrainingConfig.from_dict(spec)
        except SageMakerConfigurationError as exc:
            return self._reject(db, name, source, exc.message, team)
        return self._record_and_submit(db, config, dataset_uri, str(image_uri), source, team)

    def _record_and_submit(
        self,
        db: Database,
        config: TrainingConfig,
        input_uri: str,
        image_uri: str,
        source: str,
        team: TeamRow | None,
    ) -> Outcome:
        try:
            job_id, created = accept_job_request(
                db, self.settings, config, input_uri, image_uri=image_uri, source_uri=source, team=team
            )
        except SageMakerConfigurationError as exc:
            return self._reject(db, config.job_name, source, exc.message, team)
        except JobConflictError as exc:
            # The name belongs to another job: no Rejected record can take it, so the drop is dead-lettered.
            raise PoisonEventError(exc.message) from exc
        outcome = self.submit(db, job_id)
        if not created and outcome.kind == "duplicate":
            return Outcome("duplicate", f"already started as job {job_id}", job_id, config.job_name)
        return Outcome(outcome.kind, outcome.detail, job_id, config.job_name)

    def _reject(
        self, db: Database, job_name: str, source: str | None, reason: str, team: TeamRow | None = None
    ) -> Outcome:
        """Record the refusal as a Rejected job (once per object version), so the user (the team) sees why."""
        values = {"job_name": job_name, "origin": "trainforge", "source_uri": source}
        job_id, _ = repository.insert_rejected_job(
            db, {**values, "team": team.name if team is not None else None}, reason[:4000]
        )
        db.commit()
        return Outcome("rejected", reason, job_id, job_name)


def _source_uri(obj: DroppedObject, key: str) -> str:
    return f"s3://{obj.bucket}/{key}" + (f"?versionId={obj.version_id}" if obj.version_id else "")


def request_submission(
    settings: Settings, job_id: int, events_client: Any | None = None, *, tuning: bool = False
) -> None:
    """Put a "Training Job Requested" event on the bus (for a tuning job: ``tuning_job_id``): the submission
    queue takes it from there."""
    events = events_client or client("events", settings.region)
    response = events.put_events(
        Entries=[
            {
                "Source": TRAINFORGE_SOURCE,
                "DetailType": JOB_REQUESTED,
                "Detail": json.dumps({"tuning_job_id" if tuning else "job_id": job_id}),
                "EventBusName": settings.event_bus_name,
            }
        ]
    )
    if response.get("FailedEntryCount"):
        entry = response["Entries"][0]
        raise SageMakerError(
            f"the submission request was not accepted by EventBridge: {entry.get('ErrorCode')}: "
            f"{entry.get('ErrorMessage')}; the job stays Pending and the reconciler requests it again"
        )
