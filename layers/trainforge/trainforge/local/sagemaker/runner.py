"""A local SageMaker: runs training jobs on this machine by the training-container contract, without Docker.

It answers ``create_training_job``, ``describe_training_job`` and ``stop_training_job`` like boto3's client (same
shapes, same error codes), lays out ``/opt/ml``-style folders, sets the ``SM_*`` variables, runs the entry point in
a subprocess, streams its log, extracts metrics with the job's regexes, tars ``model/`` to the output location,
honours max runtime, stops, retries (RetryStrategy), spot interruptions (checkpoints restored) and warm pools,
and emits "SageMaker Training Job State Change" events of AWS's shape at every transition. The code comes, as in
script mode, from ``sagemaker_submit_directory`` and ``sagemaker_program`` (or ``SAGEMAKER_*``), or a local
build's image.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from trainforge.aws import client
from trainforge.local.aws.events import aws_event, eventbridge_sink
from trainforge.local.sagemaker.job import LocalJob, sagemaker_error
from trainforge.local.sagemaker.lifecycle import LocalModeLifecycle
from trainforge.local.sagemaker.quotas import check_quota, instances_in_use
from trainforge.local.sagemaker.record import LocalImage, SageMakerRecord
from trainforge.local.sagemaker.tuner import LocalTuning, LocalTuningJob
from trainforge.local.sagemaker.unemulated import differences_from_sagemaker
from trainforge.local.sagemaker.warm_pools import LocalWarmPools
from trainforge.local.training.checkpoints import lay_out, restore_checkpoints, save_checkpoints
from trainforge.local.training.data import download_channels, upload_tar
from trainforge.local.training.hosts import (
    LOG_TAIL_LINES,
    MAX_LOCAL_HOSTS,
    free_port,
    host_environment,
    host_names,
    host_paths,
    start,
    stream_output,
)
from trainforge.local.training.processes import ProcessRegistry, end_process_group
from trainforge.local.training.toolkit import (
    decode_hyperparameters,
)
from trainforge.s3_locations import split_s3_uri
from trainforge.settings import Settings

EventSink = Callable[[dict[str, Any]], None]
LOGGER = logging.getLogger(__name__)
MAX_FAILURE_REASON = 1024


class LocalSageMaker(LocalTuning, LocalWarmPools, LocalModeLifecycle):
    """The SageMaker calls Trainforge makes, answered by running jobs here."""

    def __init__(
        self, settings: Settings, *, emit: EventSink | None = None, s3_client: Any | None = None
    ) -> None:
        self.settings = settings
        self.emit = emit
        self._s3 = s3_client
        self.work_dir = Path(settings.local_work_dir) / "training"
        # What SageMaker would keep in the account outlives local mode; its processes do not (recover()).
        self.record = SageMakerRecord(Path(settings.local_work_dir) / "sagemaker")
        self.processes = ProcessRegistry(Path(settings.local_work_dir) / "processes")
        jobs, tuning_jobs, images, problems = self.record.load()
        self.jobs: dict[str, LocalJob] = jobs
        self._tuning_jobs: dict[str, LocalTuningJob] = tuning_jobs
        self.images: dict[str, LocalImage] = images
        self.load_problems: list[str] = problems  # files of the record that could not be read
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = client("s3", self.settings.region)
        return self._s3

    # -- the SageMaker API ---------------------------------------------------------------------------------

    def create_training_job(self, **request: Any) -> dict[str, Any]:
        name = request.get("TrainingJobName")
        if not isinstance(name, str) or not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name):
            raise sagemaker_error(
                "ValidationException", "1 validation error detected: TrainingJobName", "CreateTrainingJob"
            )
        arn = (
            f"arn:aws:sagemaker:{self.settings.region}:{self.settings.account_id}:training-job/{name.lower()}"
        )
        with self._lock:
            if name in self.jobs:
                raise sagemaker_error(
                    "ResourceInUse", f"Training job names must be unique: {name} exists", "CreateTrainingJob"
                )
            check_quota(self.settings.local_instance_quotas, self.jobs.values(), request)
            job = LocalJob(request, arn)
            pool_owner = self._claim_warm_pool(job)
            self.jobs[name] = job
            starting = f"Starting on the warm pool of {job.reused_pool_of}" if job.reused_pool_of else ""
            job.transitions.append(
                {
                    "Status": "Starting",
                    "StartTime": job.created,
                    "StatusMessage": starting or "Preparing the instances for training",
                }
            )
        if pool_owner is not None:
            self._publish(pool_owner)
        self._publish(job)
        thread = threading.Thread(target=self._run, args=(job,), name=f"train-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return {"TrainingJobArn": arn}

    def instances_in_use(self, instance_type: str) -> int:
        """Instances of running (not ended) jobs of this type: what the benchmark samples."""
        with self._lock:
            return instances_in_use(self.jobs.values(), instance_type)

    def describe_training_job(self, TrainingJobName: str) -> dict[str, Any]:
        job = self.jobs.get(TrainingJobName)
        if job is None:
            raise sagemaker_error(
                "ValidationException",
                f"Requested resource not found: {TrainingJobName}",
                "DescribeTrainingJob",
            )
        return job.describe()

    def stop_training_job(self, TrainingJobName: str, *, why: str | None = None) -> dict[str, Any]:
        job = self.jobs.get(TrainingJobName)
        if job is None:
            raise sagemaker_error(
                "ValidationException", f"Requested resource not found: {TrainingJobName}", "StopTrainingJob"
            )
        if job.status != "InProgress":
            raise sagemaker_error("ValidationException", f"The job status is {job.status}", "StopTrainingJob")
        job.stop_reason = why
        job.move("Stopping", "Stopping", why or "Stopping the training job")
        job.stop_requested.set()
        self._publish(job)
        return {}

    def register_image(
        self, image_uri: str, code_dir: Path, environment: dict[str, str] | None = None
    ) -> None:
        """A local build's image: jobs naming it run the code in ``code_dir``, with the image's own
        ``environment`` (its entry point) under the job's."""
        with self._lock:
            self.images[image_uri] = LocalImage(code_dir, dict(environment or {}))
            self.record.save_images(self.images)

    def can_run(self, image_uri: str) -> bool:
        """A local build's image whose code is still on disk."""
        image = self.images.get(image_uri)
        return image is not None and image.code.is_dir()

    def wait(self, timeout: float = 60.0) -> None:
        """Wait for every job started so far to end (tests and the demo)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- running a job ---------------------------------------------------------------------------------------

    def _publish(self, job: LocalJob) -> None:
        self.record.save_job(job)
        if self.emit is None:
            return
        self.emit(
            aws_event(
                self.settings,
                source="aws.sagemaker",
                detail_type="SageMaker Training Job State Change",
                resource=job.arn,
                detail=job.describe(for_event=True),
            )
        )

    def interrupt_training_job(self, TrainingJobName: str) -> dict[str, Any]:
        """Local only: what a spot reclaim does to a running job (its script stopped, its checkpoints saved, the
        job started again on "new" instances from them)."""
        job = self.jobs.get(TrainingJobName)
        if job is None or job.status != "InProgress":
            raise sagemaker_error(
                "ValidationException", f"{TrainingJobName} is not running", "InterruptTrainingJob"
            )
        job.interrupt_requested.set()
        return {}

    def _run(self, job: LocalJob) -> None:
        # SageMaker retries a job that failed for an internal error (its RetryStrategy), from Starting; locally
        # that is a failure of the emulator's own (S3, the work folder). The script's own failure is final. A
        # spot interruption restarts the job from its checkpoints whatever its retries.
        retries = int((job.request.get("RetryStrategy") or {}).get("MaximumRetryAttempts", 0))
        failures = 0
        while True:
            try:
                if self._attempt(job) != "interrupted" or job.stop_requested.is_set():
                    break
                job.move("InProgress", "Starting", "Restarting the training job after a spot interruption")
            except Exception as exc:
                failures += 1
                if failures > retries or job.stop_requested.is_set():
                    job.failure_reason = f"ClientError: {exc}"[:1024]
                    job.move("Failed", "Failed", "Training job failed")
                    break
                message = f"Retrying the training job after an internal error (attempt {failures + 1} of {retries + 1})"
                job.move("InProgress", "Starting", message)
            self._publish(job)
        self._keep_warm_pool(job)
        self._publish(job)

    def _attempt(self, job: LocalJob) -> str:
        """One attempt at the job, from a clean work folder and its saved checkpoints: ``interrupted`` when a spot
        interruption ended it, else ``ended``. An emulator failure raises (it may be retried)."""
        root = self.work_dir / job.name
        shutil.rmtree(root, ignore_errors=True)
        paths = lay_out(job, root)
        job.move("InProgress", "Downloading", "Downloading input data")
        self._publish(job)
        download_channels(self.s3, job.request.get("InputDataConfig", []), paths["input"] / "data")
        restore_checkpoints(self.s3, job, paths["checkpoints"])
        code_dir, program, module_dir = self._code_for(job, root / "code")
        job.move("InProgress", "Training", "Training in progress")
        self._publish(job)
        outcome = self._train(job, paths, code_dir, program, module_dir)
        save_checkpoints(self.s3, job, paths["checkpoints"])
        if outcome == "interrupted":
            job.interrupt_requested.clear()
            job.move(
                "InProgress",
                "Interrupted",
                "The spot instances were interrupted: restarting from checkpoints",
            )
            self._publish(job)
            return outcome
        if outcome == "completed":
            job.move("InProgress", "Uploading", "Uploading generated training model")
            self._publish(job)
            job.artifacts = upload_tar(self.s3, job, paths["model"], "model.tar.gz")
            if any(paths["output_data"].iterdir()):
                upload_tar(self.s3, job, paths["output_data"], "output.tar.gz")
            job.move("Completed", "Completed", "Training job completed")
        elif outcome == "stopped":
            job.move("Stopped", "Stopped", job.stop_reason or "The training job was stopped")
        elif outcome == "timeout":
            job.move("Stopped", "MaxRuntimeExceeded", "The job exceeded its maximum runtime")
        else:
            job.failure_reason = outcome
            job.move("Failed", "Failed", "Training job failed")
        return "ended"

    def _code_for(self, job: LocalJob, code_root: Path) -> tuple[Path, str, str]:
        """The code's folder, its entry point, and SM_MODULE_DIR (the submit directory's URI, as the toolkit
        reports it, or the folder of a local image)."""
        hyper = decode_hyperparameters(job.request.get("HyperParameters", {}))
        image = job.request.get("AlgorithmSpecification", {}).get("TrainingImage", "")
        built = self.images.get(image)
        # As in the container: the image's own ENV, the job's Environment over it; the toolkit takes the
        # sagemaker_program hyperparameter first (script mode), then SAGEMAKER_PROGRAM.
        env = {**(built.environment if built else {}), **job.request.get("Environment", {})}
        program = str(hyper.get("sagemaker_program") or env.get("SAGEMAKER_PROGRAM") or "")
        source = str(hyper.get("sagemaker_submit_directory") or env.get("SAGEMAKER_SUBMIT_DIRECTORY") or "")
        if source.startswith("s3://"):
            bucket, key = split_s3_uri(source)
            archive = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            code_root.mkdir(parents=True, exist_ok=True)
            with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
                tar.extractall(code_root, filter="data")
            code_dir, module_dir = code_root, source
        elif built is not None and self.can_run(image):
            code_dir = built.code
            module_dir = str(code_dir)
        else:
            raise RuntimeError(
                f"local mode cannot run image {image!r}: give the job sagemaker_submit_directory (an s3:// tar.gz "
                "of the training code) and sagemaker_program, or build the image first (POST /builds)"
            )
        if not program:
            raise RuntimeError(
                "no entry point: neither the sagemaker_program hyperparameter nor SAGEMAKER_PROGRAM (the job's "
                "environment, or the image's) names the script to run"
            )
        if not (code_dir / program).is_file() or ".." in Path(program).parts:
            raise RuntimeError(f"entry point {program!r} is not in the training code")
        return code_dir, program, module_dir

    def _train(
        self, job: LocalJob, paths: dict[str, Path], code_dir: Path, program: str, module_dir: str
    ) -> str:
        """Run the entry point on every host; return completed, stopped, timeout, interrupted or the failed
        host's reason (SageMaker ends the job on every host when one fails)."""
        hosts = host_names(job)
        if len(hosts) > MAX_LOCAL_HOSTS:
            return f"ClientError: local mode runs at most {MAX_LOCAL_HOSTS} instances on one machine, not {len(hosts)}"
        port = free_port()
        running: list[Host] = []
        for host in hosts:
            mine = host_paths(paths, host, hosts)
            env, args = host_environment(job, mine, program, module_dir, master_port=port)
            tail: list[str] = []
            process = start(code_dir, program, args, env)
            self.processes.started(process, f"{job.name}/{host}")
            reader = threading.Thread(
                target=stream_output, daemon=True,
                args=(job, process, host, mine["output"] / "training.log", tail, self.settings.region),
                kwargs={"metrics": host == hosts[0]},
            )  # fmt: skip
            reader.start()
            running.append(Host(host, mine, process, tail, reader))
        max_runtime = float(job.request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", 86400))
        deadline, outcome, ended_here = time.monotonic() + max_runtime, "", set()
        while any(h.process.poll() is None for h in running):
            if job.stop_requested.is_set():
                outcome = "stopped"
            elif job.interrupt_requested.is_set():
                outcome = "interrupted"
            elif time.monotonic() > deadline:
                outcome = "timeout"
            elif any(h.process.poll() not in (None, 0) for h in running):
                outcome = "failed"
            if outcome:
                ended_here = {h.name for h in running if h.process.poll() is None}
                for h in running:
                    end_process_group(h.process)
                break
            time.sleep(0.05)
        for h in running:
            h.reader.join(timeout=5)
            self.processes.ended(h.process)
        if outcome and outcome != "failed":
            return outcome
        # The host that failed on its own (not one ended here because of it), a positive exit code first.
        failed = sorted(
            (h for h in running if h.process.returncode),
            key=lambda h: (h.name in ended_here, (h.process.returncode or 0) < 0),
        )
        if failed:
            return self._failure(failed[0], program, len(hosts))
        return "completed"

    @staticmethod
    def _failure(failed: Host, program: str, hosts: int) -> str:
        paths, process, tail, host = failed.paths, failed.process, failed.tail, failed.name
        failure_file = paths["output"] / "failure"
        detail = failure_file.read_text() if failure_file.is_file() else "\n".join(tail[-LOG_TAIL_LINES:])
        where = f" on {host}" if hosts > 1 else ""
        head = (
            f'AlgorithmError: ExecuteUserScriptError: Command "python {program}" exited with code '
            f"{process.returncode}{where}\n"
        )
        # SageMaker's reason is at most 1,024 characters: keep the end, where the exception line is.
        room = MAX_FAILURE_REASON - len(head)
        return head + (detail if len(detail) <= room else "…" + detail[-(room - 1) :])

    # What of a request local mode runs differently from SageMaker, for the job's record.
    unemulated = staticmethod(differences_from_sagemaker)


_instances: dict[str, LocalSageMaker] = {}
_instances_lock = threading.Lock()


def local_sagemaker(settings: Settings) -> LocalSageMaker:
    """One local SageMaker per work directory and process (jobs live in it)."""
    with _instances_lock:
        found = _instances.get(settings.local_work_dir)
        if found is None:
            found = LocalSageMaker(settings, emit=eventbridge_sink(settings))
            _instances[settings.local_work_dir] = found
        return found


def forget_local_sagemaker(settings: Settings) -> None:
    """Local mode stopped: the next start in this process reads the record afresh."""
    with _instances_lock:
        _instances.pop(settings.local_work_dir, None)


class Host(NamedTuple):
    """One of a local job's instances: its name, folders, process, last lines and log reader."""

    name: str
    paths: dict[str, Path]
    process: subprocess.Popen[str]
    tail: list[str]
    reader: threading.Thread
